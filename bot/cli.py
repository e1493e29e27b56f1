"""The `frontdesk` command: serve, demo, match, check-kb, kb import/export …"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

from bot.config import PROJECT_ROOT, Config
from bot.errors import ConfigError, KnowledgeError
from bot import kb_commands
from bot.store.staff import COUNTY_ROLES, ROLES

log = logging.getLogger("frontdesk")


def _logging(level: str = "INFO") -> None:
    from bot.personal import MaskPersonalData

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:   # no 身份证号 or phone number reaches a log file
        handler.addFilter(MaskPersonalData())


def _run(app: web.Application, host: str, port: int, banner: list[str], pid_file: Path | None = None,
         shared_port: bool = False) -> None:
    from bot.app import LIBRARY

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_port=shared_port or None)
        await site.start()
        if ready := os.environ.get(READY_DIR):   # a worker of the supervisor: tell it this one got going
            Path(ready, str(os.getpid())).touch()
        if pid_file is not None:
            pid_file.parent.mkdir(parents=True, exist_ok=True)
            pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(app[LIBRARY].reload()))
        for line in banner:
            print(line, flush=True)
        await stop.wait()
        await runner.cleanup()
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)

    asyncio.run(main())


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.app import create_app

    config = Config.load(args.config)
    _logging(config.log.level)
    s = config.server
    if args.workers < 1:
        print("--workers: expected 1 or more", file=sys.stderr)
        return 2
    if args.workers > 1 and config.store.url.startswith("sqlite"):
        print(f"--workers {args.workers}: several workers share their state through PostgreSQL; set [store] url = "
              '"postgresql://…" (SQLite serves one process)', file=sys.stderr)
        return 2
    if args.workers > 1:
        _check_worker_needs(config)   # a ConfigError or KnowledgeError stops here, before any worker
        return _supervise(args, config.resolve(s.pid_file))
    app = create_app(config)
    banner = f"frontdesk serving http://{s.host}:{s.port}{s.wechat_path} (mode {config.wechat.mode})"
    _run(app, s.host, s.port, [banner + (f", worker {os.getpid()}" if args.worker else "")],
         pid_file=None if args.worker else config.resolve(s.pid_file), shared_port=args.worker)
    return 0


def _check_worker_needs(config: Config) -> None:
    """What every worker needs before it can start: the keys for personal data and a knowledge
    base that loads. Checked once by the supervisor, so a broken one is said plainly and the
    supervisor exits, rather than starting workers that die at once, again and again."""
    from bot.knowledge.loader import load_knowledge
    from bot.vault import Vault

    Vault.from_env()
    load_knowledge(config.knowledge_dir)


FAST_EXIT = 15      # seconds: a worker that dies before it listens, or this soon after starting, did not get going …
GIVE_UP_AFTER = 3   # … and after this many such deaths in a row the supervisor stops, non-zero
READY_DIR = "FRONTDESK_READY_DIR"   # where a worker of the supervisor leaves its pid once it listens


def _ignore_reload_while_starting() -> None:
    """In a new worker, before Python starts: SIGHUP ignored until its event loop takes it, so a
    `reload` arriving while it starts does not end it (the default action of SIGHUP)."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _supervise(args: argparse.Namespace, pid_file: Path) -> int:
    """Run `--workers N` processes on one port (SO_REUSEPORT: the kernel spreads connections),
    start again any that dies, pass SIGHUP (reload) on, and stop them all on SIGTERM or SIGINT.
    Workers that keep dying as soon as they start are not started for ever: after GIVE_UP_AFTER
    fast deaths in a row (before listening, however long loading the knowledge base took, or
    within FAST_EXIT seconds) the supervisor stops the others and exits 1, so systemd sees it."""
    from bot.knowledge.offload import WORKERS
    from bot.metrics import MULTIPROCESS_DIR

    command = [sys.executable, "-m", "bot.cli", "serve", "--config", args.config, "--worker"]
    # the workers' counters, summed by whichever worker is scraped; a fresh folder for each run
    counters = tempfile.mkdtemp(prefix="frontdesk-metrics-")
    ready = Path(tempfile.mkdtemp(prefix="frontdesk-ready-"))
    env = {**os.environ, MULTIPROCESS_DIR: counters, READY_DIR: str(ready), WORKERS: str(args.workers)}

    def start() -> subprocess.Popen:
        return subprocess.Popen(command, env=env, preexec_fn=_ignore_reload_while_starting)

    workers = [start() for _ in range(args.workers)]
    started = [time.monotonic()] * args.workers
    fast_deaths = 0
    stopping, reloads, status = False, 0, 0

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    def reload(_signum: int, _frame: object) -> None:
        nonlocal reloads
        reloads += 1

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
    print(f"frontdesk supervising {args.workers} workers: {', '.join(str(w.pid) for w in workers)}", flush=True)
    supervisor_log = logging.getLogger(__name__)
    try:
        while not stopping:
            time.sleep(0.2)
            for _ in range(reloads):
                for worker in workers:
                    worker.send_signal(signal.SIGHUP)
            reloads = 0
            for n, worker in enumerate(workers):
                if worker.poll() is None or stopping:
                    continue
                lived = time.monotonic() - started[n]
                listened = (ready / str(worker.pid)).exists()
                fast_deaths = fast_deaths + 1 if lived < FAST_EXIT or not listened else 0
                if fast_deaths >= GIVE_UP_AFTER:
                    supervisor_log.error("workers keep exiting as soon as they start (the last with %s after "
                                         "%.1f s); stopping — see the lines above for why", worker.returncode, lived)
                    stopping, status = True, 1
                    break
                supervisor_log.error("worker %d exited with %s after %.1f s; starting another",
                                     worker.pid, worker.returncode, lived)
                workers[n], started[n] = start(), time.monotonic()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        pid_file.unlink(missing_ok=True)
        shutil.rmtree(counters, ignore_errors=True)
        shutil.rmtree(ready, ignore_errors=True)
    return status


def cmd_reload(args: argparse.Namespace) -> int:
    """Ask the running server to read the knowledge files again — centers, synonyms, intents,
    referrals; guides and life events are the store's (`kb import`) — checked first with the
    store's guides (the server keeps the old ones if the new ones are broken, and logs why)."""
    from bot.knowledge.loader import load_knowledge
    from bot.store import open_store

    config = Config.load(args.config)

    async def published() -> list[tuple[str, dict]]:
        store = await open_store(config.store.url, config.base_dir)
        try:
            return await store.guides.published()
        finally:
            await store.close()

    try:
        load_knowledge(config.knowledge_dir, asyncio.run(published()) or None)
    except KnowledgeError as e:
        print("not reloading: the knowledge base has problems:\n" + str(e), file=sys.stderr)
        return 1
    pid_file = config.resolve(config.server.pid_file)
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as e:
        print(f"no running server found through {pid_file}: {e}", file=sys.stderr)
        return 1
    print(f"asked the server (pid {pid}) to reload {config.knowledge_dir}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import DEMO_PASSWORD, DEMO_STAFF, create_demo_app, demo_config

    _logging("INFO")
    data_dir = Path(args.data).resolve()
    config = demo_config(args.port, data_dir)
    app = create_demo_app(config, seed=not args.empty)
    base = f"http://127.0.0.1:{args.port}"
    _run(app, "127.0.0.1", args.port, [
        "便民服务前台 demo is running:",
        f"  chat simulator   {base}/sim",
        f"  WeChat callback  {base}/wechat  (safe mode, token {config.wechat.token})",
        f"  fake WeChat API  {base}/fakewx/cgi-bin/…",
        f"  staff console    {base}/console  (password {DEMO_PASSWORD} for "
        + ", ".join(f"{name} ({role}{', ' + center if center else ''})" for name, center, role in DEMO_STAFF) + ")",
        f"  health, metrics  {base}/healthz  {base}/metrics",
        f"  data folder      {data_dir}",
        *([] if args.empty else ["  a fresh data folder gets a month of made-up work a few seconds after start "
                                 "(--empty: none); /sim lists its residents to play as"]),
        "Press Ctrl+C to stop.",
    ])
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from bot.knowledge.library import build

    edition = build(Path(args.kb))
    for line in sys.stdin:
        question = line.rstrip("\n")
        if not question.strip():
            continue
        print(json.dumps(edition.matcher.match(question).as_json(), ensure_ascii=False), flush=True)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import time

    from bot.knowledge.evaluation import evaluate
    from bot.knowledge.library import build

    started = time.perf_counter()
    edition = build(Path(args.kb))
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    figures = evaluate(edition.matcher, Path(args.file))
    elapsed = time.perf_counter() - started
    print(figures.report())
    learned = edition.matcher.learned
    if learned is not None:   # the same figures for the examples, each scored with itself left out
        print(learned.calibration.report())
    print(f"knowledge base loaded and indexed in {loaded * 1000:.0f} ms; "
          f"{elapsed / max(figures.intents, 1) * 1000:.2f} ms per question on average")
    return 0


def cmd_staff_add(args: argparse.Namespace) -> int:
    import secrets

    from bot.clock import Clock
    from bot.errors import StoreError
    from bot.passwords import hash_password, weak
    from bot.store import open_store

    config = Config.load(args.config)
    if args.role not in COUNTY_ROLES and not args.center:
        print("--center is required for a clerk or supervisor", file=sys.stderr)
        return 2
    if args.center and (config.knowledge_dir / "centers.toml").exists():
        from bot.errors import KnowledgeError
        from bot.knowledge.loader import load_knowledge

        try:
            known = load_knowledge(config.knowledge_dir).centers.by_id
        except KnowledgeError as e:
            print(f"cannot check --center, the knowledge base has errors:\n{e}", file=sys.stderr)
            return 2
        if args.center not in known:
            print(f"--center {args.center}: not a center in {config.knowledge_dir / 'centers.toml'}; "
                  f"expected one of {', '.join(known)}", file=sys.stderr)
            return 2
    password = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.readline().rstrip("\n") or None
    if password is not None and weak(password):
        print("the console password needs at least 8 characters with both letters and digits (or other signs)",
              file=sys.stderr)
        return 2
    token = secrets.token_urlsafe(32)

    async def add() -> None:
        store = await open_store(config.store.url, config.base_dir)
        try:
            await store.staff.add(name=args.name, center=args.center, role=args.role, token=token,
                                  now=Clock().now(), password_hash=hash_password(password) if password else None)
        finally:
            await store.close()

    try:
        asyncio.run(add())
    except StoreError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"staff member {args.name} ({args.role}, center {args.center or 'all'}) added; API token:")
    print(token)
    return 0


def cmd_staff_token(args: argparse.Namespace) -> int:
    """A new API token for a staff account (one made in the console has none its member knows), or
    with --revoke none that works: either way the old token stops working at once. Audited."""
    import secrets

    from bot.clock import Clock
    from bot.store import open_store

    config = Config.load(args.config)
    token = secrets.token_urlsafe(32)

    async def replace() -> bool:
        store = await open_store(config.store.url, config.base_dir)
        try:
            if not await store.staff.replace_token(args.name, token):
                return False
            await store.audit.add(actor="command line", role="admin", target=args.name, now=Clock().now(),
                                  action="staff_token_revoked" if args.revoke else "staff_token_issued")
            return True
        finally:
            await store.close()

    if not asyncio.run(replace()):
        print(f"no staff member named {args.name}", file=sys.stderr)
        return 1
    if args.revoke:
        print(f"the API token of {args.name} no longer works; issue a new one with `frontdesk staff token`")
        return 0
    print(f"a new API token for {args.name} (the old one no longer works):")
    print(token)
    return 0


def cmd_retention_run(args: argparse.Namespace) -> int:
    """The retention purge now, as the server runs it at start and every [retention] check_hours."""
    from bot.clock import Clock
    from bot.retention import Retention
    from bot.store import open_store

    config = Config.load(args.config)

    async def purge() -> dict[str, int]:
        store = await open_store(config.store.url, config.base_dir)
        try:
            return await Retention(store, Clock(), config.retention).purge()
        finally:
            await store.close()

    print(json.dumps(asyncio.run(purge()), ensure_ascii=False))
    return 0


def cmd_keys_new(args: argparse.Namespace) -> int:
    from bot.vault import ENV, new_key

    print(f"# a new key for personal data at rest; put it first in {ENV} (comma-separated, newest first)")
    print(new_key())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Encrypt all stored personal data again with the newest key in the environment."""
    from bot.store import open_store
    from bot.vault import ENV, Vault

    config = Config.load(args.config)
    vault = Vault.from_env()

    async def rotate() -> tuple[int, int, int]:
        store = await open_store(config.store.url, config.base_dir, vault, redis_url=config.redis.url)
        try:
            return await store.cases.reseal(), await store.dialogs.reseal(), await store.inquiries.reseal()
        finally:
            await store.close()

    cases, dialogs, questions = asyncio.run(rotate())
    print(f"personal data of {cases} cases and {dialogs} dialogs in progress, and the numbers typed into "
          f"{questions} questions, encrypted with the first key in {ENV}; the other keys can now be removed")
    return 0


def cmd_resident(args: argparse.Namespace) -> int:
    """export: everything kept about a resident, as JSON on stdout; erase: delete it (their cases
    stay for the statistics, anonymous). Both are written to the audit log."""
    from bot.clock import Clock
    from bot.store import open_store
    from bot.vault import Vault

    config = Config.load(args.config)
    if args.resident_command == "erase" and not args.yes:
        print(f"this erases everything kept about {args.openid}; run again with --yes to do it", file=sys.stderr)
        return 2

    async def act() -> dict:
        store = await open_store(config.store.url, config.base_dir, Vault.from_env(), redis_url=config.redis.url)
        try:
            if args.resident_command == "export":
                result = await store.privacy.export(args.openid)
                if result["unreadable"]:
                    print(f"{len(result['unreadable'])} value(s) could not be opened with the keys in "
                          f"FRONTDESK_DATA_KEYS (shown as unreadable): {'; '.join(result['unreadable'])}",
                          file=sys.stderr)
            else:
                result = await store.privacy.erase(args.openid)
            await store.audit.add(actor="command line", role="admin", action=f"resident_{args.resident_command}",
                                  target=args.openid, detail=json.dumps(result, ensure_ascii=False)[:200]
                                  if args.resident_command == "erase" else "", now=Clock().now())
            return result
        finally:
            await store.close()

    result = asyncio.run(act())
    if args.resident_command == "export":
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        print("erased: " + ", ".join(f"{kind} {n}" for kind, n in result.items()))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

    try:
        written = backup(Config.load(args.config), Path(args.to))
    except BackupError as e:
        print(f"backup failed: {e}", file=sys.stderr)
        return 1
    print(f"backup written to {written} ({written.stat().st_size:,} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, restore

    try:
        restore(Config.load(args.config), Path(args.source))
    except BackupError as e:
        print(f"restore failed: {e}", file=sys.stderr)
        return 1
    print(f"restored from {args.source}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="frontdesk", description="便民服务前台: WeChat front desk of service centers")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the real server")
    serve.add_argument("--config", required=True, help="TOML config file (see config.example.toml)")
    serve.add_argument("--workers", type=int, default=1,
                       help="processes sharing the port (more than 1 needs a PostgreSQL store)")
    serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)   # one of --workers N
    serve.set_defaults(func=cmd_serve)
    keys = sub.add_parser("keys", help="keys for personal data at rest").add_subparsers(dest="keys_command",
                                                                                        required=True)
    keys.add_parser("new", help="print a new key").set_defaults(func=cmd_keys_new)
    rotate = keys.add_parser("rotate", help="encrypt all stored personal data again with the newest key")
    rotate.add_argument("--config", required=True)
    rotate.set_defaults(func=cmd_keys_rotate)
    resident = sub.add_parser("resident", help="a resident's data: export or erase on request").add_subparsers(
        dest="resident_command", required=True)
    for name, what in (("export", "print everything kept about a resident as JSON"),
                       ("erase", "erase everything kept about a resident (their cases stay, anonymous)")):
        command = resident.add_parser(name, help=what)
        command.add_argument("--config", required=True)
        command.add_argument("openid")
        if name == "erase":
            command.add_argument("--yes", action="store_true", help="really erase")
        command.set_defaults(func=cmd_resident)
    backup = sub.add_parser("backup", help="write a backup of the store (SQLite online, or pg_dump)")
    backup.add_argument("--config", required=True)
    backup.add_argument("--to", required=True, help="the backup file to write")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="put a backup back (SQLite: with the server stopped)")
    restore.add_argument("--config", required=True)
    restore.add_argument("--from", dest="source", required=True, help="the backup file to read")
    restore.set_defaults(func=cmd_restore)
    staff = sub.add_parser("staff", help="staff accounts").add_subparsers(dest="staff_command", required=True)
    staff_add = staff.add_parser("add", help="create a staff account; prints its API token on the last line")
    staff_add.add_argument("--config", required=True)
    staff_add.add_argument("--name", required=True)
    staff_add.add_argument("--center", help="center id; leave out for an admin, who sees every center")
    staff_add.add_argument("--role", required=True, choices=ROLES)
    staff_add.set_defaults(func=cmd_staff_add)
    staff_token = staff.add_parser("token", help="a new API token for a staff account (the old one stops working); "
                                                 "prints it on the last line")
    staff_token.add_argument("--config", required=True)
    staff_token.add_argument("--name", required=True)
    staff_token.add_argument("--revoke", action="store_true", help="only stop the current token working")
    staff_token.set_defaults(func=cmd_staff_token)
    retention = sub.add_parser("retention", help="the retention purge").add_subparsers(dest="retention_command",
                                                                                       required=True)
    retention_run = retention.add_parser("run", help="delete now what has outlived its [retention] period")
    retention_run.add_argument("--config", required=True)
    retention_run.set_defaults(func=cmd_retention_run)
    reload = sub.add_parser("reload", help="make the running server reload the knowledge base")
    reload.add_argument("--config", required=True)
    reload.set_defaults(func=cmd_reload)
    demo = sub.add_parser("demo", help="everything on one machine, with a chat simulator at /sim")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--data", default="data/demo", help="folder for the demo database")
    demo.add_argument("--empty", action="store_true",
                      help="start without the month of made-up work a fresh demo store is given")
    demo.set_defaults(func=cmd_demo)
    match = sub.add_parser("match", help="match questions from stdin, one JSON line each")
    match.add_argument("--kb", default=str(PROJECT_ROOT / "knowledge"), help="knowledge base folder")
    match.add_argument("--json", action="store_true", help="JSON lines output (the default and only format)")
    match.set_defaults(func=cmd_match)
    ev = sub.add_parser("eval", help="measure the matcher on a labelled TSV (shared/eval/dev.tsv format)")
    ev.add_argument("file")
    ev.add_argument("--kb", default=str(PROJECT_ROOT / "knowledge"), help="knowledge base folder")
    ev.set_defaults(func=cmd_eval)
    kb_commands.add_to(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    except KnowledgeError as e:
        print("the knowledge base has problems:\n" + str(e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
