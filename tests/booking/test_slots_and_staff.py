"""Slots from the national calendar and 8+4 shifts, the last place under 50 concurrent
confirmations, no-show pauses, reminders, closing a day, home visits and the staff API."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime

from bot.api import APPOINTMENTS
from bot.clock import TZ
from tests.support import notices_to


def _appointments(bot):
    return bot.app[APPOINTMENTS]


def _guide(bot, name):
    return bot.app[APPOINTMENTS].library.knowledge.guide(name)


def _center(bot, cid):
    return bot.app[APPOINTMENTS].centers.get(cid)


async def _staff(bot, name: str, center: str | None, role: str = "clerk") -> dict[str, str]:
    token = f"token-{name}"
    await bot.store.staff.add(name=name, center=center, role=role, token=token, now=bot.clock.now())
    return {"Authorization": f"Bearer {token}"}


async def test_days_skip_the_national_holiday_and_open_on_the_make_up_day(bot):
    bot.clock.at = datetime(2026, 9, 30, 10, 0, tzinfo=TZ)   # Wednesday before National Day
    days = [d for d, _ in await _appointments(bot).free_days(_center(bot, "town-center"), _guide(bot, "社会保障卡申领"))]
    assert date(2026, 10, 1) not in days and date(2026, 10, 3) not in days and date(2026, 10, 7) not in days
    assert date(2026, 10, 10) in days                  # Saturday, a make-up working day (调休)
    assert date(2026, 10, 11) in days                  # an ordinary Sunday: the weekend half-day
    assert days[-1] == date(2026, 10, 15)              # seven working days ahead: 8, 9, 10, 12, 13, 14, 15
    make_up = await _appointments(bot).free_times(_center(bot, "town-center"), _guide(bot, "社会保障卡申领"),
                                                  date(2026, 10, 10))
    assert make_up[0].start.hour == 7 and make_up[0].start.minute == 30   # a working day: early shift too


async def test_capacity_per_slot_is_the_windows_that_handle_the_service_in_each_shift(bot):
    appointments = _appointments(bot)
    town, card = _center(bot, "town-center"), _guide(bot, "社会保障卡申领")
    times = {f.start.strftime("%H:%M"): f.windows for f in
             await appointments.free_times(town, card, date(2026, 11, 25))}
    assert times["07:30"] == (6,)            # early shift: the general window only
    assert times["09:00"] == (1, 2, 6)       # regular hours: both 社保 windows and the general one
    assert times["12:30"] == (1, 6)          # 午间不打烊: windows 1 and 6
    assert times["18:00"] == (6,)            # 延时服务
    assert "18:30" not in times and "11:45" not in times
    saturday = await appointments.free_times(town, card, date(2026, 11, 28))
    assert [f.start.strftime("%H:%M") for f in saturday] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert all(f.windows == (6,) for f in saturday)
    village = await appointments.free_times(_center(bot, "qinghe-dongcun"), card, date(2026, 11, 28))
    assert village == []                     # the village station has no weekend shift


async def test_fifty_residents_confirming_the_last_place_at_once_one_gets_it(bot):
    bot.clock.at = datetime(2026, 11, 24, 15, 30, tzinfo=TZ)   # the village's last place today: 16:30
    residents = [f"r{i:02d}" for i in range(50)]
    for openid in residents:
        await bot.store.residents.bind(openid, "qinghe-dongcun", bot.clock.now())
        for text in ("预约高龄津贴", "1", "1"):
            await bot.say(openid, text)
        assert "16:30" in await bot.say(openid, "1")
    replies = await asyncio.gather(*(bot.say(openid, "确认") for openid in residents))
    won = [r for r in replies if "预约成功" in r]
    lost = [r for r in replies if "刚刚被别人约满了" in r]
    assert len(won) == 1 and len(lost) == 49
    assert all("11月24日 周二（今天），清河镇东村便民服务站" not in r for r in lost)   # other days offered
    taken = await bot.store.bookings.taken("qinghe-dongcun", date(2026, 11, 24))
    assert taken == {datetime(2026, 11, 24, 16, 30, tzinfo=TZ): {1}}
    rows = await bot.store.fetchall("SELECT count(*) AS n FROM bookings WHERE status='booked'")
    assert rows[0]["n"] == 1


async def test_after_two_no_shows_booking_pauses_and_the_resident_is_told_why(start_bot):
    bot = await start_bot(booking={"no_show_limit": 2, "no_show_pause_days": 30})
    headers = await _staff(bot, "clerk", "town-center")
    appointments = _appointments(bot)
    town = _center(bot, "town-center")
    for name, day in (("社会保障卡申领", 25), ("老年人优待证办理", 26)):
        b = await appointments.book(openid="r1", guide=_guide(bot, name), center=town,
                                    start=datetime(2026, 11, day, 9, 0, tzinfo=TZ))
        resp = await bot.client.post(f"/api/appointments/{b.code}/noshow", headers=headers)
        assert resp.status == 409 and (await resp.json())["error"] == "too_early"
        bot.clock.at = datetime(2026, 11, day, 9, 40, tzinfo=TZ)
        resp = await bot.client.post(f"/api/appointments/{b.code}/noshow", headers=headers)
        assert resp.status == 200 and (await resp.json())["status"] == "no_show"
        resp = await bot.client.post(f"/api/appointments/{b.code}/noshow", headers=headers)
        assert resp.status == 409                                     # a double click changes nothing
    text = await bot.say("r1", "预约残疾人证")
    assert "2次预约没有到场" in text and "暂停在线预约到12月26日" in text
    bot.clock.at = datetime(2026, 12, 26, 9, 0, tzinfo=TZ)
    assert "暂停" not in await bot.say("r1", "预约残疾人证")


async def test_the_reminder_goes_out_once_the_day_before(bot):
    appointments = _appointments(bot)
    town = _center(bot, "town-center")
    await bot.wrote("r1")
    tomorrow = await appointments.book(openid="r1", guide=_guide(bot, "社会保障卡申领"), center=town,
                                       start=datetime(2026, 11, 25, 9, 0, tzinfo=TZ))
    assert tomorrow.remind_at == datetime(2026, 11, 24, 16, 0, tzinfo=TZ)
    bot.clock.at = datetime(2026, 11, 24, 15, 59, tzinfo=TZ)
    assert await appointments.send_reminders() == 0
    bot.clock.at = datetime(2026, 11, 24, 16, 0, tzinfo=TZ)
    assert await appointments.send_reminders() == 1
    assert await appointments.send_reminders() == 0                      # once
    [notice] = await notices_to(bot, "r1", 1)
    assert "明天 09:00" in notice and tomorrow.code in notice and "居民身份证" in notice
    bot.clock.at = datetime(2026, 11, 24, 19, 0, tzinfo=TZ)              # booked after the reminder hour
    late = await appointments.book(openid="r1", guide=_guide(bot, "老年人优待证办理"), center=town,
                                   start=datetime(2026, 11, 25, 10, 0, tzinfo=TZ))
    assert late.remind_at is None
    cancelled = await appointments.book(openid="r1", guide=_guide(bot, "残疾人证办理"), center=town,
                                        start=datetime(2026, 11, 27, 10, 0, tzinfo=TZ))
    await appointments.cancel(cancelled)
    bot.clock.at = datetime(2026, 11, 26, 16, 5, tzinfo=TZ)
    assert await appointments.send_reminders() == 0                      # a cancelled booking is not reminded


async def test_closing_a_day_cancels_its_bookings_and_tells_each_resident(bot):
    appointments = _appointments(bot)
    town, card = _center(bot, "town-center"), _guide(bot, "社会保障卡申领")
    for openid in ("r1", "r2"):
        await bot.wrote(openid)
        await appointments.book(openid=openid, guide=card, center=town, start=datetime(2026, 11, 26, 9, 0, tzinfo=TZ))
    village_clerk = await _staff(bot, "village", "qinghe-dongcun")
    body = {"date": "2026-11-26", "reason": "全员业务培训"}
    resp = await bot.client.post("/api/centers/town-center/closures", json=body, headers=village_clerk)
    assert resp.status == 403
    clerk = await _staff(bot, "clerk", "town-center")
    resp = await bot.client.post("/api/centers/town-center/closures", json={"date": "2026-11-26"}, headers=clerk)
    assert resp.status == 400                                            # a closure needs its reason
    resp = await bot.client.post("/api/centers/town-center/closures", json=body, headers=clerk)
    assert resp.status == 200 and len((await resp.json())["cancelled"]) == 2
    resp = await bot.client.post("/api/centers/town-center/closures", json=body, headers=clerk)
    assert resp.status == 409
    for openid in ("r1", "r2"):
        [notice] = await notices_to(bot, openid, 1)
        assert "11月26日临时闭厅（全员业务培训）" in notice and "重新约" in notice
    days = [d for d, _ in await appointments.free_days(town, card)]
    assert date(2026, 11, 26) not in days and date(2026, 11, 25) in days
    bot.clock.at = datetime(2026, 11, 26, 10, 0, tzinfo=TZ)
    assert "临时闭厅" in await bot.say("r3", "清河镇便民服务中心几点上班")


async def test_staff_see_the_days_appointments_and_check_residents_in(bot):
    appointments = _appointments(bot)
    b = await appointments.book(openid="r1", guide=_guide(bot, "社会保障卡申领"), center=_center(bot, "town-center"),
                                start=datetime(2026, 11, 24, 14, 0, tzinfo=TZ))
    other = await _staff(bot, "shiqiao", "shiqiao")
    resp = await bot.client.get("/api/appointments?center=town-center", headers=other)
    assert resp.status == 403
    resp = await bot.client.post(f"/api/appointments/{b.code}/checkin", headers=other)
    assert resp.status == 403
    clerk = await _staff(bot, "clerk", "town-center")
    resp = await bot.client.get("/api/appointments?center=town-center&date=2026-11-24", headers=clerk)
    [row] = (await resp.json())["appointments"]
    assert row["code"] == b.code and row["status"] == "booked" and row["start"].startswith("2026-11-24T14:00")
    resp = await bot.client.post(f"/api/appointments/{b.code}/checkin", headers=clerk)
    assert resp.status == 200 and (await resp.json())["status"] == "checked_in"
    resp = await bot.client.post(f"/api/appointments/{b.code}/checkin", headers=clerk)
    assert resp.status == 409
    resp = await bot.client.get("/api/appointments?date=tomorrow", headers=clerk)
    assert resp.status == 400


async def test_a_home_visit_is_requested_by_chat_and_its_time_is_pushed(bot):
    text = await bot.say("r1", "我妈瘫在床上出不了门，能不能约个时间请工作人员上门给她做养老金认证")
    assert "养老金领取资格认证】可以上门办理" in text
    text = await bot.say("r1", "3")
    assert "详细地址" in text
    await bot.say("r1", "清河镇东村3组12号")
    text = await bot.say("r1", "13800001234")
    assert "1. 11月25日 周三（明天）上午" in text
    text = await bot.say("r1", "1 4")
    assert "138****1234" in text and "11月25日 周三（明天）上午、11月26日 周四（后天）下午" in text
    text = await bot.say("r1", "确认")
    number = re.search(r"编号 (S\d{8}-\d{4})", text).group(1)
    case = await bot.store.cases.get(number)
    assert case.kind == "home_visit" and case.data["address"] == "清河镇东村3组12号"
    clerk = await _staff(bot, "clerk", "town-center")
    url = f"/api/cases/{number}/transitions"
    resp = await bot.client.post(url, json={"to": "accepted"}, headers=clerk)
    assert resp.status == 409 and "上门时间" in (await resp.json())["message"]
    resp = await bot.client.post(url, json={"to": "accepted", "visit_at": "2026-11-25T09:30"}, headers=clerk)
    assert resp.status == 200
    [notice] = await notices_to(bot, "r1", 1)
    assert "明天上午09:30" in notice and number in notice
    assert (await bot.store.cases.get(number)).deadline == date(2026, 11, 25)


async def test_back_goes_one_step_back_in_a_home_visit_request(bot):
    await bot.say("r1", "我妈瘫在床上出不了门，能不能约个时间请工作人员上门给她做养老金认证")
    await bot.say("r1", "3")
    text = await bot.say("r1", "清河镇东村3组12号")
    assert "联系电话" in text and "返回" in text
    text = await bot.say("r1", "返回")
    assert "详细地址" in text                                   # the step before again
    await bot.say("r1", "清河镇东村3组14号")                     # answered anew
    await bot.say("r1", "13800001234")
    text = await bot.say("r1", "1")
    assert "清河镇东村3组14号" in text and "确认" in text
    text = await bot.say("r1", "返回")
    assert "哪些时间家里有人" in text
    await bot.say("r1", "2")
    number = re.search(r"编号 (S\d{8}-\d{4})", await bot.say("r1", "确认")).group(1)
    assert (await bot.store.cases.get(number)).data["address"] == "清河镇东村3组14号"
    await bot.say("r2", "预约上门办养老金认证")
    text = await bot.say("r2", "返回")                            # from the first step: back to the service
    assert "要办什么事" in text
