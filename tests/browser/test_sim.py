"""The chat simulator in a real headless Chromium, against a real `frontdesk demo` process."""

from __future__ import annotations

import pytest


@pytest.fixture
def page(browser):
    return browser.new_page(viewport={"width": 480, "height": 900})


def test_resident_asks_in_the_simulator_and_sees_the_answer(demo, page, tmp_path):
    page.goto(demo + "/sim")
    page.fill("#text", "老年人优待证怎么办")
    page.click("#send")
    answer = page.locator(".row.bot .bubble").last
    answer.wait_for(timeout=10_000)
    text = answer.inner_text()
    assert "老年人优待证" in text and "居民身份证" in text and "照片" in text
    page.fill("#text", "要钱吗")
    page.click("#send")
    page.wait_for_function("document.querySelectorAll('.row.bot .bubble').length >= 2", timeout=10_000)
    assert "不收费" in page.locator(".row.bot .bubble").last.inner_text()
    page.screenshot(path=str(tmp_path / "sim.png"), full_page=True)
    assert (tmp_path / "sim.png").stat().st_size > 10_000


def test_a_resident_leaves_a_booking_step_with_a_request_for_a_person_and_comes_back(demo, page):
    page.goto(demo + "/sim")

    def say(words: str, count: int) -> str:
        page.fill("#text", words)
        page.click("#send")
        page.wait_for_function(f"document.querySelectorAll('.row.bot .bubble').length >= {count}", timeout=10_000)
        return page.locator(".row.bot .bubble").last.inner_text()

    assert "清河镇便民服务中心" in say("我想预约办社保卡", 1)
    assert "选择日期" in say("1", 2)
    left = say("转人工", 3)
    assert "工作人员" in left and "继续预约" in left and "选择日期" not in left
    assert "对话已结束" in say("结束", 4)   # the conversation with a person first
    assert "选择日期" in say("继续预约", 5)
