"""Two pushers (two workers) draining one outbox through a slow WeChat send no notice twice.

A pusher claims a batch under a lease that covers one send; when sending the batch takes
longer than that, the other pusher takes over what is left — and the first must not send those
too. Wall-clock time, a short lease and a slow fake WeChat make the batch outlast the lease.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import aiohttp

from bot.clock import Clock
from bot.metrics import Metrics
from bot.pusher import Pusher
from bot.store import open_store
from bot.vault import Vault
from bot.wechat.api import WeChatAPI
from bot.wechat.tokens import SharedToken
from tests.conftest import APP_ID, SECRET

RESIDENTS = 12


async def test_two_pushers_and_a_slow_wechat_send_each_notice_once(store_url, tmp_path, fake_wechat):
    fake, api_base = fake_wechat
    fake.latency = 0.25                         # a batch of 12 takes 3 s; the lease is 1 s
    store = await open_store(store_url, tmp_path, Vault.from_env())
    clock = Clock()
    try:
        for n in range(RESIDENTS):
            await store.residents.seen(f"o-resident-{n}", clock.now())   # the resident wrote, as WeChat knows too
            fake.resident_acted(f"o-resident-{n}", "message")
            await store.outbox.add(f"o-resident-{n}", [f"您的办件{n}已受理。"], clock.now())
        async with aiohttp.ClientSession() as session:
            def pusher() -> Pusher:
                api = WeChatAPI(session, base=api_base, app_id=APP_ID, app_secret=SECRET, timeout=2.0,
                                shared=SharedToken(store, APP_ID, clock))
                return Pusher(store, api, clock, Metrics(), idle_seconds=0.05, lease=timedelta(seconds=1))

            first, second = pusher(), pusher()
            runs = [asyncio.create_task(p.run()) for p in (first, second)]
            try:
                for _ in range(400):
                    if await store.outbox.pending_count() == 0:
                        break
                    await asyncio.sleep(0.05)
            finally:
                for run in runs:
                    run.cancel()
                await asyncio.gather(*runs, return_exceptions=True)
    finally:
        pending = await store.outbox.pending_count()
        await store.close()
    delivered = Counter(m["touser"] for m in fake.sent)
    assert pending == 0
    assert sorted(delivered) == sorted(f"o-resident-{n}" for n in range(RESIDENTS))
    assert [who for who, times in delivered.items() if times > 1] == []
