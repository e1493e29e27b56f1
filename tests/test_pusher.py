"""The outbox drains through the WeChat API with backoff, and gives up on the undeliverable.

These drive the app's own pusher task; the fixed clock decides when a retry is due.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.app import PUSHER
from bot.pusher import LONGEST_WAIT, RETRY_FOR, UNCERTAIN_WAIT
from bot.wechat.simulator import event_xml
from tests.console.support import staff_client


@pytest.fixture
async def bot(start_bot):
    bot = await start_bot(wechat={"notice_template_id": "TPL-notice"})
    await bot.wrote("r1")  # r1 wrote: inside the 48-hour window
    return bot


async def _outbox(bot):
    return [dict(r) for r in await bot.store.fetchall("SELECT * FROM outbox ORDER BY id")]


async def _until(condition, seconds: float = 5.0):
    for _ in range(int(seconds / 0.02)):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def _attempts(bot, n: int) -> None:
    async def reached():
        rows = await _outbox(bot)
        return rows and rows[-1]["attempts"] >= n
    bot.app[PUSHER].wake()
    await _until(reached)


async def test_failed_push_is_retried_after_backoff(bot):
    bot.fake.fail_next = [45009]  # WeChat: too many requests
    await bot.store.outbox.add("r1", ["您的材料已收到。"], bot.clock.now())
    await _attempts(bot, 1)
    [row] = await _outbox(bot)
    assert row["sent_at"] is None and "45009" in row["last_error"]
    await asyncio.sleep(0.6)  # a pusher round passes: not yet due
    assert bot.fake.texts_to("r1") == []
    bot.clock.advance(seconds=3)
    await _attempts(bot, 2)
    assert bot.fake.texts_to("r1") == ["您的材料已收到。"]


async def test_expired_token_is_refreshed_once(bot):
    await bot.store.outbox.add("r1", ["第一条"], bot.clock.now())
    await _attempts(bot, 1)
    bot.clock.advance(minutes=5)
    bot.fake.expire_tokens()  # WeChat invalidated the token (40001)
    await bot.store.outbox.add("r1", ["第二条"], bot.clock.now())
    await _attempts(bot, 1)
    assert bot.fake.texts_to("r1") == ["第一条", "第二条"]
    assert bot.fake.token_fetches == 2


async def test_undeliverable_push_is_dead_lettered(bot):
    bot.fake.fail_next = [43004]  # the resident no longer follows the account
    await bot.store.outbox.add("r1", ["通知"], bot.clock.now())
    await _attempts(bot, 1)
    [row] = await _outbox(bot)
    assert row["dead_at"] and row["sent_at"] is None


async def _row(bot) -> dict:
    [row] = await _outbox(bot)
    return row


async def test_a_day_of_wechat_errors_is_retried_then_dead_lettered(bot):
    """WeChat answers -1 for a whole day: the notice is tried again and again, the waits growing
    to at most half an hour, and it is given up only when it is a day old."""
    bot.fake.failing = -1
    written = bot.clock.now()
    await bot.store.outbox.add("r1", ["您的办件已办结。"], written)
    waits = []
    for attempt in range(1, 200):
        await _attempts(bot, attempt)
        row = await _row(bot)
        if row["dead_at"]:
            break
        next_at = datetime.fromisoformat(row["next_at"])
        waits.append(next_at - bot.clock.now())
        bot.clock.at = next_at
    assert row["dead_at"] and row["sent_at"] is None and "-1" in row["last_error"]
    assert datetime.fromisoformat(row["dead_at"]) == written + RETRY_FOR   # not an hour sooner
    assert waits[:3] == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    assert max(waits) == LONGEST_WAIT and 50 < len(waits) < 70
    assert bot.fake.texts_to("r1") == []


async def test_a_wechat_outage_of_ninety_seconds_delays_notices_and_loses_none(bot):
    residents = [f"r{n}" for n in range(1, 6)]
    for openid in residents:
        await bot.wrote(openid)
        await bot.store.outbox.add(openid, [f"{openid} 您的办件已受理。"], bot.clock.now())
    bot.fake.failing = -1
    for _ in range(9):                        # 90 s of errors
        bot.app[PUSHER].wake()
        await asyncio.sleep(0.05)
        bot.clock.advance(seconds=10)
    bot.fake.failing = 0                      # WeChat is back
    for _ in range(100):
        bot.app[PUSHER].wake()
        await asyncio.sleep(0.05)
        if await bot.store.outbox.pending_count() == 0:
            break
        bot.clock.advance(seconds=30)
    for openid in residents:
        assert bot.fake.texts_to(openid) == [f"{openid} 您的办件已受理。"]
    assert await bot.store.outbox.dead() == []


async def test_a_send_that_timed_out_is_not_sent_again_at_once(start_bot):
    """WeChat slower than our timeout may still have delivered the notice: trying again a
    second later would make it arrive twice; the next try waits several minutes."""
    bot = await start_bot(wechat={"api_timeout_seconds": 0.2})
    await bot.wrote("r1")
    bot.fake.latency = 0.5
    await bot.store.outbox.add("r1", ["您的办件已受理。"], bot.clock.now())
    await _attempts(bot, 1)
    row = await _row(bot)
    assert row["sent_at"] is None and datetime.fromisoformat(row["next_at"]) - bot.clock.now() == UNCERTAIN_WAIT
    bot.fake.latency = 0
    bot.clock.advance(minutes=4)
    bot.app[PUSHER].wake()
    await asyncio.sleep(0.8)
    assert len(bot.fake.texts_to("r1")) == 1          # the slow one got through; no second copy yet
    assert (await _row(bot))["attempts"] == 1


async def test_outside_the_48_hour_window_a_template_message_is_sent(bot):
    bot.clock.advance(hours=49)
    await bot.store.outbox.add("r1", ["您的办件已办结。"], bot.clock.now())
    await _attempts(bot, 1)
    [sent] = bot.fake.sent
    assert sent["kind"] == "template" and sent["template_id"] == "TPL-notice"
    assert sent["data"] == {"content": {"value": "您的办件已办结。"}}


async def test_window_closed_early_falls_back_to_the_template(bot):
    bot.fake.fail_next = [45015]  # WeChat: the customer-service window has closed
    await bot.store.outbox.add("r1", ["您的办件已受理。"], bot.clock.now())
    await _attempts(bot, 1)
    [row] = await _outbox(bot)
    assert row["sent_at"] and [m["kind"] for m in bot.fake.sent] == ["template"]


async def test_notices_survive_a_restart(start_bot):
    first = await start_bot()
    first.fake.fail_next = [-1]  # WeChat is down when the notice is written
    await first.wrote("r1")
    await first.store.outbox.add("r1", ["您的办件已受理。"], first.clock.now())
    await _attempts(first, 1)
    await first.client.close()  # the server stops with the notice still owed
    assert first.fake.texts_to("r1") == []
    second = await start_bot()
    second.clock.advance(seconds=5)
    await _attempts(second, 2)
    assert second.fake.texts_to("r1") == ["您的办件已受理。"]


async def test_slow_wechat_api_still_delivers_in_order(bot):
    bot.fake.latency = 0.05
    await bot.store.outbox.add("r1", ["第一条", "第二条", "第三条"], bot.clock.now())
    for _ in range(200):
        if len(bot.fake.texts_to("r1")) == 3:
            break
        await asyncio.sleep(0.02)
    assert bot.fake.texts_to("r1") == ["第一条", "第二条", "第三条"]


# -- WeChat's report on a template message (TEMPLATESENDJOBFINISH) -------------------------------

async def _template_sent(bot, text: str = "您的办件已办结。") -> dict:
    """A notice sent as a template message (the resident last wrote over 48 hours ago)."""
    bot.clock.advance(hours=49)
    await bot.store.outbox.add("r1", [text], bot.clock.now())
    await _attempts(bot, 1)
    [row] = await _outbox(bot)
    [sent] = [m for m in bot.fake.sent if m["kind"] == "template"]
    assert row["sent_at"] and row["wechat_msgid"] == str(sent["msgid"])
    return row


async def _report(bot, openid: str, msgid, status: str):
    xml = event_xml(openid, "TEMPLATESENDJOBFINISH", MsgID=msgid, Status=status,
                    create_time=int(bot.clock.timestamp()))
    resp = await bot.post(xml)
    assert resp.status == 200
    return await resp.text()


async def test_a_template_message_the_resident_blocked_is_shown_to_staff_to_call_them(bot, aiohttp_client):
    row = await _template_sent(bot)
    before = await bot.store.residents.get("r1")
    assert await _report(bot, "r1", row["wechat_msgid"], "failed:user block") == "success"
    [after] = await _outbox(bot)
    assert after["delivery"] == "failed:user block" and after["dead_at"]
    [dead] = await bot.store.outbox.dead(open_only=True)
    assert dead["id"] == row["id"]
    admin = await staff_client(bot, aiohttp_client, "county-admin", None, role="admin")
    page = await (await admin.get("/console/dashboard")).text()
    assert "居民拒收了服务通知" in page and "您的办件已办结。" in page
    # the report is not the resident writing: WeChat's 48-hour window stays shut
    assert (await bot.store.residents.get("r1"))["last_message_at"] == before["last_message_at"]


async def test_a_template_message_wechat_could_not_deliver_is_dead_too(bot):
    row = await _template_sent(bot)
    await _report(bot, "r1", row["wechat_msgid"], "failed: system failed")
    [dead] = await bot.store.outbox.dead()
    assert dead["id"] == row["id"] and "system failed" in dead["last_error"]


async def test_a_delivered_template_message_is_only_recorded(bot):
    row = await _template_sent(bot)
    assert await _report(bot, "r1", row["wechat_msgid"], "success") == "success"
    [after] = await _outbox(bot)
    assert after["delivery"] == "success" and after["dead_at"] is None and after["sent_at"] == row["sent_at"]
    assert await bot.store.outbox.dead() == []


async def test_a_report_on_someone_elses_or_no_notice_changes_nothing(bot):
    row = await _template_sent(bot)
    await _report(bot, "r2", row["wechat_msgid"], "failed:user block")      # another resident's msgid
    await _report(bot, "r1", int(row["wechat_msgid"]) + 999, "failed:user block")   # a msgid we never sent
    [after] = await _outbox(bot)
    assert after["delivery"] is None and after["dead_at"] is None
    assert await bot.store.outbox.dead() == []



async def test_a_token_wechat_keeps_refusing_is_replaced_at_most_once_a_minute(bot):
    """WeChat answers 40001 to every send (the token was taken by another system): twenty notices
    do not make twenty token fetches; a minute later one more is tried."""
    await bot.store.outbox.add("r1", ["第一条"], bot.clock.now())
    await _attempts(bot, 1)                      # a token is taken and works
    bot.fake.failing = 40001
    for n in range(2, 22):
        await bot.wrote(f"r{n}")
        await bot.store.outbox.add(f"r{n}", [f"第{n}条"], bot.clock.now())
    bot.clock.advance(seconds=61)                # the first token is a minute old: one refresh allowed
    for _ in range(200):
        bot.app[PUSHER].wake()
        rows = await _outbox(bot)
        if all(r["attempts"] >= 1 for r in rows):
            break
        await asyncio.sleep(0.02)
    assert bot.fake.token_fetches == 2
    bot.clock.advance(seconds=30)
    for _ in range(10):
        bot.app[PUSHER].wake()
        await asyncio.sleep(0.02)
    assert bot.fake.token_fetches == 2           # not again within the minute


async def test_notices_to_several_residents_are_sent_side_by_side_and_each_residents_in_order(bot):
    bot.fake.latency = 0.05          # WeChat taking its time to answer each send
    residents = [f"p{i}" for i in range(6)]
    for openid in residents:
        await bot.wrote(openid)
        await bot.store.outbox.add(openid, [f"{openid} 第{n}条" for n in range(1, 4)], bot.clock.now())
    bot.app[PUSHER].wake()

    async def all_sent():
        return len(bot.fake.sent) >= 3 * len(residents)
    await _until(all_sent, seconds=20)
    assert bot.fake.most_in_flight > 1
    for openid in residents:
        assert bot.fake.texts_to(openid) == [f"{openid} 第{n}条" for n in range(1, 4)]
    assert len(bot.fake.sent) == 3 * len(residents)
