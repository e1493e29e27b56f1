"""State changes pushed to residents: how fast, and proof that none is lost, sent twice or out of order.

    .venv/bin/python bench/push.py [--moves 10000] [--concurrency 20] [--in-flight 1,8] [--latency-ms 0]

Starts the real app in this process and a fake WeChat API in another process on loopback (so
WeChat's side does not take the pusher's CPU), opens cases, and has a staff member move them
through the JSON API (accept, then complete: two notices per case) while the pusher is held back.
Then the pusher — the app's own class, with the given number of sends in flight — drains the
outbox, and the fake WeChat's record is checked: expected, delivered, lost, duplicated, and
residents whose two notices arrived in the wrong order. The fake enforces WeChat's
customer-service quota; a notice past it goes as a template message and counts as delivered.
One run per `--in-flight` value, each with a fresh store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from bot.api import CASE_DESK  # noqa: E402
from bot.app import API, CLOCK, METRICS, STORE, _pusher_ctx, create_app  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.pusher import NoticeTemplate, Pusher  # noqa: E402
from bot.texts import Texts  # noqa: E402
from bot.vault import Vault, new_key  # noqa: E402
from bot.wechat.fake import FakeWeChat  # noqa: E402


def serve_fake(port: int, latency_ms: float) -> None:
    """The fake WeChat API on its own, plus /bench/sent: what it took, in order."""
    fake = FakeWeChat(app_id="wxbench", app_secret="s", latency=latency_ms / 1000)
    app = fake.app()

    async def sent(request: web.Request) -> web.Response:
        return web.json_response({"sent": [{"touser": m["touser"], "kind": m["kind"],
                                            "text": m["text"]["content"] if m["kind"] == "custom" else
                                            json.dumps(m.get("data"), ensure_ascii=False)} for m in fake.sent],
                                  "most_in_flight": fake.most_in_flight})

    async def acted(request: web.Request) -> web.Response:
        for openid in (await request.json())["openids"]:
            fake.resident_acted(openid, "message")
        return web.json_response({})
    app.add_routes([web.get("/bench/sent", sent), web.post("/bench/acted", acted)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _fake_ready(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(200):
        try:
            async with session.get(base + "/bench/sent") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit("the fake WeChat API did not start")


async def run(moves: int, concurrency: int, in_flight: int, latency_ms: float) -> None:
    port = _free_port()
    fake_base = f"http://127.0.0.1:{port}"
    fake_process = subprocess.Popen([sys.executable, __file__, "--serve-fake", str(port),
                                     "--latency-ms", str(latency_ms)])
    try:
        async with aiohttp.ClientSession() as session:
            await _fake_ready(session, fake_base)
            await _one_run(session, fake_base, moves, concurrency, in_flight)
    finally:
        fake_process.terminate()
        fake_process.wait(timeout=10)


async def _one_run(session: aiohttp.ClientSession, fake_base: str, moves: int, concurrency: int,
                   in_flight: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        config = Config.from_dict({
            "wechat": {"app_id": "wxbench", "app_secret": "s", "token": "t", "mode": "plain", "api_base": fake_base,
                       "notice_template_id": "TPL-bench"},
            "store": {"url": f"sqlite:///{data}/fd.db"},
            "knowledge": {"dir": str(ROOT / "knowledge")}}, base_dir=Path(data))
        app = create_app(config, vault=Vault([new_key()]))
        app.cleanup_ctx.remove(_pusher_ctx)   # held back until every move is made
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            store, desk = app[STORE], app[CASE_DESK]
            await store.staff.add(name="bench", center="village-a", role="clerk", token="bench-token",
                                  now=desk.clock.now())
            cases = moves // 2
            numbers, openids = [], []
            for i in range(cases):
                openid = f"bench-{i}"
                openids.append(openid)
                await store.residents.seen(openid, desk.clock.now())   # the resident wrote, as WeChat knows too
                case = await desk.open(kind="proxy", openid=openid, guide="高龄津贴申领", center="village-a", data={})
                numbers.append(case.number)
            async with session.post(fake_base + "/bench/acted", json={"openids": openids}) as resp:
                assert resp.status == 200
            headers = {"Authorization": "Bearer bench-token"}
            queue: asyncio.Queue = asyncio.Queue()
            for number in numbers:
                queue.put_nowait(number)
            errors = 0

            async def clerk() -> None:
                nonlocal errors
                while not queue.empty():
                    number = queue.get_nowait()
                    for to in ("accepted", "completed"):
                        async with session.post(server.make_url(f"/api/cases/{number}/transitions"),
                                                json={"to": to}, headers=headers) as resp:
                            errors += resp.status != 200

            started = time.perf_counter()
            await asyncio.gather(*(clerk() for _ in range(concurrency)))
            moved = time.perf_counter() - started
            print(f"{cases} cases, {cases * 2} state changes by {concurrency} clerks through the JSON API "
                  f"({errors} errors): {cases * 2 / moved:,.0f} changes/s")

            pusher = Pusher(store, app[API], app[CLOCK], app[METRICS], in_flight=in_flight,
                            template=NoticeTemplate.from_config(config.wechat, Texts(), config.service.name))
            started = time.perf_counter()
            while await pusher.run_once():
                pass
            drained = time.perf_counter() - started
            async with session.get(fake_base + "/bench/sent") as resp:
                record = await resp.json()
            _report(record, cases * 2, drained, in_flight)
        finally:
            await server.close()


def _report(record: dict, expected: int, seconds: float, in_flight: int) -> None:
    sent = record["sent"]
    counts = Counter((m["touser"], m["text"]) for m in sent)
    duplicated = sum(n - 1 for n in counts.values())
    kinds = Counter(m["kind"] for m in sent)
    order: dict[str, list[str]] = defaultdict(list)
    for m in sent:
        order[m["touser"]].append(m["text"])
    disordered = sum(1 for texts in order.values()
                     if len(texts) == 2 and "已办结" in texts[0] and "已受理" in texts[1])
    print(f"  pusher, {in_flight} in flight (most seen at once by WeChat: {record['most_in_flight']}): "
          f"{len(sent):,} notices in {seconds:.1f} s = {len(sent) / seconds:,.0f}/s "
          f"({kinds['custom']:,} customer-service, {kinds['template']:,} template); expected {expected:,}, "
          f"lost {expected - len(counts):,}, duplicated {duplicated}, out of order {disordered}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--in-flight", default="1,8", help="sends in flight at once, one run per value")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="how long the fake WeChat takes per send")
    ap.add_argument("--serve-fake", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake, args.latency_ms)
        return
    for in_flight in (int(n) for n in args.in_flight.split(",")):
        asyncio.run(run(args.moves, args.concurrency, in_flight, args.latency_ms))


if __name__ == "__main__":
    main()
