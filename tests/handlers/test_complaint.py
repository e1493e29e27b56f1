"""投诉 through the real callback: registered with a reply date, the reply pushed back."""

from __future__ import annotations

import asyncio

import pytest

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


@pytest.mark.parametrize("words, office", [("包工头欠了俺半年的工钱一直拖着不给，俺要投诉他", "拖欠工资投诉"),
                                           ("网上买的电动车刚骑一个礼拜就坏了，商家不管，我想投诉", "消费投诉")])
async def test_a_complaint_about_a_matter_handled_elsewhere_names_that_office_and_registers_nothing(bot, words,
                                                                                                     office):
    text = await bot.say("r3", words)
    assert f"您问的“{office}”" in text and "投诉已登记" not in text
    assert "对我们便民服务中心（站）的工作人员或服务不满意，请回复“投诉”" in text
    assert await bot.store.cases.list(centers=None, openid="r3") == []
    assert "发生了什么" in await bot.say("r3", "投诉")      # a complaint about the center is still taken


async def test_a_complaint_about_a_station_is_registered_whatever_else_its_words_sound_like(bot):
    text = await bot.say("r4", "我要投诉东村便民服务站上午九点了还没开门，白跑一趟，回电13912345678")
    assert "投诉已登记" in text
    [case] = await bot.store.cases.list(centers=None, openid="r4")
    assert case.kind == "complaint"
