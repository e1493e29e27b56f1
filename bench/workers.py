"""One worker on SQLite, one on PostgreSQL, two on PostgreSQL, two on PostgreSQL with Redis:
side by side on this machine.

    .venv/bin/python bench/workers.py [--messages 1000] [--concurrency 20] [--notices 2000] [--only NAME]
                                      [--match-process auto|true|false] [--profile PREFIX]

For each setup it starts `frontdesk serve` (with `--workers 2` for the last) against a fake
WeChat API served from this process, sends encrypted text messages through `/wechat` as WeChat
does (the same mix as `load.py`), and prints messages/s, p50, p99 and failures. Then it queues
notices straight into the outbox and times how fast the workers' pushers drain them, with the
fake API taking `--send-ms` per message as WeChat's does, and counts notices sent twice (must be
0) or never (must be 0). Beside msg/s, the CPU each message cost during the measured run: the
workers' (the `serve` process and its children), PostgreSQL's (its server and every backend) and
this process's (sending and checking the messages, the fake WeChat API) — on a machine others use
too, steadier figures than msg/s, and together what a message costs the machine's cores.
`--match-process` sets the workers' `[knowledge] match_process` (their matcher helper processes
count as the workers' children). `--profile PREFIX` samples the workers with py-spy meanwhile
(read with `stacks.py`). PostgreSQL and Redis are throw-away servers from Debian's packages, as
in the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from load import (HOST, WARMUP, build, check, free_port, percentile, sampling, send_all, tree_cpu,  # noqa: E402
                  wait_helper)

from bot.clock import Clock  # noqa: E402
from bot.demo import DEMO_APP_ID, DEMO_SECRET, DEMO_TOKEN, demo_aes_key  # noqa: E402
from bot.store import open_store  # noqa: E402
from bot.wechat.fake import FakeWeChat  # noqa: E402
from bot.wechat.simulator import WeChatSide  # noqa: E402
from bot.vault import ENV, new_key  # noqa: E402
from tests.postgres import ThrowawayPostgres, pg_bin  # noqa: E402
from tests.redis_server import ThrowawayRedis  # noqa: E402

os.environ.setdefault(ENV, new_key())   # the servers started here encrypt personal data with it


def write_config(folder: Path, port: int, store_url: str, api_base: str, redis_url: str,
                 match_process: str = "auto") -> Path:
    path = folder / f"bench-{port}.toml"
    path.write_text(f'''
[server]
host = "{HOST}"
port = {port}
pid_file = "{folder / f"bench-{port}.pid"}"
[wechat]
app_id = "{DEMO_APP_ID}"
app_secret = "{DEMO_SECRET}"
token = "{DEMO_TOKEN}"
encoding_aes_key = "{demo_aes_key()}"
mode = "safe"
api_base = "{api_base}"
[store]
url = "{store_url}"
[knowledge]
dir = "{ROOT / "knowledge"}"
match_process = {match_process if match_process in ("true", "false") else '"auto"'}
[redis]
url = "{redis_url}"
[log]
level = "WARNING"
''', encoding="utf-8")
    return path


async def until_up(base: str, process: subprocess.Popen, log: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"the server exited:\n{log.read_text()[-2000:]}")
            try:
                async with session.get(base + "/healthz") as resp:
                    if resp.status == 200:
                        await asyncio.sleep(1.0)   # let every worker of --workers N come up too
                        await asyncio.to_thread(wait_helper, base, log)
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"the server did not start:\n{log.read_text()[-2000:]}")


async def drain(store_url: str, fake: FakeWeChat, notices: int, folder: Path) -> tuple[float, int, int]:
    """Queue `notices` notices and wait until the pushers sent them all: (seconds, sent twice, never sent)."""
    store = await open_store(store_url, folder)
    try:
        now = Clock().now()
        openids = [f"bench-notified-{n:05d}" for n in range(notices)]
        # each resident wrote just now (WeChat knows it too): a customer-service message may go to each
        await store.write_many("INSERT INTO residents(openid, active, first_seen, last_message_at, quota_kind, "
                               "quota_at) VALUES (?, 1, ?, ?, 'message', ?) ON CONFLICT(openid) DO NOTHING",
                               [(openid, now.isoformat(), now.isoformat(), now.isoformat()) for openid in openids])
        for openid in openids:
            fake.resident_acted(openid, "message")
        fake.sent.clear()
        started = time.perf_counter()
        await store.write_many("INSERT INTO outbox(openid, text, created_at, next_at) VALUES (?, ?, ?, ?)",
                               [(openid, f"通知 {openid}", now.isoformat(), now.isoformat()) for openid in openids])
        while await store.outbox.pending_count() and time.perf_counter() - started < 300:
            await asyncio.sleep(0.05)
        took = time.perf_counter() - started
    finally:
        await store.close()
    queued = {f"通知 {openid}" for openid in openids}
    # only these notices: a long answer's later parts, pushed meanwhile, may say the same to two residents
    counts = Counter(m["text"]["content"] for m in fake.sent
                     if m.get("msgtype") == "text" and m["text"]["content"] in queued)
    twice = sum(n - 1 for n in counts.values() if n > 1)
    never = sum(1 for openid in openids if counts[f"通知 {openid}"] == 0)
    return took, twice, never


def postmaster(postgres: ThrowawayPostgres) -> int:
    return int((postgres.data / "postmaster.pid").read_text().split()[0])


async def run_setup(name: str, store_url: str, redis_url: str, workers: int, args, fake: FakeWeChat, api_base: str,
                    folder: Path, database: int | None) -> dict:
    port = free_port()
    config = write_config(folder, port, store_url, api_base, redis_url, args.match_process)
    log = folder / f"{port}.log"
    command = [sys.executable, "-m", "bot.cli", "serve", "--config", str(config), "--workers", str(workers)]
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://{HOST}:{port}"
    try:
        await until_up(base, process, log)
        side = WeChatSide(token=DEMO_TOKEN, app_id=DEMO_APP_ID, encoding_aes_key=demo_aes_key(), mode="safe",
                          heard=fake.heard)
        await send_all(base + "/wechat", build(side, WARMUP, 50, who=f"warm-{name}"), args.concurrency, 120)
        fake.latency = 0.0
        requests = build(side, args.messages, args.residents, who=name)
        cpu = (tree_cpu(process.pid), tree_cpu(database) if database else 0.0, time.process_time())
        profile = f"{args.profile}-{name.replace(' ', '').replace(',', '-')}.txt" if args.profile else None
        with sampling(process.pid, profile, subprocesses=True):
            results, elapsed = await send_all(base + "/wechat", requests, args.concurrency, 240)
        cpu = (tree_cpu(process.pid) - cpu[0], tree_cpu(database) - cpu[1] if database else float("nan"),
               time.process_time() - cpu[2])
        failures, empty, kinds = check(side, results)
        latencies = [r[0] for r in results if r is not None]
        fake.latency = args.send_ms / 1000
        took, twice, never = await drain(store_url, fake, args.notices, folder)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return {"name": name, "msg/s": len(latencies) / elapsed, "p50": percentile(latencies, 50) * 1000,
            "p99": percentile(latencies, 99) * 1000, "failed": len(failures) + len(empty),
            "please wait": kinds["please wait"], "worker cpu": cpu[0] / max(len(latencies), 1) * 1000,
            "pg cpu": cpu[1] / max(len(latencies), 1) * 1000, "client cpu": cpu[2] / max(len(latencies), 1) * 1000,
            "pushes/s": args.notices / took, "twice": twice,
            "never": never}


async def main_async(args) -> int:
    fake = FakeWeChat(app_id=DEMO_APP_ID, app_secret=DEMO_SECRET)
    runner = web.AppRunner(fake.app())
    await runner.setup()
    fake_port = free_port()
    await web.TCPSite(runner, HOST, fake_port).start()
    api_base = f"http://{HOST}:{fake_port}"
    bin_dir = pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL's server programs are missing: apt-get install postgresql")
    redis_program = ThrowawayRedis.find()
    if redis_program is None:
        raise SystemExit("redis-server is missing: apt-get install redis-server")
    postgres = ThrowawayPostgres(bin_dir).start()
    redis = ThrowawayRedis(redis_program).start()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="frontdesk-workers-") as tmp:
            folder = Path(tmp)
            server = postmaster(postgres)
            setups = [("1 worker, SQLite", f"sqlite:///{folder / 'bench.db'}", "", 1, None),
                      ("1 worker, PostgreSQL", postgres.url_for(await postgres.new_schema()), "", 1, server),
                      ("2 workers, PostgreSQL", postgres.url_for(await postgres.new_schema()), "", 2, server),
                      ("2 workers, PG + Redis", postgres.url_for(await postgres.new_schema()), redis.url, 2, server)]
            for name, url, redis_url, workers, database in setups:
                if args.only and args.only not in name:
                    continue
                rows.append(await run_setup(name, url, redis_url, workers, args, fake, api_base, folder, database))
    finally:
        redis.stop()
        postgres.stop()
        await runner.cleanup()
    print(f"{args.messages} messages from {args.residents} residents, {args.concurrency} at a time; "
          f"{args.notices} notices, WeChat taking {args.send_ms} ms per send")
    print(f"{'setup':24} {'msg/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6} {'wait':>5} "
          f"{'cpu ms/msg: workers':>20} {'PG':>5} {'client':>6} {'pushes/s':>9} {'twice':>6} {'never':>6}")
    for r in rows:
        print(f"{r['name']:24} {r['msg/s']:7.0f} {r['p50']:7.1f} {r['p99']:7.1f} {r['failed']:6d} "
              f"{r['please wait']:5d} {r['worker cpu']:20.2f} {r['pg cpu']:5.2f} {r['client cpu']:6.2f} "
              f"{r['pushes/s']:9.0f} "
              f"{r['twice']:6d} {r['never']:6d}")
    scaling(rows)
    return 1 if any(r["failed"] or r["twice"] or r["never"] for r in rows) else 0


def scaling(rows: list[dict]) -> None:
    """Two PostgreSQL workers against one, and the most this machine's cores allow: everything
    (workers, PostgreSQL, this client) shares them, so N cores answer at most N ÷ (the CPU one
    message costs them all). Two workers reach 1.6× one only if a worker's cost is at least four
    times PostgreSQL's and the client's together, or they run elsewhere."""
    by_name = {r["name"]: r for r in rows}
    one, two = by_name.get("1 worker, PostgreSQL"), by_name.get("2 workers, PostgreSQL")
    if not one or not two:
        return
    cores = len(os.sched_getaffinity(0))
    cost = two["worker cpu"] + two["pg cpu"] + two["client cpu"]
    ceiling = cores / cost * 1000 if cost == cost and cost > 0 else float("nan")
    print(f"2 workers ÷ 1 on PostgreSQL: {two['msg/s'] / one['msg/s']:.2f}x; with every process on these "
          f"{cores} cores at most {cores} / ({two['worker cpu']:.2f} + {two['pg cpu']:.2f} + "
          f"{two['client cpu']:.2f}) ms = {ceiling:.0f} msg/s, {ceiling / one['msg/s']:.2f}x one worker")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--notices", type=int, default=2000)
    parser.add_argument("--send-ms", type=float, default=5.0, help="how long the fake WeChat API takes per send")
    parser.add_argument("--only", default="", help="only the setups whose name holds this, e.g. PostgreSQL")
    parser.add_argument("--match-process", choices=("auto", "true", "false"), default="auto",
                        help="[knowledge] match_process of the workers (auto: a helper process for each "
                             "while there are more cores than workers)")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="py-spy the workers during each measured run: PREFIX-<setup>.txt (see stacks.py)")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
