"""Booking by chat through /wechat: bind, book, limits, one step back, cancel and reschedule."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.clock import TZ


def _code(text: str) -> str:
    return re.search(r"预约码：(\d{6})", text).group(1)


async def _book_card(bot, openid: str = "r1") -> str:
    """预约 社保卡 as an unbound resident: town center, today, first free time."""
    text = await bot.say(openid, "我想预约办社保卡")
    assert "1. 清河镇便民服务中心" in text and "2. 石桥镇便民服务中心" in text and "绑定" in text
    text = await bot.say(openid, "1")
    assert "11月24日 周二（今天）" in text and "余" in text
    text = await bot.say(openid, "1")
    assert "1. 上午11:00" in text and "下午12:00" in text   # 12:00-14:00: 午间不打烊
    text = await bot.say(openid, "1")
    assert "社会保障卡申领" in text and "11:00" in text and "确认" in text
    return await bot.say(openid, "确认")


async def test_a_resident_books_by_chat_and_gets_everything_at_once(bot):
    done = await _book_card(bot)
    assert "预约成功" in done
    code = _code(done)
    assert "11月24日 周二（今天） 11:00" in done
    assert "清河镇人民路88号" in done and "号社保医保窗口" in done
    assert "居民身份证" in done and "一次带齐" in done   # the full material list (一次性告知)
    [booking] = await bot.store.bookings.upcoming("r1", bot.clock.now())
    assert booking.code == code and booking.center == "town-center" and booking.window in (1, 2)
    text = await bot.say("r1", "我的预约")
    assert code in text and "社会保障卡申领" in text and "11:00" in text


async def test_a_village_resident_is_booked_where_the_service_is_decided(bot):
    text = await bot.say("r1", "绑定 东村")
    assert "已绑定到清河镇东村便民服务站" in text
    text = await bot.say("r1", "预约办老年人优待证")   # decided at the town, only accepted in the village
    assert "由清河镇便民服务中心审批办理" in text and "东村便民服务站只能代收材料" in text
    # a 承诺件 of five working days: the prompt quotes the guide's own time limit, never "on the spot"
    assert "承诺5个工作日内办结" in text and "当场" not in text
    assert "预约地点：清河镇便民服务中心" in text and "1. 11月24日" in text
    await bot.say("r1", "取消")
    text = await bot.say("r1", "预约高龄津贴")   # decided at the county: the village takes it in, nearest first
    assert "1. 清河镇东村便民服务站" in text and "2. 清河镇便民服务中心" in text


async def test_a_service_that_is_not_booked_says_why_and_what_instead(bot):
    text = await bot.say("r1", "预约临时救助")
    assert "临时救助申请】不用预约" in text and "代办" in text


async def test_a_wrong_answer_reasks_and_back_goes_one_step(bot):
    text = await bot.say("r1", "预约")
    assert "要办什么事" in text
    text = await bot.say("r1", "社保卡")
    assert "1. 清河镇便民服务中心" in text
    text = await bot.say("r1", "2")
    assert "预约地点：石桥镇便民服务中心" in text
    text = await bot.say("r1", "八十八")
    assert "选日期这一步" in text and "1. 11月24日" in text   # progress kept
    text = await bot.say("r1", "明天")
    assert "11月25日 周三（明天），石桥镇便民服务中心可以约的时间" in text
    text = await bot.say("r1", "返回")
    assert "请选择日期" in text and "石桥镇" in text
    text = await bot.say("r1", "返回")
    assert "1. 清河镇便民服务中心" in text and "2. 石桥镇便民服务中心" in text
    text = await bot.say("r1", "返回")
    assert "要办什么事" in text
    text = await bot.say("r1", "取消")
    assert "退出" in text or "好的" in text
    assert await bot.store.dialogs.get("r1", bot.clock.now(), timedelta(hours=1)) is None


async def test_a_time_can_be_typed_and_limits_are_told_up_front(start_bot):
    bot = await start_bot(booking={"max_active": 2})
    await bot.say("r1", "预约社保卡")
    await bot.say("r1", "1")
    await bot.say("r1", "明天")
    text = await bot.say("r1", "下午两点半")
    assert "11月25日 周三（明天） 14:30" in text
    assert "预约成功" in await bot.say("r1", "确认")
    text = await bot.say("r1", "我想预约办社保卡")
    assert "您已经约过【社会保障卡申领】" in text and "改约" in text
    await bot.say("r1", "预约老年人优待证")
    for answer in ("1", "1", "1"):
        await bot.say("r1", answer)
    assert "预约成功" in await bot.say("r1", "确认")
    text = await bot.say("r1", "预约残疾人证")
    assert "最多只能同时约2个" in text


async def test_cancel_frees_the_place_and_reschedule_moves_it(bot):
    bot.clock.at = datetime(2026, 11, 24, 15, 30, tzinfo=TZ)   # the village's last place today: 16:30
    await bot.store.residents.bind("r1", "qinghe-dongcun", bot.clock.now())
    await bot.store.residents.bind("r2", "qinghe-dongcun", bot.clock.now())
    for text in ("预约高龄津贴", "1", "1", "1"):
        await bot.say("r1", text)
    code = _code(await bot.say("r1", "确认"))
    start = datetime(2026, 11, 24, 16, 30, tzinfo=TZ)
    for text in ("预约高龄津贴", "1"):
        reply = await bot.say("r2", text)
    assert "11月24日" not in reply                        # today is full for r2
    await bot.say("r2", "取消")
    text = await bot.say("r1", "取消预约")
    assert code in text and "确认" in text
    text = await bot.say("r1", "确认")
    assert "名额已让给其他群众" in text
    assert await bot.store.bookings.taken("qinghe-dongcun", start.date()) == {}
    for text in ("预约高龄津贴", "1"):
        reply = await bot.say("r2", text)
    assert "1. 11月24日 周二（今天）" in reply
    # r2 books today 16:30, then moves it to tomorrow
    await bot.say("r2", "1")
    await bot.say("r2", "1")
    old = _code(await bot.say("r2", "确认"))
    text = await bot.say("r2", "改约")
    assert "帮您改约" in text
    await bot.say("r2", "明天")
    await bot.say("r2", "9:00")
    text = await bot.say("r2", "确认")
    assert "改约成功" in text
    new = _code(text)
    assert (await bot.store.bookings.get(old)).status == "cancelled"
    [left] = await bot.store.bookings.upcoming("r2", bot.clock.now())
    assert left.code == new and left.start == datetime(2026, 11, 25, 9, 0, tzinfo=TZ)
    assert await bot.store.bookings.taken("qinghe-dongcun", start.date()) == {}


async def test_a_day_closed_while_the_resident_confirms_is_not_booked_and_other_days_are_offered(bot):
    await bot.say("r1", "我想预约办社保卡")
    await bot.say("r1", "1")                       # 清河镇便民服务中心
    await bot.say("r1", "2")                       # tomorrow, 11月25日
    text = await bot.say("r1", "1")
    assert "11月25日" in text and "确认" in text
    token = "token-clerk"
    await bot.store.staff.add(name="clerk", center="town-center", role="clerk", token=token, now=bot.clock.now())
    resp = await bot.client.post("/api/centers/town-center/closures", json={"date": "2026-11-25", "reason": "停电检修"},
                                 headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    text = await bot.say("r1", "确认")
    assert "11月25日 周三（明天）清河镇便民服务中心临时暂停办公（停电检修）" in text and "请换一天" in text
    assert "11月25日" not in text.split("请换一天", 1)[1] and "1. 11月24日" in text
    assert await bot.store.bookings.upcoming("r1", bot.clock.now()) == []
