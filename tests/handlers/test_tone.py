"""Kindness where it matters, through /wechat: condolence before the answer when a death is
told, and a calm reply that still helps when a resident insults the bot."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("words, guide", [
    ("殡葬费用减免怎么办", "基本殡葬服务费用减免申请"),
    ("丧葬补助要什么材料", None),
    ("我爸昨天走了 后事要办些啥", None),
    ("母親去世了要辦什麼手續", None),
    ("老人走了 嗯 那个 火化费能减免不", None),
])
async def test_a_death_is_met_with_condolence_before_the_answer(bot, words, guide):
    text = await bot.say("r1", words)
    first, rest = text.split("\n", 1)
    assert first.startswith("请节哀") and len(rest) > 20
    if guide:
        assert f"【{guide}】" in rest


async def test_a_follow_up_after_the_condolence_is_answered_plainly(bot):
    await bot.say("r2", "殡葬费用减免怎么办")
    assert not (await bot.say("r2", "要多久")).startswith("请节哀")


@pytest.mark.parametrize("words", ["你们都是废物", "垃圾系统", "你们干什么吃的", "什么破玩意儿"])
async def test_an_insult_gets_a_calm_reply_that_still_helps(bot, words):
    text = await bot.say("r3", words)
    assert "别着急" in text and "转人工" in text and "进度" in text and "答不上来" not in text


async def test_an_insult_with_a_question_still_gets_the_answer(bot):
    text = await bot.say("r4", "破系统 低保到底咋申请")
    assert text.startswith("给您添堵了") and "【最低生活保障申请】" in text


async def test_a_complaint_with_hard_words_is_still_registered(bot):
    await bot.say("r5", "我要投诉")
    text = await bot.say("r5", "东村站那个人就是个饭桶，让我跑了三趟")
    assert "编号" in text
    assert len(await bot.store.cases.list(centers=None, openid="r5", kind="complaint")) == 1
