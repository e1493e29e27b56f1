"""Redis beside the store: dialogs with their idle time, WeChat's retries claimed once, locks and
rate limits shared by workers — and the bot still answering, and honest, when Redis is down."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.store import Dialog, open_store
from bot.store.redis import StateUnavailable
from bot.vault import Vault
from tests.redis_server import ThrowawayRedis
from tests.store.contract import check_unfinished_answers
from tests.support import free_port

NOW = FixedClock().now()


@pytest.fixture
async def store(redis_server, tmp_path):
    opened = await open_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path, Vault.from_env(),
                              redis_url=redis_server.url, dialog_idle=timedelta(minutes=30))
    await opened.state.client.flushdb()
    yield opened
    await opened.close()


async def test_dialogs_live_in_redis_encrypted_and_forgotten_when_idle(store):
    await store.dialogs.set("o-1", Dialog("proxy:phone", {"name": "王秀英", "phone": "13800001234"}), NOW)
    assert await store.dialogs.get("o-1", NOW, timedelta(minutes=30)) == Dialog(
        "proxy:phone", {"name": "王秀英", "phone": "13800001234"})
    raw = await store.state.client.get("frontdesk:dialog:o-1")
    assert "13800001234" not in raw and 60 < await store.state.client.ttl("frontdesk:dialog:o-1") <= 1800
    assert (await store.fetchone("SELECT count(*) AS n FROM dialogs"))["n"] == 0
    assert await store.dialogs.get("o-1", NOW + timedelta(minutes=31), timedelta(minutes=30)) is None
    await store.dialogs.set("o-2", Dialog("booking:day", {}), NOW)
    await store.dialogs.clear("o-2")
    assert await store.dialogs.get("o-2", NOW, timedelta(minutes=30)) is None


async def test_a_retry_is_claimed_once_and_taken_over_only_when_abandoned(store):
    claims = await asyncio.gather(*(store.messages.claim("msg-1", "o-1", NOW) for _ in range(10)))
    assert sorted(claims) == [False] * 9 + [True]
    assert await store.messages.reply_for("msg-1") == (True, None)
    assert not await store.messages.take_over("msg-1", NOW + timedelta(seconds=5), NOW - timedelta(seconds=10))
    assert await store.messages.take_over("msg-1", NOW + timedelta(seconds=30), NOW + timedelta(seconds=20))
    await store.messages.answered("msg-1", '{"text": "好的"}')
    assert await store.messages.reply_for("msg-1") == (True, '{"text": "好的"}')
    assert not await store.messages.take_over("msg-1", NOW + timedelta(hours=1), NOW + timedelta(minutes=59))
    assert await store.messages.reply_for("never-seen") == (False, None)


async def test_an_answer_never_recorded_is_found_in_redis_once_its_claim_is_stale(store):
    await check_unfinished_answers(store)
    assert await store.state.client.zcard("frontdesk:unfinished") == 0
    assert (await store.fetchone("SELECT count(*) AS n FROM processed_messages"))["n"] == 0   # all in Redis


async def test_locks_and_rate_limits_are_shared(store, redis_server, tmp_path):
    other = await open_store(f"sqlite:///{tmp_path / 'other.db'}", tmp_path, Vault.from_env(),
                             redis_url=redis_server.url)   # another worker, same Redis
    try:
        inside, most = 0, 0

        async def visit(s):
            nonlocal inside, most
            async with s.hold("dialog:o-1"):
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(visit(s) for s in (store, other) * 3))
        assert most == 1
        allowed = [await s.allow("messages:o-1", 5, NOW) for s in (store, other) * 4]
        assert allowed == [True] * 5 + [False] * 3
        assert await store.allow("messages:o-1", 5, NOW + timedelta(minutes=1))   # a new minute
    finally:
        await other.close()


async def test_without_redis_locks_fall_back_and_dialogs_say_so(tmp_path):
    down = await open_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path, Vault.from_env(),
                            redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout=0.2)
    try:
        async with down.hold("dialog:o-1"):   # held through the database instead
            pass
        assert await down.allow("messages:o-1", 1, NOW) and await down.allow("messages:o-1", 1, NOW)
        assert await down.messages.claim("msg-1", "o-1", NOW) is True     # claimed in the database
        assert await down.messages.claim("msg-1", "o-1", NOW) is False
        with pytest.raises(StateUnavailable):
            await down.dialogs.get("o-1", NOW, timedelta(minutes=30))
    finally:
        await down.close()


async def test_an_answer_claimed_while_redis_was_down_is_finished_through_the_database(store, tmp_path):
    down = await open_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path, Vault.from_env(),
                            redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout=0.2)
    try:
        assert await down.messages.claim("msg-outage", "o-1", NOW, "sealed question")   # in the database
        await down.messages.answered("msg-outage", '{"text": "请稍等"}', final=False)
    finally:
        await down.close()
    # Redis is back: the worker that finds it stale resumes and finishes it where it was claimed
    assert await store.messages.unfinished(NOW + timedelta(minutes=1)) == [("msg-outage", "sealed question")]
    assert await store.messages.resume("msg-outage", NOW + timedelta(minutes=2), NOW + timedelta(minutes=1))
    await store.messages.finished("msg-outage")
    assert await store.messages.unfinished(NOW + timedelta(days=1)) == []
    assert not await store.state.client.exists("frontdesk:message:msg-outage")


STAMP, KEEP = str(int(NOW.timestamp())), timedelta(seconds=600)


async def test_callback_nonces_live_in_redis_for_their_window(store, redis_server, tmp_path):
    other = await open_store(f"sqlite:///{tmp_path / 'other.db'}", tmp_path, Vault.from_env(),
                             redis_url=redis_server.url)   # another worker, same Redis
    try:
        assert await store.nonces.admit(STAMP, "4711", "digest-a", NOW, KEEP)
        assert await other.nonces.admit(STAMP, "4711", "digest-a", NOW, KEEP)        # WeChat's retry, elsewhere
        assert not await other.nonces.admit(STAMP, "4711", "digest-b", NOW, KEEP)    # another body, elsewhere
        assert 590 < await store.state.client.ttl(f"frontdesk:nonce:{STAMP}:4711") <= 600
        assert (await store.fetchone("SELECT count(*) AS n FROM callback_nonces"))["n"] == 0
    finally:
        await other.close()


async def test_callback_nonces_fall_back_to_the_database_and_are_still_known_after(redis_server, tmp_path):
    own = ThrowawayRedis(redis_server.program)   # a Redis of this test's own, to stop and start again
    store = await open_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path, Vault.from_env(),
                             redis_url=own.url, redis_timeout=0.5)
    try:
        assert await store.nonces.admit(STAMP, "4711", "digest-a", NOW, KEEP)          # Redis is down
        assert not await store.nonces.admit(STAMP, "4711", "digest-b", NOW, KEEP)
        assert dict(await store.fetchone("SELECT digest FROM callback_nonces WHERE nonce='4711'")) == {"digest": "digest-a"}
        own.start()
        await store.state.client.ping()
        later = NOW + timedelta(seconds=30)
        assert not await store.nonces.admit(STAMP, "4711", "digest-b", later, KEEP)   # Redis is back
        assert await store.nonces.admit(STAMP, "4711", "digest-a", later, KEEP)
        assert await store.nonces.admit(STAMP, "4712", "digest-b", later, KEEP)
        assert await store.state.client.exists(f"frontdesk:nonce:{STAMP}:4712")
    finally:
        await store.close()
        own.stop()
