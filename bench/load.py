"""Load benchmark of the official-account callback on loopback.

    .venv/bin/python bench/load.py [--messages 2000] [--concurrency 20] [--residents 200]

Starts `frontdesk demo` in its own process (its own event loop and a fresh SQLite database),
sends encrypted text messages through `/wechat` exactly as WeChat's servers do, checks every
reply decrypts to a non-empty answer, and prints messages/s with p50 and p99 latency. Beside it
prints the cost floor: signature check + decrypt + parse + render + encrypt alone, for the same
messages, in one thread — the ratio shows what the bot's own work costs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.demo import DEMO_ACCOUNT, DEMO_APP_ID, DEMO_TOKEN, demo_aes_key  # noqa: E402
from bot.replies import TextReply  # noqa: E402
from bot.wechat.protocol import Protocol  # noqa: E402
from bot.wechat.simulator import WeChatSide, text_xml  # noqa: E402

QUESTIONS = [
    "老年证怎么办", "老年人优待证要带什么材料", "低保要带什么材料", "社保卡丢了怎么办", "第一次办社保卡要带什么",
    "身份证丢了怎么补", "领结婚证要带什么", "办残疾证", "高龄补贴怎么领", "在外地看病怎么备案",
    "农村盖房子要审批吗", "你好", "谢谢", "明天下雨吗", "便民服务中心几点上班",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _build(side: WeChatSide, count: int, residents: int, start_id: int) -> list[tuple[dict, bytes]]:
    now = int(time.time())
    return [side.seal(text_xml(f"bench-{i % residents}", QUESTIONS[i % len(QUESTIONS)], DEMO_ACCOUNT,
                               create_time=now, msg_id=start_id + i))
            for i in range(count)]


async def _load(url: str, side: WeChatSide, requests: list[tuple[dict, bytes]], concurrency: int):
    latencies: list[float] = []
    errors = empty = 0
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors, empty
        while not queue.empty():
            query, body = queue.get_nowait()
            started = time.perf_counter()
            try:
                async with session.post(url, params=query, data=body) as resp:
                    text = await resp.text()
                    status = resp.status
            except aiohttp.ClientError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1
                continue
            reply = side.open_reply(text)
            if not reply or not reply.get("Content"):
                empty += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, errors, empty


def _floor(side: WeChatSide, requests: list[tuple[dict, bytes]]) -> float:
    protocol = Protocol(token=DEMO_TOKEN, app_id=DEMO_APP_ID, encoding_aes_key=demo_aes_key(), mode="safe",
                        max_body_bytes=65536, timestamp_window=300)
    reply = TextReply("收到，正在为您查询。")
    started = time.perf_counter()
    for query, body in requests:
        opened = protocol.open(body, query)
        protocol.seal(reply, opened.message, opened)
    return (time.perf_counter() - started) / len(requests)


def _wait_healthy(base: str, process: subprocess.Popen, seconds: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the demo server exited early")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the demo server did not become healthy")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--residents", type=int, default=200)
    args = ap.parse_args()

    side = WeChatSide(token=DEMO_TOKEN, app_id=DEMO_APP_ID, encoding_aes_key=demo_aes_key(), mode="safe")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--port", str(port), "--data", data],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(base, process)
            warmup = _build(side, 100, args.residents, 10**9)
            asyncio.run(_load(base + "/wechat", side, warmup, args.concurrency))
            requests = _build(side, args.messages, args.residents, 2 * 10**9)
            latencies, elapsed, errors, empty = asyncio.run(
                _load(base + "/wechat", side, requests, args.concurrency))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    rate = len(latencies) / elapsed
    print(f"callback load: {args.messages} encrypted messages from {args.residents} residents, "
          f"concurrency {args.concurrency}, on {os.cpu_count()} cores")
    print(f"  end to end: {rate:,.0f} msg/s, p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {_percentile(latencies, 99) * 1000:.1f} ms, {errors} errors, {empty} empty replies")
    per_message = _floor(side, requests)
    print(f"  protocol floor (verify + decrypt + parse + render + encrypt, one thread): "
          f"{per_message * 1e6:.0f} µs/msg = {1 / per_message:,.0f} msg/s")
    print(f"  the floor is {1 / per_message / rate:.1f}x the end-to-end rate: the rest is HTTP, the matcher, "
          f"templates and the store")


if __name__ == "__main__":
    main()
