"""The county's editors keep the guides through the JSON API (`/api/guides…`): the object GET
answers is what PUT takes back; a draft stays apart from what residents read until it is
published; a bad field is named; a draft made from an older version is refused; roll back
publishes an old version again; clerks may not; every action is in the audit log."""

from __future__ import annotations

import copy
import secrets
import shutil

import pytest

from bot.app import LIBRARY
from bot.config import PROJECT_ROOT
from tests.support import notices_to

GUIDE = "丧葬补助金和抚恤金申领"


async def seeded_bot(start_bot, tmp_path, store_url: str | None = None):
    """A bot on a copy of the knowledge base of its own: its new store is seeded from that folder,
    and what is published here stays here."""
    kb = tmp_path / "kb"
    shutil.copytree(PROJECT_ROOT / "knowledge", kb)
    return await start_bot(knowledge={"dir": str(kb)}, **({"store": {"url": store_url}} if store_url else {}))


@pytest.fixture
async def kb_bot(start_bot, tmp_path):
    return await seeded_bot(start_bot, tmp_path)


@pytest.fixture
async def either_bot(store_url, start_bot, tmp_path):
    """The same on SQLite and on PostgreSQL. `store_url` first: fixtures end in the reverse order,
    so the bot and its pool of connections are closed before the schema is dropped (a connection
    of a bot still running could hold a lock the DROP waits for, while the bot, its loop stopped
    for the teardown, never lets it go)."""
    return await seeded_bot(start_bot, tmp_path, store_url)


async def headers(bot, role: str, center: str | None = None) -> dict[str, str]:
    token = secrets.token_urlsafe(16)
    await bot.store.staff.add(name=f"{role}-{secrets.token_hex(3)}", center=center, role=role, token=token,
                              now=bot.clock.now())
    return {"Authorization": f"Bearer {token}"}


async def _get(bot, path: str, who: dict[str, str]):
    resp = await bot.client.get(path, headers=who)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_an_edited_draft_stays_apart_until_published_and_then_is_the_next_version(either_bot):
    bot = either_bot
    editor = await headers(bot, "editor")
    listed = await _get(bot, "/api/guides", editor)
    row = next(g for g in listed["guides"] if g["name"] == GUIDE)
    assert row["kind"] == "guide" and row["version"] == 1 and row["updated"]
    shown = await _get(bot, f"/api/guides/{GUIDE}", editor)
    assert shown["version"] == 1 and shown["draft"] is None and shown["fee"] == "不收费"

    edited = copy.deepcopy(shown)     # the very object GET gave, `version` and `draft` included
    edited["fee"] = "工本费 10 元"
    edited["materials"][2]["note"] = "带上身份证原件即可"
    resp = await bot.client.put(f"/api/guides/{GUIDE}/draft", json={**edited, "base": 1}, headers=editor)
    assert resp.status == 200, await resp.text()
    after = await _get(bot, f"/api/guides/{GUIDE}", editor)
    assert after["fee"] == "不收费" and after["version"] == 1          # residents still read version 1
    assert after["draft"]["fee"] == "工本费 10 元" and "version" not in after["draft"]

    resp = await bot.client.post(f"/api/guides/{GUIDE}/publish", headers=editor)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["version"] == 2
    published = await _get(bot, f"/api/guides/{GUIDE}", editor)
    assert published["version"] == 2 and published["draft"] is None
    assert published["fee"] == "工本费 10 元" and published["materials"][2]["note"] == "带上身份证原件即可"

    again = await bot.client.post(f"/api/guides/{GUIDE}/publish", headers=editor)
    assert again.status == 409 and (await again.json())["error"] == "no_draft"
    actions = [line.action for line in await bot.store.audit.lines(centers=None)]
    assert "guide_draft" in actions and "guide_publish" in actions


async def test_a_bad_field_is_named_in_chinese_and_nothing_is_saved(kb_bot):
    bot = kb_bot
    editor = await headers(bot, "editor")
    shown = await _get(bot, f"/api/guides/{GUIDE}", editor)
    shown["materials"][1]["form"] = "传真件"
    resp = await bot.client.put(f"/api/guides/{GUIDE}/draft", json=shown, headers=editor)
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "guide_invalid" and body["field"] == "materials[1].form"
    assert "申请材料第 2 项的形式" in body["message"]
    assert (await _get(bot, f"/api/guides/{GUIDE}", editor))["draft"] is None

    shown["materials"][1]["form"] = "原件"
    shown["name"] = "别的名字"
    resp = await bot.client.put(f"/api/guides/{GUIDE}/draft", json=shown, headers=editor)
    assert resp.status == 400 and (await resp.json())["field"] == "name"
    resp = await bot.client.put(f"/api/guides/{GUIDE}/draft", json={**shown, "name": GUIDE, "base": "一"},
                                headers=editor)
    assert resp.status == 400 and (await resp.json())["field"] == "base"
    assert (await _get(bot, f"/api/guides/{GUIDE}", editor))["draft"] is None


async def test_a_draft_made_from_a_version_another_editor_replaced_gets_409(either_bot):
    bot = either_bot
    first, second = await headers(bot, "editor"), await headers(bot, "admin")
    mine = await _get(bot, f"/api/guides/{GUIDE}", first)
    theirs = await _get(bot, f"/api/guides/{GUIDE}", second)
    theirs["fee"] = "工本费 5 元"
    assert (await bot.client.put(f"/api/guides/{GUIDE}/draft", json={**theirs, "base": 1}, headers=second)).status == 200
    assert (await bot.client.post(f"/api/guides/{GUIDE}/publish", headers=second)).status == 200

    mine["fee"] = "工本费 8 元"
    resp = await bot.client.put(f"/api/guides/{GUIDE}/draft", json={**mine, "base": mine["version"]}, headers=first)
    assert resp.status == 409
    body = await resp.json()
    assert body["error"] == "guide_conflict" and body["latest"] == 2 and "第 2 版" in body["message"]
    now = await _get(bot, f"/api/guides/{GUIDE}", first)
    assert now["fee"] == "工本费 5 元" and now["draft"] is None


async def test_a_draft_another_editor_saved_meanwhile_is_not_overwritten(either_bot):
    bot = either_bot
    first, second = await headers(bot, "editor"), await headers(bot, "admin")
    mine = await _get(bot, f"/api/guides/{GUIDE}", first)
    assert mine["draft"] is None and mine["draft_at"] is None
    theirs = await _get(bot, f"/api/guides/{GUIDE}", second)
    theirs["fee"] = "工本费 5 元"
    assert (await bot.client.put(f"/api/guides/{GUIDE}/draft", json=theirs, headers=second)).status == 200
    theirs["fee"] = "工本费 6 元"   # their own draft, saved again from the same object
    assert (await bot.client.put(f"/api/guides/{GUIDE}/draft", json=theirs, headers=second)).status == 200

    mine["fee"] = "工本费 8 元"
    resp = await bot.client.put(f"/api/guides/{GUIDE}/draft", json=mine, headers=first)
    assert resp.status == 409
    body = await resp.json()
    assert body["error"] == "draft_conflict" and body["draft_by"].startswith("admin-") and body["draft_at"]
    assert "保存了新的草稿" in body["message"]
    now = await _get(bot, f"/api/guides/{GUIDE}", first)
    assert now["draft"]["fee"] == "工本费 6 元" and now["draft_at"] == body["draft_at"]
    now["draft"]["materials"][0]["note"] = "原件"   # made on their draft: saved
    resp = await bot.client.put(f"/api/guides/{GUIDE}/draft", json={**now["draft"], "draft_at": now["draft_at"]},
                                headers=first)
    assert resp.status == 200, await resp.text()
    kept = (await _get(bot, f"/api/guides/{GUIDE}", first))["draft"]
    assert kept["fee"] == "工本费 6 元" and kept["materials"][0]["note"] == "原件"


async def test_roll_back_publishes_an_old_version_again_and_history_says_who_and_what(kb_bot):
    bot = kb_bot
    editor = await headers(bot, "editor")
    shown = await _get(bot, f"/api/guides/{GUIDE}", editor)
    shown["fee"] = "工本费 10 元"
    await bot.client.put(f"/api/guides/{GUIDE}/draft", json=shown, headers=editor)
    await bot.client.post(f"/api/guides/{GUIDE}/publish", headers=editor)

    resp = await bot.client.post(f"/api/guides/{GUIDE}/rollback", json={"version": 1}, headers=editor)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["version"] == 3
    assert (await _get(bot, f"/api/guides/{GUIDE}", editor))["fee"] == "不收费"
    versions = (await _get(bot, f"/api/guides/{GUIDE}/versions", editor))["versions"]
    assert [(v["version"], v["action"]) for v in versions] == [(3, "rollback"), (2, "publish"), (1, "seed")]
    assert versions[0]["from_version"] == 1 and versions[0]["by"].startswith("editor-") and versions[0]["at"]

    missing = await bot.client.post(f"/api/guides/{GUIDE}/rollback", json={"version": 9}, headers=editor)
    assert missing.status == 404
    bad = await bot.client.post(f"/api/guides/{GUIDE}/rollback", json={"version": "1"}, headers=editor)
    assert bad.status == 400 and (await bad.json())["field"] == "version"


async def test_clerks_get_403_and_supervisors_only_read(kb_bot):
    bot = kb_bot
    clerk = await headers(bot, "clerk", "qinghe-dongcun")
    supervisor = await headers(bot, "supervisor", "qinghe")
    for method, path in (("GET", "/api/guides"), ("GET", f"/api/guides/{GUIDE}"), ("PUT", f"/api/guides/{GUIDE}/draft"),
                         ("POST", f"/api/guides/{GUIDE}/publish"), ("GET", f"/api/guides/{GUIDE}/versions")):
        resp = await bot.client.request(method, path, json={}, headers=clerk)
        assert resp.status == 403, (method, path)
        assert (await resp.json())["error"] == "editors_only"
    shown = await _get(bot, f"/api/guides/{GUIDE}", supervisor)
    shown["fee"] = "工本费 10 元"
    resp = await bot.client.put(f"/api/guides/{GUIDE}/draft", json=shown, headers=supervisor)
    assert resp.status == 403
    assert (await _get(bot, f"/api/guides/{GUIDE}", supervisor))["draft"] is None


async def _told(bot, openid: str, question: str) -> str:
    """The whole answer: the reply, and its rest sent as a message when it is longer than one."""
    reply = await bot.say(openid, question)
    return reply if "■ 费用" in reply else "\n".join([reply, *await notices_to(bot, openid, 1)])


async def test_residents_are_told_what_was_published_at_once_and_the_old_again_after_a_roll_back(kb_bot):
    bot = kb_bot
    editor = await headers(bot, "editor")
    assert "费用：不收费" in await _told(bot, "r-before", "丧葬补助金怎么申领")
    shown = await _get(bot, f"/api/guides/{GUIDE}", editor)
    shown["fee"] = "工本费 10 元"
    shown["materials"][0]["name"] = "居民死亡医学证明书"
    assert (await bot.client.put(f"/api/guides/{GUIDE}/draft", json=shown, headers=editor)).status == 200
    assert "费用：不收费" in await _told(bot, "r-draft", "丧葬补助金怎么申领")      # a draft is not read by residents

    assert (await bot.client.post(f"/api/guides/{GUIDE}/publish", headers=editor)).status == 200
    told = await _told(bot, "r-after", "丧葬补助金怎么申领")
    assert "费用：工本费 10 元" in told and "1. 居民死亡医学证明书" in told

    assert (await bot.client.post(f"/api/guides/{GUIDE}/rollback", json={"version": 1}, headers=editor)).status == 200
    told = await _told(bot, "r-later", "丧葬补助金怎么申领")
    assert "费用：不收费" in told and "1. 死亡证明" in told


NEW = "农村危房改造申请"


async def _new_guide(bot, editor: dict[str, str]) -> dict:
    """A service the county begins to offer, written in the knowledge format from another guide's
    shape: its own name, words, materials and examples."""
    document = await _get(bot, "/api/guides/临时救助申请", editor)
    for key in ("version", "draft", "draft_by", "draft_at", "situations", "faq"):
        document.pop(key, None)
    document.update(
        name=NEW, department="住建", bookable=True, summary="住在危房里的农村低保户、分散供养特困人员、低保边缘家庭和困难残疾人家庭，"
        "可以申请危房改造补助，修缮加固或者拆除重建。先向村委会提出，镇里核实、县住建部门审批后补助。",
        aliases=["农村危房改造", "危房改造补助"], keywords=["危房", "房子要塌", "房屋鉴定", "改造补助", "修房子补贴"],
        materials=[{"name": "危房改造申请书", "form": "原件", "copies": 1, "required": True},
                   {"name": "户口簿和身份证", "form": "原件和复印件", "copies": 1, "required": True}],
        faq=[{"q": "自己先把房子修了，还能补吗？", "a": "一般要先申请、鉴定，批了再动工；先修后报的能不能补，请问镇里。"}],
        examples=["家里房子裂了好几道缝，能申请危房改造吗", "低保户修房子有没有补贴"])
    return document


async def test_an_editor_makes_a_new_guide_and_residents_are_answered_from_it_once_published(kb_bot):
    bot = kb_bot
    editor = await headers(bot, "editor")
    document = await _new_guide(bot, editor)
    assert "危房改造申请书" not in await bot.say("r-before", "农村危房改造怎么申请")

    resp = await bot.client.post("/api/guides", json=document, headers=editor)
    assert resp.status == 201, await resp.text()
    made = await resp.json()
    assert made["version"] is None and made["draft"]["summary"] == document["summary"]
    again = await bot.client.post("/api/guides", json=document, headers=editor)    # a double click
    assert again.status == 201 and (await again.json())["draft_at"] == made["draft_at"]
    listed = (await _get(bot, "/api/guides", editor))["guides"]
    assert [g["state"] for g in listed if g["name"] == NEW] == ["draft"]
    assert "危房改造申请书" not in await bot.say("r-draft", "农村危房改造怎么申请")    # not read until published

    assert (await bot.client.post(f"/api/guides/{NEW}/publish", headers=editor)).status == 200
    await bot.app[LIBRARY].settled()     # a new guide's words are learned by the matcher, in the background
    told = await bot.say("r-after", "农村危房改造怎么申请")
    assert "危房改造申请书" in told and "户口簿和身份证" in told
    assert "预约【农村危房改造申请】" in await bot.say("r-after", "预约办农村危房改造")   # booked like any other
    versions = (await _get(bot, f"/api/guides/{NEW}/versions", editor))["versions"]
    assert [(v["version"], v["action"]) for v in versions] == [(1, "publish")]
    audit = [(line.action, line.target) for line in await bot.store.audit.lines(centers=None)]
    assert audit.count(("guide_create", NEW)) == 1 and ("guide_publish", NEW) in audit


async def test_a_new_guide_may_not_take_a_name_in_use_and_clerks_may_not_make_one(either_bot):
    bot = either_bot
    editor, other = await headers(bot, "editor"), await headers(bot, "admin")
    document = await _new_guide(bot, editor)
    assert (await bot.client.post("/api/guides", json=document, headers=editor)).status == 201

    resp = await bot.client.post("/api/guides", json={**document, "summary": "另一位编辑写的"}, headers=other)
    assert resp.status == 409
    body = await resp.json()
    assert body["error"] == "guide_exists" and "已经有叫这个名字的事项" in body["message"]
    assert (await _get(bot, f"/api/guides/{NEW}", editor))["draft"]["summary"] == document["summary"]
    resp = await bot.client.post("/api/guides", json={**document, "name": GUIDE}, headers=other)
    assert resp.status == 409 and (await resp.json())["error"] == "guide_exists"
    assert (await _get(bot, f"/api/guides/{GUIDE}", editor))["draft"] is None

    resp = await bot.client.post("/api/guides", json={**document, "name": "丧葬费"}, headers=other)  # another's alias
    assert resp.status == 400 and (await resp.json())["field"] == "name"
    resp = await bot.client.post("/api/guides", json={**document, "name": "危房补助", "fee": None}, headers=other)
    assert resp.status == 400 and (await resp.json())["field"] == "fee"
    resp = await bot.client.post("/api/guides", json={**document, "name": "危房补助", "kind": "告示"}, headers=other)
    assert resp.status == 400 and (await resp.json())["field"] == "kind"
    clerk = await headers(bot, "clerk", "qinghe-dongcun")
    resp = await bot.client.post("/api/guides", json={**document, "name": "危房补助"}, headers=clerk)
    assert resp.status == 403
    assert [g["name"] for g in (await _get(bot, "/api/guides", editor))["guides"] if "危房" in g["name"]] == [NEW]
