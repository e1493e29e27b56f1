"""投诉 through the real callback: registered with a reply date, the reply pushed back."""

from __future__ import annotations

import asyncio

from bot.app import CASE_DESK
from bot.cases.machine import Move


async def test_complaint_that_says_what_happened_is_registered_at_once(bot):
    text = await bot.say("r1", "今天去窗口办事，那个工作人员态度太差了，一直在玩手机，我要投诉")
    assert "投诉已登记" in text and "2026年12月01日" in text  # 5 working days from Tue 24 Nov
    [case] = await bot.store.cases.list(centers=None, openid="r1")
    assert case.kind == "complaint" and "玩手机" in case.data["words"]


async def test_short_complaint_asks_what_happened_then_the_reply_is_pushed(bot):
    assert "发生了什么" in await bot.say("r2", "我要投诉")
    assert "多说几句" in await bot.say("r2", "差")
    registered = await bot.say("r2", "上周三在镇便民服务中心社保窗口，说好三天办好，半个月了没人理")
    number = registered.split("编号 ")[1].split("。")[0]
    desk = bot.app[CASE_DESK]
    await desk.move(number, Move(to="accepted"), actor="staff:test")
    await desk.move(number, Move(to="completed", note="经核实属实，已对窗口人员批评教育，您的社保业务已于今天办结。"),
                    actor="staff:test")
    for _ in range(200):
        if len(bot.fake.texts_to("r2")) >= 2:
            break
        await asyncio.sleep(0.02)
    reply = bot.fake.texts_to("r2")[-1]
    assert number in reply and "批评教育" in reply and "处理结果" in reply
