"""Redis beside the database, for counties running many workers (`[redis] url`): residents'
dialogs with their idle time as a TTL, the de-duplication keys of WeChat's retries, the nonces
of signed callbacks (against replays), the locks that make a resident's messages and the token
refresh take turns, and rate limits.

Redis is help, not a single point of failure:
- a lock, a de-duplication key or a callback's nonce Redis cannot give is taken from the
  database instead (an advisory lock, a row), so the workers stay correct, only slower;
- a dialog lives only in Redis: when Redis does not answer, `StateUnavailable` says so, and the
  front desk tells the resident that the step cannot continue now, while guide questions are
  still answered;
- a rate limit Redis cannot count lets the message through.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, AsyncIterator, Callable

import redis.asyncio as aioredis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

from bot.errors import StoreError
from bot.store.base import Dialog
from bot.store.db import iso

if TYPE_CHECKING:
    from bot.store.callbacks import CallbackNonces
    from bot.store.repos import ProcessedMessages
    from bot.vault import Vault

log = logging.getLogger(__name__)

PREFIX = "frontdesk:"
MESSAGE_TTL = 2 * 24 * 3600   # WeChat retries within seconds; kept as long as the database kept them
UNFINISHED = PREFIX + "unfinished"   # messages whose answer is not recorded yet, by claim time
LOCK_SECONDS = 60             # how long a message waits for a resident's lock
LOCK_LEASE = 10               # a lock a dead worker held is free again after this; renewed while held

# KEYS: the message's hash, the index of unfinished messages (scored by claim time, in seconds)
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'claimed', ARGV[1])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'pending', ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
# an answer recorded (ARGV[2] = 1: the answer itself), a claim renewed or resumed: each only on a
# message claimed here (0: it was claimed through the database while Redis was away)
_ANSWERED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'reply', ARGV[1])
if ARGV[2] == '1' then
  redis.call('HDEL', KEYS[1], 'pending')
  redis.call('ZREM', KEYS[2], ARGV[3])
end
return 1
"""
_FINISHED = """
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[1], 'pending')
return 1
"""
_RESUME = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[3]) return -1 end
if redis.call('HEXISTS', KEYS[1], 'pending') == 0 then redis.call('ZREM', KEYS[2], ARGV[3]) return 0 end
local claimed = redis.call('HGET', KEYS[1], 'claimed')
if ARGV[2] ~= '' and claimed and claimed >= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'claimed', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
return 1
"""
_TAKE_OVER = """
if redis.call('HEXISTS', KEYS[1], 'reply') == 1 then return 0 end
local claimed = redis.call('HGET', KEYS[1], 'claimed')
if (not claimed) or claimed >= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'claimed', ARGV[1])
return 1
"""
_ADMIT = """
local kept = redis.call('GET', KEYS[1])
if kept then return kept end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
"""


class StateUnavailable(StoreError):
    """Redis does not answer: a resident's dialog cannot be read or kept right now."""


class RedisState:
    def __init__(self, client: aioredis.Redis):
        self.client = client
        self.claim_script = client.register_script(_CLAIM)
        self.take_over_script = client.register_script(_TAKE_OVER)
        self.admit_script = client.register_script(_ADMIT)
        self.answered_script = client.register_script(_ANSWERED)
        self.finished_script = client.register_script(_FINISHED)
        self.resume_script = client.register_script(_RESUME)

    @classmethod
    def open(cls, url: str, timeout: float) -> "RedisState":
        """Connections are made when first used, so a worker starts even while Redis is down."""
        return cls(aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                     decode_responses=True))

    async def close(self) -> None:
        await self.client.aclose()

    @asynccontextmanager
    async def hold(self, key: str, fallback: Callable[[str], AbstractAsyncContextManager[None]]) -> AsyncIterator[None]:
        """`key` held for every worker; through the database when Redis cannot give it."""
        lock = self.client.lock(PREFIX + "lock:" + key, timeout=LOCK_LEASE, blocking_timeout=LOCK_SECONDS)
        try:
            acquired = await lock.acquire()
        except RedisError as e:
            log.warning("Redis lock %s unavailable (%s); holding it through the database", key, e)
            acquired = False
        if not acquired:
            async with fallback(key):
                yield
            return
        renewing = asyncio.create_task(self._renew(lock, key))
        try:
            yield
        finally:
            renewing.cancel()
            try:
                await lock.release()
            except (LockError, RedisError) as e:   # expired meanwhile, or Redis went away: it times out
                log.warning("Redis lock %s not released: %s", key, e)

    @staticmethod
    async def _renew(lock: Lock, key: str) -> None:
        """Keep a lock held as long as its holder works (a dead holder's lock runs out soon)."""
        while True:
            await asyncio.sleep(LOCK_LEASE / 3)
            try:
                await lock.reacquire()
            except (LockError, RedisError) as e:
                log.warning("Redis lock %s not renewed: %s", key, e)
                return

    async def allow(self, key: str, limit: int, now: datetime) -> bool:
        """Count one event for `key` in this minute; False once there were `limit` already."""
        counter = f"{PREFIX}rate:{key}:{now:%Y%m%d%H%M}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                seen, _ = await pipe.incr(counter).expire(counter, 120).execute()
        except RedisError as e:
            log.warning("Redis rate limit unavailable (%s); letting the message through", e)
            return True
        return int(seen) <= limit


class RedisDialogs:
    """Dialogs in Redis, each with the idle timeout as its TTL, encrypted like the database's."""

    def __init__(self, state: RedisState, vault: "Vault | None", idle: timedelta):
        self.client = state.client
        self.vault = vault
        self.idle = idle

    def _key(self, openid: str) -> str:
        return f"{PREFIX}dialog:{openid}"

    async def get(self, openid: str, now: datetime, idle: timedelta) -> Dialog | None:
        try:
            raw = await self.client.get(self._key(openid))
        except RedisError as e:
            raise StateUnavailable(f"dialog of {openid} cannot be read: {e}") from None
        if raw is None:
            return None
        kept = json.loads(self.vault.open(raw) if self.vault is not None else raw)
        if datetime.fromisoformat(kept["at"]) + idle < now:
            await self.clear(openid)
            return None
        return Dialog(state=kept["state"], data=kept["data"])

    async def set(self, openid: str, dialog: Dialog, now: datetime) -> None:
        text = json.dumps({"state": dialog.state, "data": dialog.data, "at": iso(now)}, ensure_ascii=False)
        try:
            await self.client.set(self._key(openid), self.vault.seal(text) if self.vault is not None else text,
                                  ex=max(int(self.idle.total_seconds()), 60))
        except RedisError as e:
            raise StateUnavailable(f"dialog of {openid} cannot be kept: {e}") from None

    async def deleted_in(self, tx) -> None:
        """Dialogs deleted from the table: not these, which live in Redis (cleared one by one)."""

    async def clear(self, openid: str) -> None:
        try:
            await self.client.delete(self._key(openid))
        except RedisError as e:
            raise StateUnavailable(f"dialog of {openid} cannot be cleared: {e}") from None

    async def reseal(self) -> int:
        assert self.vault is not None, "rotating keys needs the vault"
        done = 0
        async for key in self.client.scan_iter(match=f"{PREFIX}dialog:*"):
            raw = await self.client.get(key)
            if raw is not None:
                await self.client.set(key, self.vault.reseal(raw), keepttl=True)
                done += 1
        return done


class RedisMessages:
    """De-duplication of WeChat's retries in Redis; the database's table while Redis is away."""

    def __init__(self, state: RedisState, fallback: "ProcessedMessages"):
        self.state = state
        self.client = state.client
        self.fallback = fallback

    def _key(self, key: str) -> str:
        return f"{PREFIX}message:{key}"

    def _keys(self, key: str) -> list[str]:
        return [self._key(key), UNFINISHED]

    async def claim(self, key: str, openid: str, now: datetime, pending: str | None = None) -> bool:
        try:
            claimed = await self.state.claim_script(keys=self._keys(key),
                                                    args=[iso(now), MESSAGE_TTL, pending or "", now.timestamp(), key])
            return bool(claimed)
        except RedisError as e:
            log.warning("Redis unavailable for de-duplication (%s); using the database", e)
            return await self.fallback.claim(key, openid, now, pending)

    async def take_over(self, key: str, now: datetime, claimed_before: datetime) -> bool:
        try:
            return bool(await self.state.take_over_script(keys=[self._key(key)], args=[iso(now), iso(claimed_before)]))
        except RedisError:
            return await self.fallback.take_over(key, now, claimed_before)

    async def answered(self, key: str, reply_json: str, final: bool = True) -> None:
        try:
            if await self.state.answered_script(keys=self._keys(key), args=[reply_json, int(final), key]):
                return
        except RedisError:
            pass
        await self.fallback.answered(key, reply_json, final)

    async def renew(self, key: str, now: datetime) -> None:
        try:
            if await self.state.resume_script(keys=self._keys(key), args=[iso(now), "", key, now.timestamp()]) >= 0:
                return
        except RedisError:
            pass
        await self.fallback.renew(key, now)

    async def finished(self, key: str) -> None:
        try:
            if await self.state.finished_script(keys=self._keys(key), args=[key]):
                return
        except RedisError:
            pass
        await self.fallback.finished(key)

    async def unfinished(self, claimed_before: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """Those claimed here, then those claimed through the database while Redis was away."""
        found: list[tuple[str, str]] = []
        try:
            before = f"({claimed_before.timestamp()}"   # "(": before then, not at
            keys = await self.client.zrangebyscore(UNFINISHED, "-inf", before, start=0, num=limit)
            if keys:
                async with self.client.pipeline(transaction=False) as pipe:
                    for key in keys:
                        pipe.hget(self._key(key), "pending")
                    kept = await pipe.execute()
                found = [(key, pending) for key, pending in zip(keys, kept) if pending]
                gone = [key for key, pending in zip(keys, kept) if not pending]
                if gone:
                    await self.client.zrem(UNFINISHED, *gone)
        except RedisError as e:
            log.warning("Redis unavailable for unfinished answers (%s); looking in the database only", e)
        return found + await self.fallback.unfinished(claimed_before, limit)

    async def resume(self, key: str, now: datetime, claimed_before: datetime) -> bool:
        try:
            resumed = await self.state.resume_script(keys=self._keys(key),
                                                     args=[iso(now), iso(claimed_before), key, now.timestamp()])
            if resumed >= 0:
                return bool(resumed)
        except RedisError:
            pass
        return await self.fallback.resume(key, now, claimed_before)

    async def reply_for(self, key: str) -> tuple[bool, str | None]:
        try:
            kept = await self.client.hgetall(self._key(key))
        except RedisError:
            return await self.fallback.reply_for(key)
        if not kept:
            return await self.fallback.reply_for(key)   # claimed through the database while Redis was away
        return True, kept.get("reply")

    async def purge_before(self, before: datetime) -> int:
        """Redis forgets by itself (TTL); the database's rows from times without Redis go here."""
        return await self.fallback.purge_before(before)


class RedisCallbackNonces:
    """Callbacks' (timestamp, nonce) pairs in Redis, each forgotten when its window has passed;
    the database's table while Redis is away. A worker that had to use the database also looks
    there for as long as what it put there matters, so a pair first seen during an outage is
    still recognised after Redis is back."""

    def __init__(self, state: RedisState, fallback: "CallbackNonces"):
        self.state = state
        self.fallback = fallback
        self._fell_back_at: datetime | None = None

    def _key(self, stamp: str, nonce: str) -> str:
        return f"{PREFIX}nonce:{stamp}:{nonce}"

    async def admit(self, stamp: str, nonce: str, digest: str, now: datetime, keep: timedelta) -> bool:
        if self._fell_back_at is not None and now - self._fell_back_at < keep:
            kept = await self.fallback.digest_of(stamp, nonce)
            if kept is not None:
                return kept == digest
        try:
            kept = await self.state.admit_script(keys=[self._key(stamp, nonce)],
                                                 args=[digest, max(int(keep.total_seconds()), 1)])
        except RedisError as e:
            log.warning("Redis unavailable for callback nonces (%s); using the database", e)
            self._fell_back_at = now
            return await self.fallback.admit(stamp, nonce, digest, now, keep)
        return kept == digest

    async def digest_of(self, stamp: str, nonce: str) -> str | None:
        try:
            kept = await self.state.client.get(self._key(stamp, nonce))
        except RedisError:
            kept = None
        return kept if kept is not None else await self.fallback.digest_of(stamp, nonce)

    async def purge_before(self, before: datetime) -> int:
        """Redis forgets by itself (TTL); the database's rows from times without Redis go here."""
        return await self.fallback.purge_before(before)
