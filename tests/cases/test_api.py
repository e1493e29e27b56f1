"""The staff JSON API: scope, moves checked against the state machine, notices in the outbox."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from bot.api import CASE_DESK
from bot.config import PROJECT_ROOT
from tests.support import notices_to

ID_NUMBER = "11010519491231002X"


async def _staff(bot, name: str, center: str | None, role: str = "clerk") -> dict[str, str]:
    token = f"token-{name}"
    await bot.store.staff.add(name=name, center=center, role=role, token=token, now=bot.clock.now())
    return {"Authorization": f"Bearer {token}"}


async def _proxy_case(bot, center: str = "village-a", guide: str = "高龄津贴申领"):
    await bot.wrote("resident-1")  # the resident wrote to us today
    return await bot.app[CASE_DESK].open(kind="proxy", openid="resident-1", guide=guide, center=center,
                                         data={"name": "张三", "phone": "13800001234", "phone_masked": "138****1234"})


async def test_without_a_valid_token_the_api_answers_401(bot):
    resp = await bot.client.get("/api/cases")
    assert resp.status == 401 and (await resp.json())["error"] == "unauthorized"
    resp = await bot.client.get("/api/cases", headers={"Authorization": "Bearer nope"})
    assert resp.status == 401


async def test_clerk_moves_a_case_and_the_resident_is_told(bot):
    headers = await _staff(bot, "clerk-a", "village-a")
    case = await _proxy_case(bot)
    assert case.number.startswith("D20261124-")
    resp = await bot.client.post(f"/api/cases/{case.number}/transitions", json={"to": "accepted"}, headers=headers)
    body = await resp.json()
    assert resp.status == 200 and body["state"] == "accepted"
    # 高龄津贴申领 promises 15 working days: from Tue 24 Nov 2026 that is Tue 15 Dec
    assert body["deadline"] == "2026-12-15"
    assert [h["to_state"] for h in body["history"]] == ["submitted", "accepted"]
    assert body["history"][-1]["actor"] == "staff:clerk-a"
    assert body["data"]["phone"] == "138****1234"
    pushed = await notices_to(bot, "resident-1", 1)
    assert case.number in pushed[0] and "已受理" in pushed[0] and "2026年12月15日" in pushed[0]


async def test_a_guide_promising_calendar_days_sets_a_deadline_in_calendar_days(bot):
    headers = await _staff(bot, "clerk-a", "village-a")
    case = await _proxy_case(bot, guide="居住证申领")
    resp = await bot.client.post(f"/api/cases/{case.number}/transitions", json={"to": "accepted"}, headers=headers)
    # 居住证: 15 日 (calendar days) from Tue 24 Nov 2026 is Wed 9 Dec, not 15 working days (Tue 15 Dec)
    assert (await resp.json())["deadline"] == "2026-12-09"
    pushed = await notices_to(bot, "resident-1", 1)
    assert "2026年12月09日" in pushed[0]


async def test_a_move_not_allowed_is_409_naming_the_allowed_ones(bot):
    headers = await _staff(bot, "clerk-a", "village-a")
    case = await _proxy_case(bot)
    resp = await bot.client.post(f"/api/cases/{case.number}/transitions", json={"to": "delivered"}, headers=headers)
    body = await resp.json()
    assert resp.status == 409 and body["allowed"] == ["accepted", "rejected", "cancelled"]
    assert "已受理" in body["message"] and "不予办理" in body["message"]
    resp = await bot.client.post(f"/api/cases/{case.number}/transitions", json={"to": "rejected"}, headers=headers)
    assert resp.status == 409 and "原因" in (await resp.json())["message"]


async def test_double_click_moves_a_case_once(bot):
    headers = await _staff(bot, "clerk-a", "village-a")
    case = await _proxy_case(bot)
    url = f"/api/cases/{case.number}/transitions"
    first, second = await asyncio.gather(bot.client.post(url, json={"to": "accepted"}, headers=headers),
                                         bot.client.post(url, json={"to": "accepted"}, headers=headers))
    assert sorted([first.status, second.status]) == [200, 409]
    moved = await bot.store.cases.get(case.number)
    assert [h.to_state for h in moved.history] == ["submitted", "accepted"]
    row = await bot.store.fetchone("SELECT count(*) AS n FROM outbox WHERE openid='resident-1'")
    assert row["n"] == 1


async def test_other_centers_cases_are_403_and_not_listed(bot):
    headers_b = await _staff(bot, "clerk-b", "village-b")
    admin = await _staff(bot, "admin", None, "admin")
    case = await _proxy_case(bot, center="village-a")
    resp = await bot.client.get(f"/api/cases/{case.number}", headers=headers_b)
    assert resp.status == 403
    resp = await bot.client.post(f"/api/cases/{case.number}/transitions", json={"to": "accepted"}, headers=headers_b)
    assert resp.status == 403
    assert (await (await bot.client.get("/api/cases", headers=headers_b)).json())["cases"] == []
    assert (await bot.client.get("/api/cases?center=village-a", headers=headers_b)).status == 403
    listed = (await (await bot.client.get("/api/cases", headers=admin)).json())["cases"]
    assert [c["number"] for c in listed] == [case.number]


async def test_extension_needs_reason_and_date_and_is_told(bot):
    headers = await _staff(bot, "clerk-a", "village-a")
    case = await _proxy_case(bot)
    url = f"/api/cases/{case.number}/transitions"
    assert (await bot.client.post(url, json={"to": "accepted"}, headers=headers)).status == 200
    resp = await bot.client.post(url, json={"to": "extended", "note": "需县里会签", "deadline": "2026-12-31"},
                                 headers=headers)
    assert resp.status == 200 and (await resp.json())["deadline"] == "2026-12-31"
    pushed = await notices_to(bot, "resident-1", 2)
    assert "延期" in pushed[-1] and "需县里会签" in pushed[-1] and "2026年12月31日" in pushed[-1]


@pytest.mark.parametrize("body", [b"not json", b'{"to": "flying"}', b'{"note": "x"}', b'{"to": "extended", "deadline": "soon"}'])
async def test_malformed_transition_is_400(bot, body):
    headers = await _staff(bot, "clerk-a", "village-a")
    case = await _proxy_case(bot)
    resp = await bot.client.post(f"/api/cases/{case.number}/transitions", data=body,
                                 headers={**headers, "Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["error"] == "bad_request"


def test_staff_add_prints_the_token_on_the_last_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      '[store]\nurl = "sqlite:///fd.db"\n', encoding="utf-8")
    cmd = [sys.executable, "-m", "bot.cli", "staff", "add", "--config", str(config), "--name", "王芳",
           "--center", "village-a", "--role", "clerk"]
    done = subprocess.run(cmd, input="s3cret-pass\n", capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert len(token) >= 40
    again = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert again.returncode == 1 and "already exists" in again.stderr
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("fd.db*"))  # database and any WAL
    assert b"$argon2id$" in stored and b"s3cret-pass" not in stored  # the password only as its hash


async def test_overdue_and_soon_due_cases_are_listed(bot):
    headers = await _staff(bot, "clerk-a", "village-a")
    case = await _proxy_case(bot)
    url = f"/api/cases/{case.number}/transitions"
    await bot.client.post(url, json={"to": "accepted"}, headers=headers)  # due 15 Dec 2026
    listed = lambda body: [c["number"] for c in body["cases"]]  # noqa: E731
    assert listed(await (await bot.client.get("/api/cases?due=overdue", headers=headers)).json()) == []
    bot.clock.advance(days=19)  # Sunday 13 Dec: due within two working days
    assert listed(await (await bot.client.get("/api/cases?due=soon", headers=headers)).json()) == [case.number]
    bot.clock.advance(days=3)   # Wednesday 16 Dec: a day late
    assert listed(await (await bot.client.get("/api/cases?due=overdue", headers=headers)).json()) == [case.number]
    assert (await bot.client.get("/api/cases?due=later", headers=headers)).status == 400


async def test_dead_letters_are_shown_to_the_staff_of_the_residents_center_only(bot):
    town_lead = await _staff(bot, "qinghe-lead", "town-center", "supervisor")
    dongcun = await _staff(bot, "dongcun", "qinghe-dongcun")
    other_town = await _staff(bot, "shiqiao-lead", "shiqiao", "supervisor")
    admin = await _staff(bot, "root", None, "admin")
    bot.fake.fail_next = [43004, 43004]   # both residents unfollowed the account
    for openid, center in (("gone-dongcun", "qinghe-dongcun"), ("gone-hexi", "shiqiao-hexi")):
        await bot.wrote(openid)
        await bot.store.residents.bind(openid, center, bot.clock.now())
        await bot.store.outbox.add(openid, [f"{openid}：您的办件已受理。"], bot.clock.now())

    async def dead(headers) -> list[str]:
        resp = await bot.client.get("/api/outbox/dead", headers=headers)
        assert resp.status == 200
        return sorted(d["openid"] for d in (await resp.json())["dead"])

    for _ in range(200):
        if len(await dead(admin)) == 2:
            break
        await asyncio.sleep(0.02)
    assert await dead(admin) == ["gone-dongcun", "gone-hexi"]
    assert await dead(town_lead) == ["gone-dongcun"] and await dead(dongcun) == ["gone-dongcun"]
    assert await dead(other_town) == ["gone-hexi"]
    [item] = (await (await bot.client.get("/api/outbox/dead", headers=dongcun)).json())["dead"]
    assert "43004" in item["last_error"] and item["text"] == "gone-dongcun：您的办件已受理。"


async def test_staff_resend_dead_notices_of_their_centers_and_the_resident_gets_them(bot):
    """WeChat failed for longer than a day: the notices died. Once it is back, a clerk resends one,
    or all of their centers' since a time; another town's clerk cannot, a supervisor only reads."""
    dongcun = await _staff(bot, "dongcun", "qinghe-dongcun")
    hexi = await _staff(bot, "hexi", "shiqiao-hexi")
    town_lead = await _staff(bot, "qinghe-lead", "town-center", "supervisor")
    admin = await _staff(bot, "root", None, "admin")
    residents = {"r-dongcun-1": "qinghe-dongcun", "r-dongcun-2": "qinghe-dongcun", "r-hexi": "shiqiao-hexi"}
    ids = {}
    for openid, center in residents.items():
        await bot.store.residents.bind(openid, center, bot.clock.now())
        await bot.wrote(openid)
        await bot.store.outbox.add(openid, [f"{openid}：您的办件已办结。"], bot.clock.now())
        [item] = await bot.store.outbox.waiting(openid)
        await bot.store.outbox.failed(item.id, "WeChat API error -1: system busy", None, bot.clock.now())
        ids[openid] = item.id

    one = f"/api/outbox/{ids['r-dongcun-1']}/resend"
    assert (await bot.client.post(one, headers=town_lead)).status == 403      # supervisors only read
    assert (await bot.client.post(one, headers=hexi)).status == 404           # not one of hexi's residents
    assert (await bot.client.post("/api/outbox/abc/resend", headers=dongcun)).status == 404
    resp = await bot.client.post(one, headers=dongcun)
    assert resp.status == 200 and (await resp.json())["resent"] == [ids["r-dongcun-1"]]
    assert (await bot.client.post(one, headers=dongcun)).status == 404        # no longer dead: nothing to resend
    assert await notices_to(bot, "r-dongcun-1", 1) == ["r-dongcun-1：您的办件已办结。"]

    assert (await bot.client.post("/api/outbox/resend", json={"since": "yesterday"}, headers=admin)).status == 400
    resp = await bot.client.post("/api/outbox/resend", json={"since": "2026-11-24T00:00"}, headers=admin)
    assert sorted((await resp.json())["resent"]) == sorted([ids["r-dongcun-2"], ids["r-hexi"]])
    assert await notices_to(bot, "r-hexi", 1) == ["r-hexi：您的办件已办结。"]
    audit = [(a.actor, a.action, a.target) for a in await bot.store.audit.lines(centers=None, action="notice_resent")]
    assert ("dongcun", "notice_resent", f"#{ids['r-dongcun-1']}") in audit
    assert ("root", "notice_resent", f"#{ids['r-dongcun-2']}, #{ids['r-hexi']}") in audit


async def test_the_api_masks_residents_personal_data_and_reveals_it_only_on_the_record(bot):
    await bot.wrote("resident-1")
    case = await bot.app[CASE_DESK].open(
        kind="proxy", openid="resident-1", guide="高龄津贴申领", center="qinghe-dongcun",
        data={"name": "张秀兰", "phone": "13800001234", "phone_masked": "138****1234", "id_number": ID_NUMBER,
              "id_number_masked": "110***********002X", "address": "清河镇东村3组12号"})
    await bot.store.cases.note(case, actor="resident", note="我换号了，新号码139 0000 5678", now=bot.clock.now())
    clerk = await _staff(bot, "dongcun", "qinghe-dongcun")
    lead = await _staff(bot, "qinghe-lead", "town-center", "supervisor")

    listed = await bot.client.get("/api/cases", headers=lead)
    [data] = [c["data"] for c in (await listed.json())["cases"]]
    assert data == {"name": "张**", "phone": "138****1234", "id_number": "110***********002X",
                    "address": "清河镇东村*****"}
    one = await bot.client.get(f"/api/cases/{case.number}", headers=lead)   # one case: where to go, as the console
    assert (await one.json())["data"] == {**data, "address": "清河镇东村3组12号"}
    assert (await one.json())["history"][-1]["note"] == "我换号了，新号码139****5678"   # typed into a reply too
    for resp in (listed, one):
        everything = json.dumps(await resp.json(), ensure_ascii=False)
        assert not any(secret in everything for secret in ("张秀兰", "13800001234", ID_NUMBER, "0000 5678"))
    assert not await bot.store.audit.lines(centers=None, action="reveal_personal")

    refused = await bot.client.post(f"/api/cases/{case.number}/reveal", headers=lead)   # a supervisor only reads
    assert refused.status == 403 and not await bot.store.audit.lines(centers=None, action="reveal_personal")
    other = await _staff(bot, "hexi", "shiqiao-hexi")
    assert (await bot.client.post(f"/api/cases/{case.number}/reveal", headers=other)).status == 403
    assert (await bot.client.post("/api/cases/D20261124-9999/reveal", headers=clerk)).status == 404

    revealed = await bot.client.post(f"/api/cases/{case.number}/reveal", headers=clerk)
    body = await revealed.json()
    assert revealed.status == 200 and body["number"] == case.number and body["data"] == {
        "name": "张秀兰", "phone": "13800001234", "id_number": ID_NUMBER, "address": "清河镇东村3组12号"}
    assert body["history"][-1]["note"] == "我换号了，新号码139 0000 5678"
    [line] = await bot.store.audit.lines(centers=["qinghe-dongcun"], action="reveal_personal")
    assert (line.actor, line.role, line.target) == ("dongcun", "clerk", case.number)


async def test_a_town_center_sees_its_villages_but_not_the_other_way(bot):
    town = await _staff(bot, "town-clerk", "shiqiao")
    village = await _staff(bot, "village-clerk", "shiqiao-hexi")
    other_town = await _staff(bot, "other-town", "chengguan")
    in_village = await _proxy_case(bot, center="shiqiao-hexi")
    at_town = await _proxy_case(bot, center="shiqiao")
    listed = [c["number"] for c in (await (await bot.client.get("/api/cases", headers=town)).json())["cases"]]
    assert sorted(listed) == sorted([in_village.number, at_town.number])
    assert (await bot.client.post(f"/api/cases/{in_village.number}/transitions", json={"to": "accepted"},
                                  headers=town)).status == 200
    assert (await bot.client.get(f"/api/cases/{at_town.number}", headers=village)).status == 403
    assert (await bot.client.get(f"/api/cases/{in_village.number}", headers=other_town)).status == 403
    assert (await bot.client.get("/api/cases?center=shiqiao-hexi", headers=town)).status == 200


def test_staff_add_names_an_unknown_center(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      f'[store]\nurl = "sqlite:///fd.db"\n[knowledge]\ndir = "{PROJECT_ROOT / "knowledge"}"\n',
                      encoding="utf-8")
    cmd = [sys.executable, "-m", "bot.cli", "staff", "add", "--config", str(config), "--name", "王芳",
           "--center", "qinghe-dongcum", "--role", "clerk"]
    done = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert done.returncode == 2 and "qinghe-dongcum" in done.stderr and "qinghe-dongcun" in done.stderr


def _cli(config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args, "--config", str(config)], input="",
                          capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)


async def test_a_staff_token_is_issued_anew_and_revoked_from_the_command_line(tmp_path):
    """An account made in the console has no token its member knows: `staff token` gives one, and
    the one before stops working; `--revoke` leaves none that works."""
    from bot.store import open_store

    config = tmp_path / "config.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      '[store]\nurl = "sqlite:///fd.db"\n', encoding="utf-8")
    first = _cli(config, "staff", "add", "--name", "王芳", "--center", "village-a", "--role", "clerk")
    old = first.stdout.strip().splitlines()[-1]
    issued = _cli(config, "staff", "token", "--name", "王芳")
    assert issued.returncode == 0, issued.stderr
    new = issued.stdout.strip().splitlines()[-1]
    assert _cli(config, "staff", "token", "--name", "李四").returncode == 1
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path)
    try:
        assert await store.staff.by_token(old) is None and (await store.staff.by_token(new)).name == "王芳"
        revoked = _cli(config, "staff", "token", "--name", "王芳", "--revoke")
        assert revoked.returncode == 0 and new not in revoked.stdout
        assert await store.staff.by_token(new) is None
        actions = [line.action for line in await store.audit.lines(centers=None)]
        assert actions[:2] == ["staff_token_revoked", "staff_token_issued"]
    finally:
        await store.close()


async def test_the_retention_purge_runs_now_from_the_command_line(tmp_path):
    from datetime import timedelta

    from bot.clock import Clock
    from bot.store import open_store

    config = tmp_path / "config.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      '[store]\nurl = "sqlite:///fd.db"\n[retention]\ninquiries_days = 30\n', encoding="utf-8")
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path)
    try:
        for days, question in ((40, "去年问的"), (1, "昨天问的")):
            await store.inquiries.log(openid="o-1", question=question, intent="unknown", guide=None, score=None,
                                      decision="fallback", at=Clock().now() - timedelta(days=days))
    finally:
        await store.close()
    done = _cli(config, "retention", "run")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["questions"] == 1
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path)
    try:
        assert [q["question"] for q in await store.inquiries.recent()] == ["昨天问的"]
    finally:
        await store.close()
