"""How quickly the staff console's pages come back on a county's worth of data.

Starts `frontdesk demo` in its own process, fills its SQLite store with a year of made-up work
(cases with their history, ratings, bookings, residents' questions of which some the bot could not
answer), signs in through the real form as the town clerk and as the county supervisor, and
times each page several times. Prints per page: median and slowest time, and the page size.

    .venv/bin/python bench/console.py [--cases 20000] [--questions 30000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import demo_server  # noqa: E402

from bot.clock import TZ  # noqa: E402
from bot.demo import DEMO_PASSWORD  # noqa: E402
from bot.knowledge.library import Library  # noqa: E402
from bot.store import open_store  # noqa: E402
from bot.store.db import iso  # noqa: E402

KINDS = ("proxy", "proxy", "proxy", "home_visit", "complaint")
ENDINGS = ("completed", "delivered", "rejected", "in_progress", "accepted", "submitted")
TOPICS = ("驾照换证", "护照办理", "狗证", "公积金提取", "电动车上牌", "不动产登记", "营业执照年检", "出生医学证明",
          "新冠疫苗", "城管投诉", "停车位", "燃气开户", "宽带报装", "社保转移外省", "退休金调整")
ASKING = ("怎么办", "在哪办", "要带什么", "多久能好", "收费吗", "可以代办吗", "网上能办吗")


async def seed(db_path: Path, cases: int, questions: int) -> None:
    """A year of work at the demo county's centers, written straight into the store."""
    rng = random.Random(7)
    library = Library(ROOT / "knowledge")
    guides = list(library.knowledge.guides)
    centers = list(library.knowledge.centers.by_id)
    store = await open_store(f"sqlite:///{db_path}", ROOT)
    now = datetime.now(TZ)
    try:
        async with store.transaction() as db:
            for n in range(cases):
                at = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
                kind, center, openid = rng.choice(KINDS), rng.choice(centers), f"o-bench-{rng.randrange(cases // 2)}"
                end = rng.choice(ENDINGS)
                deadline = (at + timedelta(days=rng.randrange(5, 25))).date().isoformat()
                phone = f"138{rng.randrange(10**8):08d}"
                data = {"name": "张三", "phone": phone, "phone_masked": phone[:3] + "****" + phone[-4:],
                        "words": "窗口排队太久" if kind == "complaint" else ""}
                created = await db.fetchone(
                    "INSERT INTO cases(number, kind, openid, guide, center, state, deadline, data, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    f"B{at:%Y%m%d}-{n:06d}", kind, openid, None if kind == "complaint" else rng.choice(guides),
                    center, end, deadline, json.dumps(data, ensure_ascii=False), iso(at), iso(at))
                steps = ["submitted"] + (["accepted"] if end != "submitted" else []) + \
                    ([end] if end not in ("submitted", "accepted") else [])
                for i, state in enumerate(steps):
                    await db.execute(
                        "INSERT INTO case_history(case_id, at, actor, from_state, to_state, note) "
                        "VALUES (?, ?, ?, ?, ?, '')",
                        created["id"], iso(at + timedelta(days=3 * i)), "staff:bench",
                        steps[i - 1] if i else None, state)
                if end in ("completed", "delivered") and rng.random() < 0.6:
                    await db.execute(
                        "INSERT INTO ratings(case_id, openid, center, score, at) VALUES (?, ?, ?, ?, ?)",
                        created["id"], openid, center, rng.choice((5, 5, 4, 4, 3, 2, 1)),
                        iso(at + timedelta(days=7)))
            for n in range(questions):
                at = now - timedelta(minutes=rng.randrange(60 * 24 * 60))
                unanswered = rng.random() < 0.2
                question = rng.choice(TOPICS) + rng.choice(ASKING) if unanswered else rng.choice(guides) + "怎么办"
                await db.execute(
                    "INSERT INTO inquiries(openid, question, intent, guide, score, decision, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    f"o-bench-{n}", question, "unknown" if unanswered else "guide",
                    None if unanswered else question[:-3], 0.2 if unanswered else 0.9,
                    "fallback" if unanswered else "answer", iso(at))
    finally:
        await store.close()


PAGES = {
    "qinghe": ["/console/dashboard", "/console/cases", "/console/cases?q=13800", "/console/cases?due=overdue",
               "/console/complaints", "/console/appointments", "/console/handoffs", "/console/guides"],
    "county": ["/console/dashboard", "/console/cases", "/console/unanswered?days=60", "/console/reports?days=30",
               "/console/reports?days=365", "/console/audit"],
}


async def sign_in(session: aiohttp.ClientSession, base: str, name: str) -> None:
    async with session.get(base + "/console/login") as resp:
        token = re.search(r'name="_csrf" value="([^"]+)"', await resp.text()).group(1)
    async with session.post(base + "/console/login", data={"_csrf": token, "name": name, "password": DEMO_PASSWORD,
                                                           "next": "/console/dashboard"}) as resp:
        if "/console/dashboard" not in str(resp.url):
            raise SystemExit(f"could not sign in as {name}: {resp.status}")


async def time_pages(base: str, rounds: int) -> list[tuple[str, str, float, float, int, int]]:
    rows = []
    for name, paths in PAGES.items():
        # unsafe=True: keep cookies from an IP address (the demo listens on 127.0.0.1)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await sign_in(session, base, name)
            first_case = None
            for path in paths:
                took, size, status = [], 0, 0
                for _ in range(rounds):
                    start = time.perf_counter()
                    async with session.get(base + path) as resp:
                        body = await resp.text()
                        status = resp.status
                    took.append(time.perf_counter() - start)
                    size = len(body.encode())
                    first_case = first_case or (re.search(r"/console/cases/(B\d{8}-\d{6})", body) or [None, None])[1]
                rows.append((name, path, statistics.median(took), max(took), size, status))
            if first_case:
                path = f"/console/cases/{first_case}"
                took, size = [], 0
                for _ in range(rounds):
                    start = time.perf_counter()
                    async with session.get(base + path) as resp:
                        size = len(await resp.read())
                    took.append(time.perf_counter() - start)
                rows.append((name, "/console/cases/<number>", statistics.median(took), max(took), size, resp.status))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--questions", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with demo_server() as (base, _process, data, _log):
        started = time.perf_counter()
        asyncio.run(seed(data / "frontdesk.db", args.cases, args.questions))
        print(f"seeded {args.cases:,} cases and {args.questions:,} questions in {time.perf_counter() - started:.1f} s")
        rows = asyncio.run(time_pages(base, args.rounds))
    print(f"{'who':8} {'page':34} {'median':>9} {'slowest':>9} {'size':>9}  status")
    for name, path, median, slowest, size, status in rows:
        print(f"{name:8} {path:34} {median * 1000:7.0f} ms {slowest * 1000:7.0f} ms {size / 1024:7.0f} KB  {status}")
    return 0 if all(row[5] == 200 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
