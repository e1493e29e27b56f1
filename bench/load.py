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
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import sqlite3
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
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
    frontdesk = Path(sys.executable).parent / "frontdesk"
    if not frontdesk.exists():
        frontdesk = ROOT / ".venv" / "bin" / "frontdesk"
    with tempfile.TemporaryDirectory(prefix="frontdesk-bench-") as tmp:
        data = Path(tmp) / "data"
        with serving([str(frontdesk), "demo", "--empty", "--port", str(port), "--data", str(data)], ROOT, port,
                     Path(tmp), "/healthz") as (base, process, log_path):
            wait_helper(base, log_path)
            yield base, process, data, log_path


def _metrics(base: str) -> str:
    with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
        return resp.read().decode()


def wait_helper(base: str, log_path: Path, seconds: float = 90) -> None:
    """Until the server's matcher helper processes read its questions (those of its workers
    that have one): ten scrapes in a row, each on a new connection (so by any worker of
    `serve --workers N`), without a helper still learning."""
    deadline, in_a_row = time.monotonic() + seconds, 0
    while in_a_row < 10:
        if time.monotonic() > deadline:
            fail(f"the matcher's helper processes were not ready within {seconds:.0f} s", log_path)
        learning = "frontdesk_matcher_helper_ready 0.0" in _metrics(base)
        in_a_row = 0 if learning else in_a_row + 1
        time.sleep(0.2 if learning else 0.02)


def questions_read(base: str) -> dict[str, float]:
    """Questions read so far, by where: {"helper": …, "worker": …} (empty without a helper)."""
    found = re.findall(r'^frontdesk_questions_read_total\{where="(\w+)"\} (\S+)$', _metrics(base), re.MULTILINE)
    return {where: float(n) for where, n in found}


WEROBOT_VERSION = "1.13.1"
WEROBOT_VENV = ROOT / "bench" / ".venv-werobot"   # git-ignored; made by `werobot_venv` on first use
WEROBOT_PACKAGES = [f"werobot=={WEROBOT_VERSION}", "waitress==3.0.2", "cryptography>=42"]


def werobot_venv() -> Path:
    """The python of WeRoBot's own venv, made (with pip, from the package index) if missing."""
    python = WEROBOT_VENV / "bin" / "python"
    probe = [str(python), "-c", "import werobot, waitress; print(werobot.__version__)"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == WEROBOT_VERSION:
            return python
    print(f"making {WEROBOT_VENV.relative_to(ROOT)} with {', '.join(WEROBOT_PACKAGES)} …", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(WEROBOT_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *WEROBOT_PACKAGES], check=True)
    found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode != 0 or found.stdout.strip() != WEROBOT_VERSION:
        raise SystemExit(f"WeRoBot {WEROBOT_VERSION} did not install: {found.stderr.strip()[-300:]}")
    return python


@contextlib.contextmanager
def werobot_server(under: str | None) -> Iterator[tuple[str, subprocess.Popen, Path, Path]]:
    """bench/werobot_peer.py in WeRoBot's venv, with the demo's token and keys, its session file in
    a fresh folder (in `under`, else in the temporary folder beside ours): yields (base URL,
    process, that folder, log file)."""
    python = werobot_venv()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="werobot-bench-", dir=under) as tmp:
        command = [str(python), str(ROOT / "bench" / "werobot_peer.py"), str(port), DEMO_TOKEN, DEMO_APP_ID,
                   demo_aes_key()]
        with serving(command, Path(tmp), port, Path(tmp), None) as (base, process, log_path):
            yield base, process, Path(tmp), log_path


def session_count(folder: Path) -> int:
    """The messages WeRoBot's sessions in `folder` counted, all residents of the measured runs
    together (not those of the warm-up)."""
    with contextlib.closing(sqlite3.connect(folder / "werobot_session.sqlite3")) as db:
        rows = db.execute("SELECT value FROM WeRoBot WHERE CAST(id AS TEXT) NOT LIKE 'warmup-%'")
        return sum(json.loads(value).get("count", 0) for (value,) in rows)


@contextlib.contextmanager
def serving(command: list[str], cwd: Path, port: int, tmp: Path, health: str | None
            ) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """`command` in its own process, serving on loopback `port`: yields (base URL, process, log
    file) once it answers `health` with 200 (or, with None, answers anything), and always stops it
    (SIGTERM to its pid, then SIGKILL)."""
    base = f"http://{HOST}:{port}"
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(base, health, process, log_path)
        yield base, process, log_path
    finally:
        process.terminate()  # SIGTERM to our own child, by its pid
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(base: str, health: str | None, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"the server exited early with code {process.returncode}", log_path)
        try:
            with urllib.request.urlopen(base + (health or "/"), timeout=1) as resp:
                if resp.status == 200 or health is None:
                    return
        except urllib.error.HTTPError:
            if health is None:
                return   # it answers
        except OSError:
            pass
        time.sleep(0.1)
    fail(f"the server did not answer within {STARTUP_SECONDS} s", log_path)


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


@contextlib.contextmanager
def sampling(pid: int, out: str | None, subprocesses: bool = False) -> Iterator[None]:
    """py-spy sampling process `pid` (every thread, idle ones left out; with `subprocesses`, its
    child processes too) while the block runs; its collapsed stacks written to `out`. Nothing
    when `out` is None."""
    if out is None:
        yield
        return
    spy = Path(sys.executable).parent / "py-spy"
    sampler = subprocess.Popen([str(spy), "record", "--pid", str(pid), *(["--subprocesses"] if subprocesses else []),
                                "--rate", "250", "--format", "raw", "--output", out, "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1)   # py-spy attaches
    try:
        yield
    finally:
        sampler.send_signal(signal.SIGINT)   # our own child: py-spy writes its file and exits
        _, err = sampler.communicate(timeout=30)
        if sampler.returncode not in (0, -signal.SIGINT):
            print(f"py-spy failed: {err.decode(errors='replace')[-300:]}", file=sys.stderr)


def _stat_fields(stat: Path) -> list[str] | None:
    """The fields of a /proc …/stat file after the command's name (state, ppid …); None when it
    cannot be read (the process ended)."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by process `root` and every process under it, those
    already ended and waited for included; Linux /proc."""
    stats = {int(entry.name): fields for entry in Path("/proc").iterdir()
             if entry.name.isdigit() and (fields := _stat_fields(entry / "stat")) is not None}
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += sum(int(f) for f in stats[pid][11:15])   # utime, stime, cutime, cstime
            todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def _stat_cpu(stat: Path) -> float:
    """User + system CPU seconds from a /proc …/stat file; NaN when it cannot be read."""
    fields = _stat_fields(stat)
    if fields is None:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loop_cpu(pid: int) -> float:
    """CPU seconds used so far by a process's first thread (ours runs the event loop there, and
    with it everything but the store's threads); Linux /proc, NaN elsewhere."""
    return _stat_cpu(Path(f"/proc/{pid}/task/{pid}/stat"))


@dataclass
class Row:
    """One server's figures."""

    name: str
    rate: float
    p50: float
    p99: float
    bad: int           # errors, empty replies and messages not sent in time
    single_p99: float  # p99 at concurrency 1
    notes: list[str]


def measure(side: WeChatSide, url: str, process: subprocess.Popen, log_path: Path, args,
            profile: str | None = None) -> tuple[Row, list[tuple[dict, bytes]], float, dict]:
    """Warm-up, the measured run at `args.concurrency`, then `args.single` messages one at a time."""
    # Warm up connections, caches and SQLite with messages from residents outside the run.
    asyncio.run(send_all(url, build(side, WARMUP, WARMUP, "warmup"), args.concurrency, 60))
    built_at = time.time()
    requests = build(side, args.messages, args.residents)
    cpu, loop = (tree_cpu(process.pid), time.process_time()), loop_cpu(process.pid)
    with sampling(process.pid, profile):
        results, elapsed = asyncio.run(send_all(url, requests, args.concurrency, args.budget))
    cpu = tree_cpu(process.pid) - cpu[0], time.process_time() - cpu[1]
    loop = loop_cpu(process.pid) - loop
    single: list = []
    if args.single:
        single, _ = asyncio.run(send_all(url, build(side, args.single, args.residents, "single"), 1, args.budget))
    if process.poll() is not None:
        fail(f"the server died during the run (code {process.returncode})", log_path)

    failures, empty, kinds = check(side, results + single)
    kinds["empty"] = len(empty)
    unsent = results.count(None) + single.count(None)
    latencies = [r[0] for r in results if r is not None and r[1] == 200]
    one_by_one = [r[0] for r in single if r is not None and r[1] == 200]
    rate = len(latencies) / elapsed if elapsed else 0.0
    notes = [f"{args.messages} msgs from {args.residents} residents, concurrency {args.concurrency}: "
             f"{rate:,.0f} msg/s, p50 {ms(latencies, 50)}, p99 {ms(latencies, 99)}, {len(failures)} errors, "
             f"{len(empty)} empty" + (f", {unsent} not sent (out of time)" if unsent else ""),
             "replies: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()),
             f"cpu busy during the run (1.0 = one core; the server's child processes included): server {cpu[0] / elapsed:.2f}, client {cpu[1] / elapsed:.2f}; "
             f"server cpu per message {cpu[0] / max(1, len(latencies)) * 1000:.2f} ms, of which its main thread "
             f"{loop / max(1, len(latencies)) * 1000:.2f} ms (busy {loop / elapsed:.2f})"]
    if args.single:
        notes.append(f"{args.single} msgs one at a time: p50 {ms(one_by_one, 50)}, p99 {ms(one_by_one, 99)}")
    notes += [f"! {line}" for line in (failures + empty)[:10]]
    if len(failures) + len(empty) > 10:
        notes.append(f"! … and {len(failures) + len(empty) - 10} more")
    row = Row("", rate, percentile_ms(latencies, 50), percentile_ms(latencies, 99), len(failures) + len(empty) + unsent,
              percentile_ms(one_by_one, 99), notes)
    return row, requests, built_at, kinds


def percentile_ms(values: list[float], p: float) -> float:
    return percentile(values, p) * 1000 if values else float("nan")


def ms(values: list[float], p: float) -> str:
    return f"{percentile_ms(values, p):.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--residents", type=int, default=200)
    ap.add_argument("--single", type=int, default=1000, help="messages sent one at a time after the run (0: none)")
    ap.add_argument("--without-werobot", action="store_true", help="measure this project only")
    ap.add_argument("--profile", metavar="FILE",
                    help="sample the server with py-spy during the measured run; collapsed stacks to FILE")
    ap.add_argument("--budget", type=float, default=240,
                    help="seconds allowed for the measured run (messages expire after 300 s)")
    args = ap.parse_args()
    if min(args.messages, args.concurrency, args.residents) < 1 or args.single < 0:
        ap.error("--messages, --concurrency and --residents must be at least 1, --single at least 0")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below: stop the server too
    side = WeChatSide(token=DEMO_TOKEN, app_id=DEMO_APP_ID, encoding_aes_key=demo_aes_key(), mode="safe")
    rows = []
    with demo_server() as (base, process, _, log_path):
        ours, requests, built_at, _ = measure(side, base + "/wechat", process, log_path, args, args.profile)
        if read := questions_read(base):
            ours.notes.append(f"questions read by the matcher's helper process: {read.get('helper', 0):,.0f}, "
                              f"by the server itself: {read.get('worker', 0):,.0f} (warm-up included)")
    ours.name = "this project (real knowledge base, SQLite store)"
    rows.append(ours)
    # WeRoBot's SQLite session commits every write with fsync (journal DELETE, synchronous FULL), ours
    # in WAL does not (synchronous NORMAL): beside its default, the same with the file in memory
    peers = [("", None)] + ([(", session file on tmpfs (no fsync)", "/dev/shm")] if Path("/dev/shm").is_dir() else [])
    for where, under in [] if args.without_werobot else peers:
        with werobot_server(under) as (base, process, folder, log_path):
            peer, _, _, kinds = measure(side, base + "/wechat", process, log_path, args)
            counted = session_count(folder)
        peer.name = f"WeRoBot {WEROBOT_VERSION} with its default SQLite session (waitress, 4 threads{where})"
        answered = kinds["text"] + kinds["empty"]   # handled (HTTP 200), with a reply or without
        peer.notes.append(f"sessions count {counted} messages of {answered} handled")
        rows.append(peer)

    for row in rows:
        print(row.name)
        for note in row.notes:
            print("  " + note)
    per_message = protocol_floor(requests, built_at)
    print(f"protocol floor (verify+decrypt+parse+render+encrypt, one thread): "
          f"{per_message * 1e6:.0f} µs/msg = {1 / per_message:,.0f} msg/s; "
          f"{1 / per_message / ours.rate:.1f}x this project's rate" if ours.rate else "")
    print()
    print(f"same load ({args.messages} safe-mode messages, concurrency {args.concurrency}, {os.cpu_count()} cores "
          "shared by client and server; p99 at concurrency 1 over "
          f"{args.single} more):")
    print(f"| server | msgs/s | p99 (c={args.concurrency}) | bad replies | p99 at concurrency 1 |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.name} | {row.rate:,.0f} | {row.p99:.1f} ms | {row.bad} | {row.single_p99:.1f} ms |")
    for peer in rows[1:]:
        if peer.rate and peer.bad <= (args.messages + args.single) // 10:
            print(f"this project / {peer.name}: {ours.rate / peer.rate:.2f}x the messages/s")
        else:   # it broke down (errors, timeouts, out of time): a ratio would say nothing
            print(f"this project / {peer.name}: no ratio, it failed this run "
                  f"({peer.bad} of {args.messages + args.single} messages not answered)")
    if ours.bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
