"""The bot with Redis beside its store, through the real callback: dialogs kept in Redis, a
resident who floods the bot asked to slow down, and Redis down — guide questions still answered,
a dialog step told plainly that it cannot continue."""

from __future__ import annotations

from bot.texts import Texts
from tests.support import free_port

UNAVAILABLE = Texts().chat("dialog_unavailable")


async def test_a_booking_dialog_is_kept_in_redis(start_bot, redis_server):
    bot = await start_bot(redis={"url": redis_server.url})
    assert "1. 清河镇便民服务中心" in await bot.say("o-redis", "我想预约办社保卡")
    assert await bot.store.state.client.exists("frontdesk:dialog:o-redis")
    assert (await bot.store.fetchone("SELECT count(*) AS n FROM dialogs"))["n"] == 0
    assert "余" in await bot.say("o-redis", "1")
    await bot.say("o-redis", "1")
    await bot.say("o-redis", "1")
    assert "预约成功" in await bot.say("o-redis", "确认")


async def test_a_resident_flooding_the_bot_is_asked_to_slow_down(start_bot):
    bot = await start_bot(dialog={"max_messages_per_minute": 5})
    replies = [await bot.say("o-fast", "你好") for _ in range(6)]
    assert Texts().chat("too_fast") not in replies[:5] and replies[5] == Texts().chat("too_fast")
    assert await bot.say("o-calm", "你好") != Texts().chat("too_fast")   # others are not slowed


async def test_with_redis_down_guides_are_answered_and_steps_say_they_cannot_continue(start_bot):
    bot = await start_bot(redis={"url": f"redis://127.0.0.1:{free_port()}/0", "timeout_seconds": 0.2})
    answer = await bot.say("o-down", "老年人优待证怎么办")
    assert "老年人优待证" in answer and "居民身份证" in answer
    assert await bot.say("o-down", "我想预约办社保卡") == UNAVAILABLE   # a booking needs its dialog
    assert await bot.say("o-down", "1") == UNAVAILABLE                  # a step, perhaps: said so
    assert "工作人员" in await bot.say("o-down", "转人工")                # asked in so many words: done
    assert len(await bot.store.handoffs.waiting()) == 1
