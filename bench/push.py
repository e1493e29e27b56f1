"""State changes pushed to residents: how fast, and proof that none is lost or sent twice.

    .venv/bin/python bench/push.py [--moves 10000] [--concurrency 20]

Starts the real app and a fake WeChat API on loopback (each an aiohttp server in this
process), opens cases, and has a staff member move them through the JSON API (accept, then
complete: two notices per case). Prints state changes/s through the API, notifications/s
delivered to the fake WeChat API, and the counts: expected, delivered, lost, duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from bot.api import CASE_DESK  # noqa: E402
from bot.app import STORE, create_app  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.wechat.fake import FakeWeChat  # noqa: E402


async def run(moves: int, concurrency: int) -> None:
    fake = FakeWeChat(app_id="wxbench", app_secret="s")
    fake_server = TestServer(fake.app(), host="127.0.0.1")
    await fake_server.start_server()
    with tempfile.TemporaryDirectory() as data:
        config = Config.from_dict({
            "wechat": {"app_id": "wxbench", "app_secret": "s", "token": "t", "mode": "plain",
                       "api_base": str(fake_server.make_url("")).rstrip("/")},
            "store": {"url": f"sqlite:///{data}/fd.db"},
            "knowledge": {"dir": str(ROOT / "knowledge")}}, base_dir=Path(data))
        app = create_app(config)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            store, desk = app[STORE], app[CASE_DESK]
            await store.staff.add(name="bench", center="village-a", role="clerk", token="bench-token",
                                  now=desk.clock.now())
            cases = moves // 2
            numbers = []
            for i in range(cases):
                openid = f"bench-{i}"
                await store.residents.seen(openid, desk.clock.now())   # the resident wrote, as WeChat knows too
                fake.resident_acted(openid, "message")
                case = await desk.open(kind="proxy", openid=openid, guide="高龄津贴申领", center="village-a", data={})
                numbers.append(case.number)
            headers = {"Authorization": "Bearer bench-token"}
            queue: asyncio.Queue = asyncio.Queue()
            for number in numbers:
                queue.put_nowait(number)
            errors = 0

            async def clerk(session: aiohttp.ClientSession) -> None:
                nonlocal errors
                while not queue.empty():
                    number = queue.get_nowait()
                    for to in ("accepted", "completed"):
                        async with session.post(server.make_url(f"/api/cases/{number}/transitions"),
                                                json={"to": to}, headers=headers) as resp:
                            errors += resp.status != 200

            started = time.perf_counter()
            async with aiohttp.ClientSession() as session:
                await asyncio.gather(*(clerk(session) for _ in range(concurrency)))
            moved = time.perf_counter() - started
            expected = cases * 2
            deadline = time.monotonic() + 600
            while len(fake.sent) < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            delivered = time.perf_counter() - started
            counts = Counter((m["touser"], m["text"]["content"]) for m in fake.sent)
            unique = len(counts)
            duplicated = sum(n - 1 for n in counts.values())
            print(f"{cases} cases, {expected} state changes by {concurrency} clerks through the JSON API "
                  f"({errors} errors): {expected / moved:,.0f} changes/s")
            print(f"notifications: {len(fake.sent)} delivered to the fake WeChat API in {delivered:.1f} s "
                  f"= {len(fake.sent) / delivered:,.0f}/s; expected {expected}, lost {expected - unique}, "
                  f"duplicated {duplicated}")
        finally:
            await server.close()
            await fake_server.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=20)
    args = ap.parse_args()
    asyncio.run(run(args.moves, args.concurrency))


if __name__ == "__main__":
    main()
