"""Editors keep the guides in the console: the edit form posts back what it shows (a browser's
post, read from the page), a draft stays apart from what residents read, the differences are
shown per field and per material, publish / history / roll back, a bad field is named beside
it, a form opened before another editor published is refused with the edits kept, clerks get
403 and supervisors only read, and local_check points are confirmed for the county."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from multidict import MultiDict

from bot.config import PROJECT_ROOT
from bot.knowledge.itemlist import read_item_list
from tests.console.support import csrf_of, staff_client
from tests.knowledge.test_guides_api import GUIDE, headers, seeded_bot

EDIT = f"/console/guides/{quote(GUIDE)}/edit"


@pytest.fixture
async def kb_bot(start_bot, tmp_path):
    return await seeded_bot(start_bot, tmp_path)


class _Form(HTMLParser):
    """What a browser posts for the editor's form: its inputs, ticked boxes, chosen options and
    text areas, in page order (no button)."""

    def __init__(self):
        super().__init__()
        self.inside, self.values = False, MultiDict()
        self._select: str | None = None
        self._first: str | None = None
        self._chosen = False
        self._area: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "edit" in (a.get("class") or ""):
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values.add(a["name"], a.get("value") or "")
        elif tag == "select":
            self._select, self._first, self._chosen = a["name"], None, False
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a and not self._chosen:
                self.values.add(self._select, a.get("value", ""))
                self._chosen = True
        elif tag == "textarea":
            self._area, self._text = a["name"], ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._chosen:
                self.values.add(self._select, self._first or "")
            self._select = None
        elif tag == "textarea" and self._area:
            self.values.add(self._area, unescape(self._text).removeprefix("\n"))
            self._area = None

    def handle_data(self, data):
        if self._area:
            self._text += data


def form_of(html: str) -> MultiDict:
    parser = _Form()
    parser.feed(html)
    return parser.values


async def _open(client, path: str = EDIT) -> tuple[str, MultiDict]:
    page = await client.get(path)
    assert page.status == 200, await page.text()
    html = await page.text()
    return csrf_of(html), form_of(html)


def _with(values: MultiDict, **changes: str) -> MultiDict:
    out = MultiDict((k, v) for k, v in values.items() if k not in changes)
    for k, v in changes.items():
        out.add(k, v)
    return out


async def test_an_edited_fee_and_material_are_a_draft_shown_against_what_is_published_then_published(kb_bot, aiohttp_client):
    bot = kb_bot
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    token, values = await _open(editor)
    assert values["fee"] == "不收费" and values["base"] == "1"
    unchanged = await editor.post(EDIT, data=_with(values, _csrf=token), allow_redirects=False)
    assert unchanged.status == 303, await unchanged.text()
    assert (await bot.store.guides.get(GUIDE)).draft == (await bot.store.guides.get(GUIDE)).content  # nothing lost

    posted = _with(values, _csrf=token, fee="工本费 10 元", **{"materials.2.note": "带上身份证原件即可"})
    resp = await editor.post(EDIT, data=posted)
    assert resp.status == 200 and str(resp.url).endswith("/diff?done=draft_saved")
    page = await resp.text()
    changes = re.findall(r'<tr class="change">(.*?)</tr>', page, re.S)
    assert len(changes) == 2, changes
    assert "收费标准" in changes[0] and "不收费" in changes[0] and "工本费 10 元" in changes[0]
    assert "申请材料：申领人（遗属）的居民身份证" in changes[1] and "带上身份证原件即可" in changes[1]
    record = await bot.store.guides.get(GUIDE)
    assert record.version == 1 and record.content["fee"] == "不收费" and record.draft["fee"] == "工本费 10 元"

    resp = await editor.post(f"/console/guides/{quote(GUIDE)}/publish", data={"_csrf": token})
    assert resp.status == 200 and "已发布" in await resp.text()
    record = await bot.store.guides.get(GUIDE)
    assert record.version == 2 and record.draft is None and record.content["fee"] == "工本费 10 元"
    assert record.content["materials"][2]["note"] == "带上身份证原件即可"
    actions = [line.action for line in await bot.store.audit.lines(centers=None, actor="bianji")]
    assert actions[:2] == ["guide_publish", "guide_draft"]


async def test_history_shows_who_and_what_changed_and_rolls_back(kb_bot, aiohttp_client):
    bot = kb_bot
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    token, values = await _open(editor)
    await editor.post(EDIT, data=_with(values, _csrf=token, fee="工本费 10 元"))
    await editor.post(f"/console/guides/{quote(GUIDE)}/publish", data={"_csrf": token})

    history = await (await editor.get(f"/console/guides/{quote(GUIDE)}/history")).text()
    row = re.search(r'<tr id="version-2">(.*?)</tr>', history, re.S).group(1)
    assert "bianji" in row and "发布" in row and "收费标准" in row
    resp = await editor.post(f"/console/guides/{quote(GUIDE)}/rollback", data={"_csrf": token, "version": "1"})
    assert resp.status == 200 and "已回滚" in await resp.text()
    record = await bot.store.guides.get(GUIDE)
    assert record.version == 3 and record.content["fee"] == "不收费"
    assert "恢复第 1 版的内容" in re.search(r'<tr id="version-3">(.*?)</tr>', await resp.text(), re.S).group(1)

    admin = await staff_client(bot, aiohttp_client, "guanli", None, "admin")
    audit = await (await admin.get("/console/audit?action=guide_rollback")).text()
    assert "回滚指南" in audit and GUIDE in audit and "v1 → v3" in audit


async def test_a_bad_field_is_named_beside_it_and_nothing_is_saved(kb_bot, aiohttp_client):
    bot = kb_bot
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    token, values = await _open(editor)
    resp = await editor.post(EDIT, data=_with(values, _csrf=token, fee="工本费 3 元", **{"materials.1.copies": "两份"}))
    assert resp.status == 400
    page = await resp.text()
    beside = re.search(r'<div class="fieldline bad" id="f-materials\[1\]\.copies">(.*?)</div>\s*</div>', page, re.S)
    assert beside and "申请材料第 2 项的份数" in beside.group(1) and 'value="两份"' in beside.group(1)
    assert form_of(page)["fee"] == "工本费 3 元"       # what was typed is still there to correct
    assert (await bot.store.guides.get(GUIDE)).draft is None


async def _another_editors_draft(bot, **changes: str) -> dict[str, str]:
    """Another editor (an admin, through the API) saves a draft with `changes`; their headers."""
    other = await headers(bot, "admin")
    shown = await (await bot.client.get(f"/api/guides/{GUIDE}", headers=other)).json()
    resp = await bot.client.put(f"/api/guides/{GUIDE}/draft", json={**shown, **changes}, headers=other)
    assert resp.status == 200, await resp.text()
    return other


async def test_a_form_opened_before_another_editor_published_is_refused_with_the_edits_kept(kb_bot, aiohttp_client):
    bot = kb_bot
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    token, values = await _open(editor)
    other = await _another_editors_draft(bot, fee="工本费 5 元")
    assert (await bot.client.post(f"/api/guides/{GUIDE}/publish", headers=other)).status == 200

    resp = await editor.post(EDIT, data=_with(values, _csrf=token, fee="工本费 8 元"))
    assert resp.status == 409
    page = await resp.text()
    assert "其他编辑已经发布了第 2 版" in page and form_of(page)["fee"] == "工本费 8 元"
    record = await bot.store.guides.get(GUIDE)
    assert record.content["fee"] == "工本费 5 元" and record.draft is None


async def test_a_form_opened_before_another_editor_saved_a_draft_does_not_overwrite_it(kb_bot, aiohttp_client):
    bot = kb_bot
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    token, values = await _open(editor)
    await _another_editors_draft(bot, fee="工本费 5 元")

    resp = await editor.post(EDIT, data=_with(values, _csrf=token, fee="工本费 8 元"))
    assert resp.status == 409
    page = await resp.text()
    assert "保存了新的草稿，保存会把它覆盖掉" in page and form_of(page)["fee"] == "工本费 8 元"
    assert (await bot.store.guides.get(GUIDE)).draft["fee"] == "工本费 5 元"
    token, values = await _open(editor)   # opened again: on their draft
    assert values["fee"] == "工本费 5 元"
    resp = await editor.post(EDIT, data=_with(values, _csrf=token, fee="工本费 8 元"))
    assert resp.status == 200 and (await bot.store.guides.get(GUIDE)).draft["fee"] == "工本费 8 元"


async def test_a_row_is_added_without_saving_and_a_ticked_row_is_removed(kb_bot, aiohttp_client):
    bot = kb_bot
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    token, values = await _open(editor)
    count = len((await bot.store.guides.get(GUIDE)).content["materials"])
    resp = await editor.post(EDIT, data=_with(values, _csrf=token, add="materials"))
    assert resp.status == 200 and (await bot.store.guides.get(GUIDE)).draft is None
    grown = form_of(await resp.text())
    assert f"materials.{count}.name" in grown and grown[f"materials.{count}.name"] == ""
    posted = _with(grown, _csrf=token, **{f"materials.{count}.name": "户口簿", f"materials.{count}.form": "原件",
                                          f"materials.{count}.copies": "1", f"materials.{count}.required": "false",
                                          "materials.7.remove": "1"})
    resp = await editor.post(EDIT, data=posted)
    assert resp.status == 200, await resp.text()
    draft = (await bot.store.guides.get(GUIDE)).draft
    names = [m["name"] for m in draft["materials"]]
    assert names[-1] == "户口簿" and "委托书和代办人身份证" not in names and len(names) == count


async def test_clerks_get_403_and_supervisors_read_without_editing(kb_bot, aiohttp_client):
    bot = kb_bot
    clerk = await staff_client(bot, aiohttp_client, "chuangkou", "qinghe-dongcun", "clerk")
    for path in (EDIT, f"/console/guides/{quote(GUIDE)}/diff", f"/console/guides/{quote(GUIDE)}/history",
                 "/console/upkeep"):
        resp = await clerk.get(path)
        assert resp.status == 403, path
        assert "只有知识库编辑和管理员可以修改办事指南" in await resp.text()
    token = csrf_of(await (await clerk.get("/console/guides")).text())
    resp = await clerk.post(f"/console/guides/{quote(GUIDE)}/publish", data={"_csrf": token})
    assert resp.status == 403

    supervisor = await staff_client(bot, aiohttp_client, "ducha", "qinghe", "supervisor")
    assert (await supervisor.get(f"/console/guides/{quote(GUIDE)}/history")).status == 200
    page = await (await supervisor.get(f"/console/guides/{quote(GUIDE)}")).text()
    assert 'id="upkeep"' in page and 'id="edit"' not in page
    resp = await supervisor.get(EDIT)
    assert resp.status == 403
    token = csrf_of(page)
    resp = await supervisor.post(f"/console/guides/{quote(GUIDE)}/rollback", data={"_csrf": token, "version": "1"})
    assert resp.status == 403 and (await bot.store.guides.get(GUIDE)).version == 1


async def test_local_check_points_are_confirmed_and_the_upkeep_list_counts_what_is_left(kb_bot, aiohttp_client):
    bot = kb_bot
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    upkeep = await (await editor.get("/console/upkeep")).text()
    open_before = int(re.search(r'id="open-points">(\d+)<', upkeep).group(1))
    seeded = len(await bot.store.guides.list())
    assert open_before > 0 and int(re.search(r'id="due">(\d+)<', upkeep).group(1)) == seeded   # none reviewed yet
    points = (await bot.store.guides.get(GUIDE)).content["local_check"]
    token = csrf_of(upkeep)
    for i, point in enumerate(points):
        resp = await editor.post(f"/console/guides/{quote(GUIDE)}/confirm",
                                 data={"_csrf": token, "point": point, "note": "本县按省标准执行" if i == 0 else ""})
        assert resp.status == 200
    page = await resp.text()
    assert page.count("已确认</span>") == len(points) and "本县按省标准执行" in page
    upkeep = await (await editor.get("/console/upkeep")).text()
    assert int(re.search(r'id="open-points">(\d+)<', upkeep).group(1)) == open_before - 1
    row = re.search(rf'<tr id="guide-{GUIDE}">(.*?)</tr>', upkeep, re.S).group(1)
    assert "已全部确认" in row and "超过 12 个月" not in row and "从未审核" not in row

    resp = await editor.post(f"/console/guides/{quote(GUIDE)}/confirm", data={"_csrf": token, "point": "不存在的要点"})
    assert resp.status == 400


async def test_a_life_event_and_a_guide_with_situations_saved_unchanged_from_their_forms_are_unchanged(
        kb_bot, aiohttp_client):
    bot = kb_bot
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    for name in ("新生儿出生一件事", "婚姻登记"):
        path = f"/console/guides/{quote(name)}/edit"
        token, values = await _open(editor, path)
        resp = await editor.post(path, data=_with(values, _csrf=token))
        assert resp.status == 200 and "草稿和已发布的内容一样" in await resp.text(), name
        record = await bot.store.guides.get(name)
        assert record.draft == record.content, name


async def test_a_life_events_points_are_confirmed_on_its_checks_page_and_it_is_marked_reviewed(kb_bot, aiohttp_client):
    bot = kb_bot
    name = "开办小餐饮店一件事"
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    checks = f"/console/guides/{quote(name)}/checks"
    page = await (await editor.get(checks)).text()
    points = (await bot.store.guides.get(name)).content["local_check"]
    assert page.count("待确认</span>") == len(points) > 0 and "还没有审核过" in page
    resp = await editor.post(f"/console/guides/{quote(name)}/confirm",
                             data={"_csrf": csrf_of(page), "point": points[0], "note": "本县已开通联办", "back": "checks"})
    assert resp.status == 200 and str(resp.url).endswith("/checks?done=guide_confirm")
    page = await resp.text()
    assert page.count("待确认</span>") == len(points) - 1 and "本县已开通联办" in page
    resp = await editor.post(f"/console/guides/{quote(name)}/reviewed", data={"_csrf": csrf_of(page), "back": "checks"})
    assert resp.status == 200 and "需要审核" not in await resp.text()
    record = await bot.store.guides.get(name)
    assert record.reviewed_by == "bianji" and record.reviewed_at.startswith(bot.clock.now().date().isoformat())


async def test_an_item_imported_from_the_provincial_list_is_a_draft_to_check_and_publish(kb_bot, aiohttp_client):
    bot = kb_bot
    items = read_item_list(next((PROJECT_ROOT / "knowledge" / "imports").glob("*.xlsx")))
    imported = items.documents[0]
    await bot.store.guides.put([("guide", imported)], by="import", now=bot.clock.now(), publish=False)
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    upkeep = await (await editor.get("/console/upkeep")).text()
    row = re.search(rf'<tr id="guide-{imported["name"]}">(.*?)</tr>', upkeep, re.S).group(1)
    assert "已发布 v1" in row and "有草稿" in row
    differences = await (await editor.get(f"/console/guides/{quote(imported['name'])}/diff")).text()
    assert 'class="change"' in differences and 'id="publish"' in differences

    path = f"/console/guides/{quote(imported['name'])}/edit"
    token, values = await _open(editor, path)       # the form shows the imported draft …
    resp = await editor.post(path, data=_with(values, _csrf=token))
    assert resp.status == 200, await resp.text()
    assert (await bot.store.guides.get(imported["name"])).draft == imported   # … and saves it unchanged
    resp = await editor.post(f"/console/guides/{quote(imported['name'])}/publish", data={"_csrf": token})
    assert resp.status == 200
    record = await bot.store.guides.get(imported["name"])
    assert record.version == 2 and record.draft is None and record.content == imported


async def test_a_life_event_edited_and_published_leads_to_its_history_and_residents_are_told_its_new_summary(
        kb_bot, aiohttp_client):
    bot = kb_bot
    name = "开办小餐饮店一件事"
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    path = f"/console/guides/{quote(name)}/edit"
    token, values = await _open(editor, path)
    summary = "开小吃店、早餐店要办的几件事一次讲清：健康证、营业执照、小餐饮登记，本县一个窗口受理。"
    resp = await editor.post(path, data=_with(values, _csrf=token, summary=summary))
    assert resp.status == 200 and "简介" in await resp.text()
    resp = await editor.post(f"/console/guides/{quote(name)}/publish", data={"_csrf": token})
    assert resp.status == 200 and str(resp.url).endswith("/history?done=guide_publish")
    assert "居民现在看到的" in re.search(r'<tr id="version-2">(.*?)</tr>', await resp.text(), re.S).group(1)
    assert "本县一个窗口受理" in await bot.say("r-shop", "开小餐饮店要办哪些手续")


NEW = "农村危房改造申请"


async def test_an_editor_writes_a_new_guide_from_an_empty_form_and_publishes_it(kb_bot, aiohttp_client):
    bot = kb_bot
    editor = await staff_client(bot, aiohttp_client, "bianji", None, "editor")
    upkeep = await (await editor.get("/console/upkeep")).text()
    assert 'href="/console/upkeep/new?kind=guide"' in upkeep and "新建办事指南" in upkeep
    token, empty = await _open(editor, "/console/upkeep/new?kind=guide")
    assert empty["name"] == "" and empty["kind"] == "guide" and empty["fee"] == ""
    life_event = await editor.get("/console/upkeep/new?kind=bundle")
    assert life_event.status == 200 and "新建一件事" in await life_event.text()
    assert (await editor.get("/console/upkeep/new?kind=notice")).status == 400

    # written as another guide is (its form as the browser shows it), under a name of its own
    _, like = await _open(editor, f"/console/guides/{quote('临时救助申请')}/edit")
    typed = _with(like, _csrf=token, kind="guide", name=f" {NEW} ", department="住建",
                  summary="住在危房里的农村低保户、特困人员等困难家庭，可以申请危房改造补助。")
    resp = await editor.post("/console/upkeep/new", data=typed)
    assert resp.status == 400                    # the other guide's aliases are its own
    page = await resp.text()
    assert 'class="fieldline bad" id="f-aliases"' in page and "新建办事指南" in page
    assert form_of(page)["name"] == NEW and form_of(page)["department"] == "住建"
    assert await bot.store.guides.get(NEW) is None

    typed = _with(typed, name=NEW, aliases="农村危房改造\n危房改造补助", keywords="危房\n房子要塌\n修房子补贴",
                  examples="家里房子裂了好几道缝，能申请危房改造吗")
    resp = await editor.post("/console/upkeep/new", data=typed)
    assert resp.status == 200 and str(resp.url).endswith(f"/console/guides/{quote(NEW)}/diff?done=guide_created")
    assert "新事项已保存为草稿" in await resp.text()
    record = await bot.store.guides.get(NEW)
    assert record.version is None and record.draft["department"] == "住建" and record.draft_by == "bianji"
    assert record.draft["examples"] == ["家里房子裂了好几道缝，能申请危房改造吗"]

    other = await staff_client(bot, aiohttp_client, "guanli", None, "admin")
    token2, _ = await _open(other, "/console/upkeep/new?kind=guide")
    resp = await other.post("/console/upkeep/new", data=_with(typed, _csrf=token2, summary="另一位写的"))
    assert resp.status == 409
    page = await resp.text()
    assert f"已经有叫“{NEW}”的事项了" in page and form_of(page)["summary"] == "另一位写的"
    assert (await bot.store.guides.get(NEW)).draft["summary"].startswith("住在危房里")

    resp = await editor.post(f"/console/guides/{quote(NEW)}/publish", data={"_csrf": token})
    assert resp.status == 200 and "机器人正在学这个新事项的问法" in await resp.text()
    assert (await bot.store.guides.get(NEW)).version == 1
    audit = await (await other.get("/console/audit?action=guide_create")).text()
    assert "新建指南" in audit and NEW in audit and "bianji" in audit


async def test_clerks_and_supervisors_may_not_make_a_new_guide(kb_bot, aiohttp_client):
    bot = kb_bot
    supervisor = await staff_client(bot, aiohttp_client, "ducha", "qinghe", "supervisor")
    assert "新建办事指南" not in await (await supervisor.get("/console/upkeep")).text()
    assert (await supervisor.get("/console/upkeep/new?kind=guide")).status == 403
    token = csrf_of(await (await supervisor.get("/console/upkeep")).text())
    resp = await supervisor.post("/console/upkeep/new", data={"_csrf": token, "kind": "guide", "name": NEW})
    assert resp.status == 403 and await bot.store.guides.get(NEW) is None
