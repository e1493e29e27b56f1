"""转人工, greetings, opening hours, and the apology when something breaks."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.app import DESK
from bot.clock import TZ
from bot.wechat.simulator import text_xml


async def test_handoff_in_working_hours_opens_a_conversation_with_the_queue_place(bot):
    await bot.say("r0", "转人工")
    text = await bot.say("r1", "跟机器人说不清楚，给我找个真人工作人员")
    assert "已为您转给" in text and "您前面还有 1 位居民在等候" in text
    [_, waiting] = await bot.store.handoffs.waiting()
    assert waiting["openid"] == "r1" and "真人" in waiting["question"]
    again = await bot.say("r1", "转人工")   # goes to the conversation: once 请稍候, not a second one
    assert "请稍候" in again
    assert len(await bot.store.handoffs.waiting()) == 2


async def test_handoff_after_hours_says_when_staff_will_answer(bot):
    bot.clock.at = datetime(2026, 11, 27, 18, 30, tzinfo=TZ)  # Friday evening
    text = await bot.say("r1", "转人工")
    # the town center opens its weekend half-day on Saturday at 09:00 (8+4 错时服务)
    assert "下班时间" in text and "明天上午09:00" in text and "回复会发到这里" in text
    [conversation] = await bot.store.handoffs.waiting()   # it opens all the same
    assert conversation["openid"] == "r1"


async def test_handoff_to_wechat_customer_service_when_configured(start_bot):
    bot = await start_bot(handoff={"mode": "wechat_kf"})
    reply = await bot.send(text_xml("r1", "转人工", create_time=int(bot.clock.timestamp())))
    assert reply["MsgType"] == "transfer_customer_service"


async def test_greetings(bot):
    assert "想办什么事" in await bot.say("r1", "你好")
    assert "不客气" in await bot.say("r1", "谢谢啊，问题解决了")
    assert "再见" in await bot.say("r1", "好的，拜拜")


async def test_short_latin_greetings_count_only_as_whole_words(bot):
    assert "想办什么事" in await bot.say("r1", "hi")
    assert "想办什么事" in await bot.say("r1", "Hello!")
    typed = await bot.say("r1", "shiyejin")            # typed pinyin for 失业金: "hi" is inside, not said
    assert "失业保险金" in typed and "早上好" not in typed
    test = await bot.say("r1", "this is a test")
    assert "早上好" not in test and "我是测试镇便民服务中心的便民服务前台" not in test


@pytest.mark.parametrize("words", ["帮助", "help", "Help!", "HELP", "你能做什么"])
async def test_asking_for_help_gets_the_help_text(bot, words):
    text = await bot.say("r1", words)
    assert "您可以直接告诉我想办什么事" in text and "转人工" in text
    assert "答不上来" not in text


async def test_help_inside_other_words_is_no_request_for_help(bot):
    text = await bot.say("r1", "helpdesk")
    assert "您可以直接告诉我想办什么事" not in text


async def test_opening_hours(bot):
    text = await bot.say("r1", "镇便民服务中心几点上班？中午休息吗？")
    assert "08:30-12:00" in text and "14:00-17:30" in text and "现在正在办公" in text
    bot.clock.at = datetime(2026, 11, 28, 9, 0, tzinfo=TZ)  # Saturday: the town's weekend half-day (8+4)
    text = await bot.say("r1", "便民服务中心几点上班")
    assert "周末半天" in text and "现在正在办公" in text and "12:00前都可以来" in text
    bot.clock.at = datetime(2026, 11, 29, 13, 0, tzinfo=TZ)  # Sunday afternoon
    text = await bot.say("r1", "便民服务中心几点上班")
    assert "下次开门：明天上午07:30" in text   # Monday's early shift


async def test_opening_hours_follow_the_national_calendar(bot):
    bot.clock.at = datetime(2026, 10, 1, 10, 0, tzinfo=TZ)    # National Day: closed, weekend shift too
    text = await bot.say("r1", "镇便民服务中心几点上班")
    assert "下次开门：周四（10月08日）上午07:30" in text
    bot.clock.at = datetime(2026, 10, 10, 10, 0, tzinfo=TZ)   # a Saturday that is a make-up working day
    text = await bot.say("r1", "镇便民服务中心几点上班")
    assert "现在正在办公" in text


async def test_a_failing_handler_gets_an_apology_and_a_log_line(bot, monkeypatch, caplog):
    from handlers import greeting

    async def broken(turn):
        raise RuntimeError("boom")

    monkeypatch.setitem(bot.app[DESK].root.intents, "greeting", broken)
    text = await bot.say("r1", "你好")
    assert "出了点问题" in text
    assert "failed to answer" in caplog.text and "RuntimeError: boom" in caplog.text
    assert greeting.router.intents["greeting"] is not broken


