"""The county's editor keeps a guide in a real headless Chromium against a real `frontdesk demo`:
a material and the fee edited in the form, the draft checked against what residents read,
published — and a resident asking through the signed, encrypted callback is told the new fee
and the new material at once."""

from __future__ import annotations

import re
from urllib.parse import quote

from bot.demo import DEMO_PASSWORD
from tests.browser.conftest import pushed_to, resident_says

GUIDE = "丧葬补助金和抚恤金申领"
QUESTION = "丧葬补助金怎么申领"


def _told(demo: str, openid: str) -> str:
    """The whole answer to QUESTION: the reply, and its rest sent as a message when it is longer
    than one."""
    reply = resident_says(demo, openid, QUESTION) or ""
    return reply if "■ 费用" in reply else "\n".join([reply, *pushed_to(demo, openid, 1)])


def _editor(browser, demo: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(demo + "/console")
    page.fill("input[name=name]", "bianji")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#login")
    page.wait_for_url(re.compile(r".*/console/dashboard$"))
    return page


def test_an_editor_changes_a_material_and_the_fee_publishes_and_the_chat_tells_residents(demo, browser, tmp_path):
    before = _told(demo, "o-mourner-1")
    assert "费用：不收费" in before and "1. 死亡证明（原件和复印件）" in before

    page = _editor(browser, demo)
    page.goto(f"{demo}/console/guides/{quote(GUIDE)}")
    page.click("#edit")
    page.fill("[name=fee]", "工本费 10 元")
    page.fill("[name='materials.0.name']", "居民死亡医学证明书")
    page.select_option("[name='materials.0.form']", "原件")
    page.click("#save")
    page.wait_for_url(re.compile(r".*/diff\?done=draft_saved$"))
    changes = page.locator("#changes").inner_text()
    assert "工本费 10 元" in changes and "居民死亡医学证明书" in changes
    page.screenshot(path=str(tmp_path / "diff.png"), full_page=True)
    assert "费用：不收费" in _told(demo, "o-mourner-2")   # a draft is not what residents read

    page.click("#publish")
    assert "已发布" in page.locator("#flash").inner_text()
    after = _told(demo, "o-mourner-3")
    assert "费用：工本费 10 元" in after and "1. 居民死亡医学证明书（原件）" in after
    assert "已发布 v2" in page.locator("#upkeep").inner_text()
