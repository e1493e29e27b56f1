"""A clerk's day in the console, over HTTP: cases moved with what each move needs, a double
click that moves nothing twice, scope, read-only supervisors, numbers masked in handoffs, appointments.
Conversations with residents (转人工): test_conversations.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.api import APPOINTMENTS, CASE_DESK
from bot.app import PUSHER
from bot.clock import TZ
from tests.console.support import csrf_of, form_token, staff_client
from tests.support import notices_to


async def _proxy_case(bot, center: str = "qinghe-dongcun", openid: str = "resident-1"):
    await bot.wrote(openid)
    return await bot.app[CASE_DESK].open(kind="proxy", openid=openid, guide="高龄津贴申领", center=center,
                                         data={"name": "王秀英", "phone": "13800001234", "phone_masked": "138****1234",
                                               "id_number": "11010519491231002X",
                                               "id_number_masked": "110105********002X"})


async def _move(client, case, **fields) -> tuple[int, str]:
    page = await client.get(f"/console/cases/{case.number}")
    resp = await client.post(f"/console/cases/{case.number}/move", data={"_csrf": csrf_of(await page.text()), **fields})
    return resp.status, await resp.text()


async def test_clerk_accepts_and_completes_and_each_move_reaches_the_resident(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    case = await _proxy_case(bot)
    dashboard = await (await clerk.get("/console/dashboard")).text()
    assert case.number in dashboard
    status, page = await _move(clerk, case, to="accepted", **{"from": "submitted"})
    assert status == 200 and "已受理，已推送通知给居民" in page
    status, page = await _move(clerk, case, to="completed", **{"from": "accepted"}, note="请到村便民服务站领取")
    assert status == 200 and "已办结" in page
    pushed = await notices_to(bot, "resident-1", 2)
    assert "受理" in pushed[0] and "办结" in pushed[1] and "请到村便民服务站领取" in pushed[1]
    lines = await bot.store.audit.lines(centers=None, actor="dongcun", action="case_move")
    assert [line.detail for line in reversed(lines)] == ["submitted → accepted",
                                                          "accepted → completed：请到村便民服务站领取"]


async def test_a_double_click_moves_the_case_once(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    case = await _proxy_case(bot)
    page = await clerk.get(f"/console/cases/{case.number}")
    form = {"_csrf": csrf_of(await page.text()), "to": "accepted", "from": "submitted"}
    first = await clerk.post(f"/console/cases/{case.number}/move", data=form)
    second = await clerk.post(f"/console/cases/{case.number}/move", data=form)
    assert first.status == 200 and second.status == 409 and "没有重复办理" in await second.text()
    assert len(await notices_to(bot, "resident-1", 1)) == 1
    assert [h.to_state for h in (await bot.store.cases.get(case.number)).history] == ["submitted", "accepted"]


async def test_refusal_needs_its_reason_and_extension_its_date(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    case = await _proxy_case(bot)
    status, page = await _move(clerk, case, to="rejected", **{"from": "submitted"}, note="")
    assert status == 400 and "请写明不予办理的原因" in page
    await _move(clerk, case, to="accepted", **{"from": "submitted"})
    status, page = await _move(clerk, case, to="extended", **{"from": "accepted"}, note="需县里会签",
                               deadline="2026-11-20")
    assert status == 400 and "新办结日期" in page
    status, page = await _move(clerk, case, to="extended", **{"from": "accepted"}, note="需县里会签",
                               deadline="2026-12-18")
    assert status == 200
    assert (await bot.store.cases.get(case.number)).deadline.isoformat() == "2026-12-18"
    pushed = await notices_to(bot, "resident-1", 2)
    assert "需县里会签" in pushed[-1] and "12月18日" in pushed[-1]


async def test_personal_data_is_masked_until_a_clerk_asks_and_the_look_is_recorded(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    case = await _proxy_case(bot)
    await bot.store.cases.note(case, actor="resident", note="材料我女儿送，她电话13912345678", now=bot.clock.now())
    page = await (await clerk.get(f"/console/cases/{case.number}")).text()
    assert "138****1234" in page and "13800001234" not in page and "11010519491231002X" not in page
    assert "王**" in page and "王秀英" not in page
    assert "她电话139****5678" in page and "13912345678" not in page   # in the history's notes too
    shown = await clerk.post(f"/console/cases/{case.number}/reveal", data={"_csrf": csrf_of(page)})
    assert "13800001234" in (revealed := await shown.text()) and "她电话13912345678" in revealed
    assert (await bot.store.audit.lines(centers=None, action="reveal_personal"))[0].target == case.number


async def test_a_village_clerk_cannot_open_another_villages_case_but_the_town_can(bot, aiohttp_client):
    case = await _proxy_case(bot, center="qinghe-xicun")
    village = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    resp = await village.get(f"/console/cases/{case.number}")
    assert resp.status == 403 and "没有权限" in await resp.text()
    assert case.number not in await (await village.get("/console/cases")).text()
    token = await form_token(village, "/console/dashboard")
    forged = await village.post(f"/console/cases/{case.number}/move",
                                data={"_csrf": token, "to": "accepted", "from": "submitted"})
    assert forged.status == 403 and (await bot.store.cases.get(case.number)).state == "submitted"
    town = await staff_client(bot, aiohttp_client, "qinghe", "town-center")
    assert (await town.get(f"/console/cases/{case.number}")).status == 200


async def test_a_supervisor_reads_everything_below_and_moves_nothing(bot, aiohttp_client):
    case = await _proxy_case(bot)
    boss = await staff_client(bot, aiohttp_client, "county", "county", "supervisor")
    page = await (await boss.get(f"/console/cases/{case.number}")).text()
    assert "您的账号只能查看" in page and 'id="move-accepted"' not in page
    resp = await boss.post(f"/console/cases/{case.number}/move",
                           data={"_csrf": csrf_of(page), "to": "accepted", "from": "submitted"})
    assert resp.status == 403 and (await bot.store.cases.get(case.number)).state == "submitted"
    assert (await boss.get("/console/audit")).status == 200


async def test_search_finds_a_case_by_the_residents_phone(bot, aiohttp_client):
    case = await _proxy_case(bot)
    clerk = await staff_client(bot, aiohttp_client, "qinghe", "town-center")
    assert case.number in await (await clerk.get("/console/cases?q=13800001234")).text()
    assert case.number in await (await clerk.get("/console/cases?q=1234")).text()   # the last four
    assert case.number not in await (await clerk.get("/console/cases?q=13900001234")).text()
    assert case.number not in await (await clerk.get("/console/cases?q=4321")).text()
    stored = (await bot.store.fetchone("SELECT data FROM cases WHERE number=?", case.number))["data"]
    assert "13800001234" not in stored and "11010519491231002X" not in stored   # encrypted at rest


async def test_numbers_typed_into_questions_are_masked_and_a_clerk_reveals_them_on_the_record(bot, aiohttp_client):
    await bot.say("resident-9", "绑定 东村")
    await bot.say("resident-9", "1")
    await bot.say("resident-9", "低保怎么申请，我电话 138-0000-1234")
    await bot.say("resident-9", "转人工，我身份证是110105 19491231 002X")
    [handoff] = await bot.store.handoffs.waiting()
    assert handoff["question"] == "转人工，我身份证是110105********002X"   # as stored
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    lead = await staff_client(bot, aiohttp_client, "qinghe-lead", "town-center", "supervisor")
    for member in (clerk, lead):
        for path in ("/console/handoffs", "/console/dashboard", f"/console/handoffs/{handoff['id']}"):
            page = await (await member.get(path)).text()
            assert "19491231" not in page and "0000-1234" not in page and "13800001234" not in page
    page = await (await clerk.get(f"/console/handoffs/{handoff['id']}")).text()
    assert "138****1234" in page and "110105********002X" in page and "号码已隐去" in page
    read_only = await (await lead.get(f"/console/handoffs/{handoff['id']}")).text()
    assert "reveal-contact" not in read_only
    refused = await lead.post(f"/console/handoffs/{handoff['id']}/reveal", data={"_csrf": csrf_of(read_only)})
    assert refused.status == 403 and not await bot.store.audit.lines(centers=None, action="reveal_contact")

    revealed = await clerk.post(f"/console/handoffs/{handoff['id']}/reveal", data={"_csrf": csrf_of(page)})
    text = await revealed.text()
    assert revealed.status == 200 and "13800001234" in text and "11010519491231002X" in text
    [line] = await bot.store.audit.lines(centers=["qinghe-dongcun"], action="reveal_contact")
    assert (line.actor, line.target) == ("dongcun", f"#{handoff['id']}")


async def test_day_view_check_in_and_closing_a_day(bot, aiohttp_client):
    appointments = bot.app[APPOINTMENTS]
    center = appointments.centers.get("town-center")
    guide = bot.app[CASE_DESK].library.knowledge.guide("居民身份证办理")
    start = datetime(2026, 11, 24, 14, 30, tzinfo=TZ)
    await bot.wrote("resident-4")
    booking = await appointments.book(openid="resident-3", guide=guide, center=center, start=start)
    tomorrow = await appointments.book(openid="resident-4", guide=guide, center=center,
                                       start=start + timedelta(days=1))
    clerk = await staff_client(bot, aiohttp_client, "qinghe", "town-center")
    page = await (await clerk.get("/console/appointments")).text()
    assert booking.code in page and "14:30" in page
    resp = await clerk.post(f"/console/appointments/{booking.code}/checkin", data={"_csrf": csrf_of(page)})
    assert resp.status == 200 and "已签到" in await resp.text()
    twice = await clerk.post(f"/console/appointments/{booking.code}/checkin", data={"_csrf": csrf_of(page)})
    assert twice.status == 409
    closed = await clerk.post("/console/centers/town-center/closures",
                              data={"_csrf": csrf_of(page), "date": "2026-11-25", "reason": "停电检修"})
    assert closed.status == 200 and "已登记闭厅" in await closed.text()
    assert (await bot.store.bookings.get(tomorrow.code)).status == "closed"
    assert "停电检修" in (await notices_to(bot, "resident-4", 1))[0]


async def test_a_home_visit_is_scheduled_with_its_time_and_the_resident_is_told(bot, aiohttp_client):
    await bot.wrote("resident-5")
    case = await bot.app[CASE_DESK].open(kind="home_visit", openid="resident-5", guide="高龄津贴申领",
                                         center="qinghe-dongcun",
                                         data={"who": "卧床", "address": "东村3组12号", "phone": "13900002222",
                                               "phone_masked": "139****2222", "preferred": ["11月26日上午"]})
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    page = await (await clerk.get(f"/console/cases/{case.number}")).text()
    assert "东村3组12号" in page and "11月26日上午" in page and "安排上门" in page
    status, page = await _move(clerk, case, to="accepted", **{"from": "submitted"})
    assert status == 400 and "请填写上门时间" in page
    status, page = await _move(clerk, case, to="accepted", **{"from": "submitted"}, visit_at="2026-11-26T09:30")
    assert status == 200
    [notice] = await notices_to(bot, "resident-5", 1)
    assert "9:30" in notice or "09:30" in notice


async def test_through_the_api_too_a_supervisor_only_reads_and_every_move_is_audited(bot):
    case = await _proxy_case(bot)
    await bot.store.staff.add(name="boss", center="county", role="supervisor", token="t-boss", now=bot.clock.now())
    await bot.store.staff.add(name="clerk", center="qinghe-dongcun", role="clerk", token="t-clerk",
                              now=bot.clock.now())
    url = f"/api/cases/{case.number}/transitions"
    refused = await bot.client.post(url, json={"to": "accepted"}, headers={"Authorization": "Bearer t-boss"})
    assert refused.status == 403
    moved = await bot.client.post(url, json={"to": "accepted"}, headers={"Authorization": "Bearer t-clerk"})
    assert moved.status == 200
    [line] = await bot.store.audit.lines(centers=["qinghe-dongcun"], action="case_move")
    assert (line.actor, line.target, line.detail) == ("clerk", case.number, "submitted → accepted")


async def test_missing_materials_are_ticked_from_the_guide_and_told_at_once(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    case = await _proxy_case(bot)
    await _move(clerk, case, to="accepted", **{"from": "submitted"})
    page = await (await clerk.get(f"/console/cases/{case.number}")).text()
    guide = bot.app[CASE_DESK].library.knowledge.guide("高龄津贴申领")
    first, second = guide.materials[0].name, guide.materials[1].name
    assert f'value="{first}"' in page
    resp = await clerk.post(f"/console/cases/{case.number}/move", data=[
        ("_csrf", csrf_of(page)), ("to", "need_materials"), ("from", "accepted"), ("missing", first),
        ("missing", second), ("note", "户口本首页复印件")])
    assert resp.status == 200
    notice = (await notices_to(bot, "resident-1", 2))[-1]
    assert first in notice and second in notice and "户口本首页复印件" in notice
    nothing = await clerk.post(f"/console/cases/{case.number}/move", data={
        "_csrf": csrf_of(page), "to": "need_materials", "from": "need_materials"})
    assert nothing.status == 409  # need_materials → need_materials is not a move


async def test_a_complaint_is_answered_and_the_resident_gets_the_reply(bot, aiohttp_client):
    await bot.say("resident-7", "绑定 东村")
    await bot.say("resident-7", "1")
    await bot.say("resident-7", "我要投诉东村便民服务站上午九点了还没开门，白跑一趟，回电13912345678")
    [complaint] = await bot.store.cases.list(centers=None, kind="complaint")
    assert complaint.center == "town-center"  # the town answers for its station
    clerk = await staff_client(bot, aiohttp_client, "qinghe", "town-center")
    listed = await (await clerk.get("/console/complaints")).text()
    assert complaint.number in listed and "九点了还没开门" in listed
    assert "回电139****5678" in listed and "13912345678" not in listed   # as on the case's own page
    await _move(clerk, complaint, to="accepted", **{"from": "submitted"})
    status, _ = await _move(clerk, complaint, to="completed", **{"from": "accepted"}, note="")
    assert status == 400  # a complaint is closed with its reply
    status, _ = await _move(clerk, complaint, to="completed", **{"from": "accepted"},
                            note="已约谈东村站负责人，今后8:30准时开门。")
    assert status == 200
    reply = (await notices_to(bot, "resident-7", 2))[-1]
    assert "8:30准时开门" in reply and "打个分" in reply
    answered = await (await clerk.get("/console/complaints")).text()
    assert "已约谈东村站负责人" in answered


async def test_a_refused_notice_is_shown_until_someone_calls_the_resident(bot, aiohttp_client):
    case = await _proxy_case(bot, openid="gone")
    bot.fake.fail_next = [43004]
    await bot.store.outbox.add("gone", ["您的办件已受理。"], bot.clock.now())
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    for _ in range(200):
        if await bot.store.outbox.dead(centers=["qinghe-dongcun"], open_only=True):
            break
        await asyncio.sleep(0.02)
    page = await (await clerk.get("/console/dashboard")).text()
    assert "居民已取消关注" in page and case.number in page
    [dead] = await bot.store.outbox.dead(open_only=True)
    resp = await clerk.post(f"/console/outbox/{dead['id']}/followed-up", data={"_csrf": csrf_of(page)})
    assert resp.status == 200 and "居民已取消关注" not in await resp.text()
    other = await staff_client(bot, aiohttp_client, "xicun", "qinghe-xicun")
    token = await form_token(other, "/console/dashboard")
    assert (await other.post(f"/console/outbox/{dead['id']}/followed-up", data={"_csrf": token})).status == 404


async def test_a_notice_past_the_quota_without_a_template_is_listed_with_the_phone_to_call(bot, aiohttp_client):
    """No template message configured: the sixth notice waits a day for the resident to write, then
    is listed with their phone masked; the clerk sees it in full only through the audited reveal."""
    case = await _proxy_case(bot, openid="quiet")
    await bot.store.outbox.add("quiet", [f"第{n}条通知" for n in range(1, 7)], bot.clock.now())
    assert len(await notices_to(bot, "quiet", 5)) == 5
    bot.clock.advance(hours=25)                             # a day passed and the resident never wrote
    for _ in range(200):
        bot.app[PUSHER].wake()
        if await bot.store.outbox.dead(open_only=True):
            break
        await asyncio.sleep(0.02)
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    page = await (await clerk.get("/console/dashboard")).text()
    assert "第6条通知" in page and "客服消息额度已用完" in page
    assert "138****1234" in page and "13800001234" not in page
    assert f'action="/console/cases/{case.number}/reveal"' in page
    shown = await clerk.post(f"/console/cases/{case.number}/reveal", data={"_csrf": csrf_of(page)})
    assert "13800001234" in await shown.text()
    assert (await bot.store.audit.lines(centers=None, action="reveal_personal"))[0].target == case.number
    lead = await staff_client(bot, aiohttp_client, "qinghe-lead", "town-center", "supervisor")
    page = await (await lead.get("/console/dashboard")).text()
    assert "138****1234" in page and f"/console/cases/{case.number}/reveal" not in page   # supervisors only read


async def test_notices_that_died_in_a_wechat_outage_are_resent_from_the_dashboard(bot, aiohttp_client):
    case = await _proxy_case(bot, openid="waiting")
    await bot.wrote("waiting")
    bot.fake.failing = -1                                   # WeChat down, and it stays down for a day
    await bot.store.outbox.add("waiting", ["您的办件已办结，可以来领取了。"], bot.clock.now())
    [item] = await bot.store.outbox.waiting("waiting")
    await bot.store.outbox.failed(item.id, "WeChat API error -1: system busy", None, bot.clock.now())
    bot.fake.failing = 0                                    # back again
    lead = await staff_client(bot, aiohttp_client, "qinghe-lead", "town-center", "supervisor")
    page = await (await lead.get("/console/dashboard")).text()
    assert case.number in page and "微信出故障" in page and "/resend" not in page   # supervisors only read
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    page = await (await clerk.get("/console/dashboard")).text()
    assert "全部重新发送" in page and f"/console/outbox/{item.id}/resend" in page
    resp = await clerk.post(f"/console/outbox/{item.id}/resend", data={"_csrf": csrf_of(page)})
    assert resp.status == 200 and "已重新发送" in await resp.text()
    assert await notices_to(bot, "waiting", 1) == ["您的办件已办结，可以来领取了。"]
    again = await clerk.post("/console/outbox/resend", data={"_csrf": csrf_of(page), "since": "明天"})
    assert again.status == 400                              # a time it cannot read changes nothing
    assert [line.action for line in await bot.store.audit.lines(centers=None, action="notice_resent")] == [
        "notice_resent"]


async def test_a_case_for_a_situation_shows_it_and_offers_its_own_materials_to_tick(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    await bot.wrote("resident-1")
    case = await bot.app[CASE_DESK].open(kind="proxy", openid="resident-1", guide="残疾人证办理", center="qinghe-dongcun",
                                         data={"name": "王秀英", "phone": "13800001234", "situation": "补办（遗失）"})
    await _move(clerk, case, to="accepted", **{"from": "submitted"})
    page = await (await clerk.get(f"/console/cases/{case.number}")).text()
    assert "<th>情形</th><td>补办（遗失）</td>" in page
    assert 'value="居民身份证"' in page and 'value="残疾人证申请表（评定表）"' not in page
    assert 'value="残疾人证申请表"' not in page   # the guide's whole list is for 新办, not for a lost card


async def test_a_proxy_case_without_an_id_number_tells_the_clerk_to_check_it_with_the_materials(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    await bot.wrote("resident-2")
    case = await bot.app[CASE_DESK].open(kind="proxy", openid="resident-2", guide="高龄津贴申领", center="qinghe-dongcun",
                                         data={"name": "王建国", "phone": "13912345678", "phone_masked": "139****5678",
                                               "id_number": "", "id_number_masked": ""})
    page = await (await clerk.get(f"/console/cases/{case.number}")).text()
    assert "居民没有填（记不清或不在手边），收材料时看身份证核对" in page
