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
