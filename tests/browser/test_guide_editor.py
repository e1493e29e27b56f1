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


NEW = "农村危房改造申请"


def test_an_editor_writes_a_new_guide_in_the_empty_form_and_residents_are_answered_once_it_is_learned(
        demo, browser, tmp_path):
    assert "危房改造申请书" not in (resident_says(demo, "o-house-1", "农村危房改造怎么申请") or "")
    page = _editor(browser, demo)
    page.goto(f"{demo}/console/upkeep")
    page.click("text=新建办事指南")
    page.fill("[name=name]", NEW)
    page.click("button[name=add][value=materials]")          # a row to write the first material in
    page.fill("[name='materials.0.name']", "危房改造申请书")
    page.select_option("[name='materials.0.form']", "原件")
    page.fill("[name='materials.0.copies']", "1")
    page.select_option("[name='materials.0.required']", "true")
    page.click("button[name=add][value=faq]")
    assert page.input_value("[name=name]") == NEW and page.input_value("[name='materials.0.name']") == "危房改造申请书"
    page.fill("[name='faq.0.q']", "先把房子修了还能补吗？")
    page.fill("[name='faq.0.a']", "要先申请、鉴定，批了再动工。")
    for name, value in (("department", "住建"), ("summary", "住在危房里的农村困难家庭，可以申请危房改造补助。"),
                        ("aliases", "农村危房改造\n危房改造补助"), ("accepting_unit", "户籍所在村委会"),
                        ("deciding_unit", "县住房和城乡建设局"), ("conditions", "农村低保户、特困人员等困难家庭"),
                        ("process", "向村委会申请\n镇里核实，县住建局审批"), ("legal_days", "0"),
                        ("promised_days", "30"), ("fee", "不收费"), ("fee_basis", "补助事项不收费"), ("visits", "1"),
                        ("basis", "农村危房改造相关规定"), ("examples", "家里房子裂缝了能申请危房改造吗")):
        page.fill(f"[name={name}]", value)
    for name, value in (("item_type", "行政给付"), ("case_type", "承诺件"), ("decide_level", "县（区）"),
                        ("online", "false"), ("bookable", "true"), ("proxy", "true"), ("home_visit", "false"),
                        ("delivery", "false")):
        page.select_option(f"[name={name}]", value)
    page.check("[name=accept_levels][value='村（社区）']")
    page.click("#save")
    page.wait_for_url(re.compile(r".*/diff\?done=guide_created$"))
    assert "危房改造申请书" in page.locator("#changes").inner_text()
    page.screenshot(path=str(tmp_path / "new.png"), full_page=True)

    page.click("#publish")
    assert "机器人正在学这个新事项的问法" in page.locator("#flash").inner_text()
    told = ""
    for attempt in range(60):        # learned in the background, within seconds
        told = resident_says(demo, f"o-house-{attempt + 2}", "农村危房改造怎么申请") or ""
        if "危房改造申请书" in told or "户籍所在村委会" in told:
            break
        page.wait_for_timeout(1000)
    assert "农村危房改造申请" in told and ("危房改造申请书" in told or "户籍所在村委会" in told), told
