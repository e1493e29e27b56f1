"""Booking under a rush: many residents booking the same few times at once, through /wechat.

    .venv/bin/python bench/booking.py [--residents 300] [--concurrency 30] [--popular 3]

Starts `frontdesk demo` in its own process (fresh SQLite database in a temporary folder). Each
resident walks the whole chat dialog as WeChat delivers it — signed, encrypted callbacks —
预约社保卡 → town center → first day with places → one of the `--popular` earliest times →
确认. Residents who lose a place are offered other times (or days) and take one of the first few
offered, until booked. Prints bookings/s, messages/s, confirmation latency, how many confirmations lost
a race, and — read from the database afterwards — places holding more than one booking and
times booked beyond the windows that handle the service (both must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402
from load import demo_server, fail, percentile  # noqa: E402

from bot.demo import DEMO_ACCOUNT, DEMO_APP_ID, DEMO_TOKEN, demo_aes_key  # noqa: E402
from bot.knowledge.loader import load_knowledge  # noqa: E402
from bot.wechat.simulator import WeChatSide, text_xml  # noqa: E402

GUIDE = "社会保障卡申领"
MAX_TRIES = 30


class Resident:
    def __init__(self, name: str, side: WeChatSide, session: aiohttp.ClientSession, url: str, stats: dict):
        self.name, self.side, self.session, self.url, self.stats = name, side, session, url, stats

    async def say(self, text: str) -> tuple[str, float]:
        query, body = self.side.seal(text_xml(self.name, text, DEMO_ACCOUNT))
        started = time.perf_counter()
        async with self.session.post(self.url, params=query, data=body) as resp:
            raw = await resp.text()
            if resp.status != 200:
                raise RuntimeError(f"{self.name}: HTTP {resp.status}: {raw[:100]}")
        took = time.perf_counter() - started
        self.stats["messages"] += 1
        reply = self.side.open_reply(raw) or {}
        return reply.get("Content") or "", took

    async def book(self, rng: random.Random, popular: int) -> bool:
        text, _ = await self.say("预约社保卡")
        text, _ = await self.say("1")          # the town center
        text, _ = await self.say("1")          # the first day with places
        count = len(re.findall(r"^\d+\. ", text, re.M))
        text, _ = await self.say(str(rng.randint(1, max(1, min(popular, count)))))
        for _ in range(MAX_TRIES):
            if "回复“确认”" in text:
                text, took = await self.say("确认")
                self.stats["confirm_latency"].append(took)
                if "预约成功" in text:
                    return True
                self.stats["lost_race"] += "约满" in text
            elif "可以约的时间" in text or "约满" in text or "选择日期" in text or "请换一天" in text:
                offered = len(re.findall(r"^\d+\. ", text, re.M))   # one of the first days or times offered
                text, _ = await self.say(str(rng.randint(1, max(1, min(popular, offered)))))
            else:
                raise RuntimeError(f"{self.name}: unexpected reply: {text[:80]}")
        return False


async def rush(url: str, residents: int, concurrency: int, popular: int, side: WeChatSide) -> tuple[dict, float]:
    stats = {"messages": 0, "lost_race": 0, "booked": 0, "failed": 0, "confirm_latency": []}
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        async def one(i: int) -> None:
            async with gate:
                resident = Resident(f"rush-{i:04d}", side, session, url, stats)
                try:
                    ok = await resident.book(random.Random(i), popular)
                except Exception as e:  # noqa: BLE001 - counted and shown
                    print(f"  ! {e}", file=sys.stderr)
                    ok = False
                stats["booked" if ok else "failed"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(residents)))
        return stats, time.perf_counter() - started


def audit(db: Path) -> tuple[int, int, int]:
    """(bookings holding a place, places with two bookings, times beyond their capacity)."""
    knowledge = load_knowledge(ROOT / "knowledge")
    guide = knowledge.guide(GUIDE)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT center, start, window FROM bookings "
                            "WHERE status IN ('booked', 'checked_in')").fetchall()
    places = Counter(rows)
    per_time = Counter((c, s) for c, s, _ in rows)
    beyond = sum(1 for (c, _), n in per_time.items() if n > len(knowledge.centers.get(c).windows_for(guide)))
    return len(rows), sum(1 for n in places.values() if n > 1), beyond


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--residents", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=30)
    ap.add_argument("--popular", type=int, default=3, help="residents aim at one of this many earliest times")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    side = WeChatSide(token=DEMO_TOKEN, app_id=DEMO_APP_ID, encoding_aes_key=demo_aes_key(), mode="safe")
    with demo_server() as (base, process, data, log_path):
        stats, elapsed = asyncio.run(rush(base + "/wechat", args.residents, args.concurrency, args.popular, side))
        if process.poll() is not None:
            fail(f"the demo server died during the run (code {process.returncode})", log_path)
        held, doubled, beyond = audit(data / "frontdesk.db")
    latency = stats["confirm_latency"]
    print(f"booking rush: {args.residents} residents, concurrency {args.concurrency}, aiming at the "
          f"{args.popular} earliest times ({os.cpu_count()} cores, client and server share them)")
    print(f"  {stats['booked']} booked, {stats['failed']} not booked in {elapsed:.1f} s: "
          f"{stats['booked'] / elapsed:,.1f} bookings/s, {stats['messages'] / elapsed:,.0f} msg/s "
          f"({stats['messages']} messages)")
    print(f"  confirmations: {len(latency)}, {stats['lost_race']} lost the race and were offered other times; "
          f"p50 {percentile(latency, 50) * 1000:.1f} ms, p99 {percentile(latency, 99) * 1000:.1f} ms")
    print(f"  audit of the store: {held} bookings hold a place, {doubled} places booked twice, "
          f"{beyond} times booked beyond their windows")
    if stats["failed"] or doubled or beyond or held != stats["booked"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
