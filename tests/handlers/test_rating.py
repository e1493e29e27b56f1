"""好差评: asked when a matter ends; a bad rating opens a followup case; satisfaction per center."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import CASE_DESK
from bot.cases.machine import Move
from handlers.rating import parse_score


@pytest.mark.parametrize("text, expected", [
    ("5", (5, "")), ("4分 办得很快", (4, "办得很快")), ("非常不满意，跑了三趟", (1, "跑了三趟")),
    ("基本满意", (3, "")), ("明天下雨吗", None), ("6", None),
])
def test_parse_score(text, expected):
    assert parse_score(text) == expected


async def _finished_case(bot, openid: str, center: str = "village-a"):
    await bot.wrote(openid)
    desk = bot.app[CASE_DESK]
    case = await desk.open(kind="proxy", openid=openid, guide="高龄津贴申领", center=center, data={})
    await desk.move(case.number, Move(to="accepted"), actor="staff:t")
    await desk.move(case.number, Move(to="completed"), actor="staff:t")
    for _ in range(200):
        if len(bot.fake.texts_to(openid)) >= 2:
            break
        await asyncio.sleep(0.02)
    return case


async def test_completion_asks_for_a_rating_and_a_bad_one_opens_a_followup(bot):
    case = await _finished_case(bot, "r1")
    assert "非常满意" in bot.fake.texts_to("r1")[-1]
    reply = await bot.say("r1", "2 等得太久了")
    assert "非常抱歉" in reply and "回访编号 Z" in reply
    followups = await bot.store.cases.list(centers=["village-a"], kind="followup")
    assert len(followups) == 1 and followups[0].data == {"case": case.number, "score": 2, "words": "等得太久了"}
    assert "没有待评价" in await bot.say("r1", "评价 1")  # rated once; a second rating changes nothing
    assert len(await bot.store.cases.list(centers=["village-a"], kind="followup")) == 1


async def test_satisfaction_per_center(bot):
    await _finished_case(bot, "r1")
    await bot.say("r1", "非常满意")
    await _finished_case(bot, "r2")
    await bot.say("r2", "1")
    await _finished_case(bot, "r3", center="village-b")
    await bot.say("r3", "3 还行")
    assert await bot.store.ratings.satisfaction() == {"village-a": (1, 2), "village-b": (1, 1)}


async def test_rating_later_by_word(bot):
    case = await _finished_case(bot, "r4")
    bot.clock.advance(hours=5)  # the rating prompt has expired as a dialog
    ask = await bot.say("r4", "我要评价")
    assert case.number in ask
    assert "谢谢" in await bot.say("r4", "5")
    assert "没有待评价" in await bot.say("r4", "评价")
