"""The store's contract for signed callbacks: a (timestamp, nonce) pair is admitted again only
with the body it first came with, by every worker, and forgotten once its window has passed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store import open_store
from tests.store.contract import NOW, later

KEEP = timedelta(seconds=600)
STAMP = str(int(NOW.timestamp()))


async def test_a_pair_is_admitted_again_only_with_its_first_body(store):
    nonces = store.nonces
    assert await nonces.admit(STAMP, "4711", "digest-a", NOW, KEEP)
    assert await nonces.admit(STAMP, "4711", "digest-a", later(seconds=5), KEEP)       # WeChat's retry
    assert not await nonces.admit(STAMP, "4711", "digest-b", later(seconds=6), KEEP)   # another body
    assert await nonces.admit(STAMP, "4711", "digest-a", later(seconds=15), KEEP)      # the first still is
    assert await nonces.admit(STAMP, "4712", "digest-b", NOW, KEEP)                    # another nonce
    assert await nonces.admit(str(int(STAMP) + 1), "4711", "digest-b", NOW, KEEP)      # another timestamp
    assert await nonces.digest_of(STAMP, "4711") == "digest-a"
    assert await nonces.digest_of(STAMP, "never") is None


async def test_one_body_wins_when_a_pair_arrives_twice_at_once(store_url, tmp_path):
    """Two workers, the same pair with two bodies at the same moment: exactly one body is admitted."""
    workers = [await open_store(store_url, tmp_path) for _ in range(2)]
    try:
        tries = [(w, f"digest-{i % 2}") for i in range(8) for w in workers]
        admitted = await asyncio.gather(*(w.nonces.admit(STAMP, "race", d, NOW, KEEP) for w, d in tries))
        winners = {d for (_, d), ok in zip(tries, admitted) if ok}
        assert len(winners) == 1 and admitted.count(True) == 8
    finally:
        for w in workers:
            await w.close()


async def test_pairs_past_their_window_are_purged(store):
    nonces = store.nonces
    await nonces.admit(STAMP, "old", "digest-a", NOW, KEEP)
    await nonces.admit(STAMP, "new", "digest-a", later(minutes=20), KEEP)
    assert await nonces.purge_before(later(minutes=10)) == 1
    assert await nonces.digest_of(STAMP, "old") is None
    assert await nonces.digest_of(STAMP, "new") == "digest-a"
    assert not await nonces.admit(STAMP, "new", "digest-b", later(minutes=21), KEEP)
