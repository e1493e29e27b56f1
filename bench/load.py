"""Load benchmark of the official-account callback on loopback.

    .venv/bin/python bench/load.py [--messages 2000] [--concurrency 20] [--residents 200]

Starts `frontdesk demo` in its own process (its own event loop, a fresh SQLite database in a
temporary folder), sends encrypted text messages through `/wechat` exactly as WeChat's servers
do, checks that every reply decrypts to a non-empty answer, and prints messages/s with p50 and
p99 latency. Beside it prints the cost floor: signature check + decrypt + parse + render +
encrypt alone, for the same messages, in one thread, with no HTTP; the ratio shows what
everything else (HTTP, the matcher, templates, the store) costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.demo import DEMO_ACCOUNT, DEMO_APP_ID, DEMO_TOKEN, demo_aes_key  # noqa: E402
from bot.replies import TextReply  # noqa: E402
from bot.texts import Texts  # noqa: E402
from bot.wechat.protocol import Protocol  # noqa: E402
from bot.wechat.simulator import WeChatSide, text_xml  # noqa: E402

HOST = "127.0.0.1"  # loopback only
QUESTIONS = [
    "老年证怎么办", "老年人优待证要带什么材料", "低保要带什么材料", "社保卡丢了怎么办", "第一次办社保卡要带什么",
    "身份证丢了怎么补", "领结婚证要带什么", "办残疾证", "高龄补贴怎么领", "在外地看病怎么备案",
    "农村盖房子要审批吗", "你好", "孩子出生了户口怎么上", "明天下雨吗", "便民服务中心几点上班",
]
# (no 转人工: it opens a conversation with a clerk, and the resident's next messages go to the clerk
# without a reply from the bot, which this benchmark would count as empty)
WARMUP = 100          # messages sent (and not measured) before the run
STARTUP_SECONDS = 60  # for the server to answer /healthz
REQUEST_SECONDS = 30  # for any single request


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def build(side: WeChatSide, count: int, residents: int, who: str = "bench") -> list[tuple[dict, bytes]]:
    """Signed, encrypted callbacks. Their timestamps must stay within 300 s of the server's clock,
    so they are built right before they are sent. Residents take turns; each asks a random (but
    reproducible) mix of questions, so follow-ups, repeats and new topics all occur."""
    rng = random.Random(who)
    return [side.seal(text_xml(f"{who}-resident-{i % residents:04d}", rng.choice(QUESTIONS), DEMO_ACCOUNT))
            for i in range(count)]


@contextlib.contextmanager
def demo_server() -> Iterator[tuple[str, subprocess.Popen, Path, Path]]:
    """`frontdesk demo` in its own process on a free loopback port, with a fresh data folder:
    yields (base URL, process, data folder, log file) once it answers /healthz, and always stops
    it (SIGTERM to its pid, then SIGKILL)."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    frontdesk = Path(sys.executable).parent / "frontdesk"
    if not frontdesk.exists():
        frontdesk = ROOT / ".venv" / "bin" / "frontdesk"
    with tempfile.TemporaryDirectory(prefix="frontdesk-bench-") as tmp:
        log_path, data = Path(tmp) / "server.log", Path(tmp) / "data"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([str(frontdesk), "demo", "--empty", "--port", str(port), "--data", str(data)],
                                       cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(base, process, log_path)
            yield base, process, data, log_path
        finally:
            process.terminate()  # SIGTERM to our own child, by its pid
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(base: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"the demo server exited early with code {process.returncode}", log_path)
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    fail(f"the demo server did not answer /healthz within {STARTUP_SECONDS} s", log_path)


def fail(message: str, log_path: Path) -> None:
    tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-20:] if log_path.exists() else []
    raise SystemExit("\n".join([message, "server log (last lines):", *tail]))


async def send_all(url: str, requests: list[tuple[dict, bytes]], concurrency: int, budget: float):
    """POST every request with `concurrency` workers. Returns (results, elapsed seconds); each
    result is (latency s, status or None, body or error text), or None if never sent (the run's
    budget ran out). Replies are checked afterwards,
    so the client's own decryption does not slow the run."""
    results: list[tuple[float, int | None, str] | None] = [None] * len(requests)
    pending = iter(range(len(requests)))

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in pending:  # a shared iterator: each index is taken by exactly one worker
            query, body = requests[i]
            started = time.perf_counter()
            try:
                async with session.post(url, params=query, data=body) as resp:
                    text = await resp.text()
                results[i] = (time.perf_counter() - started, resp.status, text)
            except (aiohttp.ClientError, TimeoutError) as e:
                results[i] = (time.perf_counter() - started, None, f"{type(e).__name__}: {e}")

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_SECONDS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.gather(*(worker(session) for _ in range(concurrency))), budget)
        except TimeoutError:
            print(f"warning: the run was stopped after its {budget:.0f} s budget", file=sys.stderr)
        elapsed = time.perf_counter() - started
    return results, elapsed


def check(side: WeChatSide, results: list) -> tuple[list[str], list[str], dict]:
    """Failures (no 200, or a reply that does not open), empty replies, and a tally of kinds."""
    texts = Texts()
    wait, sorry = texts.chat("please_wait"), texts.chat("error")
    failures, empty = [], []
    kinds = {"text": 0, "transfer": 0, "please wait": 0, "apology": 0}
    for i, result in enumerate(results):
        if result is None:
            continue
        _, status, body = result
        if status != 200:
            failures.append(f"#{i}: {status or 'no response'}: {body[:120]}")
            continue
        try:
            reply = side.open_reply(body)
        except Exception as e:  # noqa: BLE001 - any reply that does not open is a failure
            failures.append(f"#{i}: reply does not open: {type(e).__name__}: {e}")
            continue
        kind = (reply or {}).get("MsgType")
        content = (reply or {}).get("Content") or ""
        if kind == "transfer_customer_service":
            kinds["transfer"] += 1
        elif kind == "text" and content.strip():
            kinds["text"] += 1
            kinds["please wait"] += content == wait  # the answer missed the deadline, follows later
            kinds["apology"] += content == sorry      # the server hit an error
        else:
            empty.append(f"#{i}: {body[:120]!r}")
    return failures, empty, kinds


def protocol_floor(requests: list[tuple[dict, bytes]], built_at: float) -> float:
    """Seconds per message for verify + decrypt + parse + render + encrypt, one thread."""
    protocol = Protocol(token=DEMO_TOKEN, app_id=DEMO_APP_ID, encoding_aes_key=demo_aes_key(), mode="safe",
                        max_body_bytes=65536, timestamp_window=300,
                        now=lambda: built_at)  # the messages' own clock, however long the load took
    reply = TextReply("收到")
    best = float("inf")
    for _ in range(3):  # the best of three passes, so a noisy neighbour does not raise the floor
        started = time.perf_counter()
        for query, body in requests:
            opened = protocol.open(body, query)
            protocol.seal(reply, opened.message, opened)
        best = min(best, time.perf_counter() - started)
    return best / len(requests)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far; Linux /proc, NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--residents", type=int, default=200)
    ap.add_argument("--budget", type=float, default=240,
                    help="seconds allowed for the measured run (messages expire after 300 s)")
    args = ap.parse_args()
    if min(args.messages, args.concurrency, args.residents) < 1:
        ap.error("--messages, --concurrency and --residents must be at least 1")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below: stop the server too
    side = WeChatSide(token=DEMO_TOKEN, app_id=DEMO_APP_ID, encoding_aes_key=demo_aes_key(), mode="safe")
    with demo_server() as (base, process, _, log_path):
        # Warm up connections, caches and SQLite with messages from residents outside the run.
        asyncio.run(send_all(base + "/wechat", build(side, WARMUP, WARMUP, "warmup"), args.concurrency, 60))
        built_at = time.time()
        requests = build(side, args.messages, args.residents)
        cpu = cpu_seconds(process.pid), time.process_time()
        results, elapsed = asyncio.run(send_all(base + "/wechat", requests, args.concurrency, args.budget))
        cpu = cpu_seconds(process.pid) - cpu[0], time.process_time() - cpu[1]
        if process.poll() is not None:
            fail(f"the demo server died during the run (code {process.returncode})", log_path)

    failures, empty, kinds = check(side, results)
    unsent = results.count(None)
    latencies = [r[0] for r in results if r is not None and r[1] == 200]
    rate = len(latencies) / elapsed if elapsed else 0.0
    p50 = percentile(latencies, 50) * 1000 if latencies else float("nan")
    p99 = percentile(latencies, 99) * 1000 if latencies else float("nan")
    print(f"callback load: {args.messages} msgs from {args.residents} residents, concurrency {args.concurrency} "
          f"({os.cpu_count()} cores, client and server share them): {rate:,.0f} msg/s, "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {len(failures)} errors, {len(empty)} empty"
          + (f", {unsent} not sent (out of time)" if unsent else ""))
    print("  replies: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
    print(f"  cpu busy during the run (1.0 = one core): server {cpu[0] / elapsed:.2f}, client {cpu[1] / elapsed:.2f}")
    for line in (failures + empty)[:10]:
        print("  ! " + line)
    if len(failures) + len(empty) > 10:
        print(f"  ! … and {len(failures) + len(empty) - 10} more")

    per_message = protocol_floor(requests, built_at)
    print(f"protocol floor (verify+decrypt+parse+render+encrypt, one thread): "
          f"{per_message * 1e6:.0f} µs/msg = {1 / per_message:,.0f} msg/s")
    if rate:
        print(f"the bot's own work: floor is {1 / per_message / rate:.1f}x the end-to-end rate")
    if failures or empty or unsent:
        sys.exit(1)


if __name__ == "__main__":
    main()
