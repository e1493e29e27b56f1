"""`frontdesk serve --workers N` as an operator meets it: what every worker needs is checked before
any starts, workers that keep dying at once are not restarted for ever, and a reload arriving
while a worker starts does not end it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from bot.config import PROJECT_ROOT
from bot.vault import ENV
from tests.test_workers import _config
from tests.support import stop

SERVE = [sys.executable, "-m", "bot.cli", "serve", "--workers", "2", "--config"]


def _serve(config, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.Popen([*SERVE, str(config)], stderr=subprocess.STDOUT, text=True, cwd=PROJECT_ROOT,
                            env={**os.environ, **(env or {})}, **kwargs)


def test_a_malformed_key_stops_the_supervisor_before_any_worker_starts(tmp_path):
    config = _config(tmp_path, 1, "postgresql://nobody@127.0.0.1:9/none", "http://127.0.0.1:9", "")
    for keys in ("not-a-key", ""):
        supervisor = _serve(config, {ENV: keys})
        output, _ = supervisor.communicate(timeout=60)
        assert supervisor.returncode == 2, output
        assert ENV in output and "supervising" not in output


def test_a_broken_knowledge_base_stops_the_supervisor_naming_the_line(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(PROJECT_ROOT / "knowledge", kb)
    guide = kb / "guides" / "高龄津贴申领.toml"
    guide.write_text(guide.read_text(encoding="utf-8").replace("promised_days = ", "promised_days = \"十天\" #"),
                     encoding="utf-8")
    config = _config(tmp_path, 1, "postgresql://nobody@127.0.0.1:9/none", "http://127.0.0.1:9", "")
    config.write_text(config.read_text(encoding="utf-8").replace(str(PROJECT_ROOT / "knowledge"), str(kb)),
                      encoding="utf-8")
    supervisor = _serve(config)
    output, _ = supervisor.communicate(timeout=60)
    assert supervisor.returncode == 2 and "高龄津贴申领.toml:" in output and "supervising" not in output


async def test_workers_that_die_as_they_start_are_given_up_and_the_supervisor_exits_non_zero(tmp_path,
                                                                                          postgres_server):
    store_url = postgres_server.url_for(await postgres_server.new_schema())
    config = _config(tmp_path, 1, store_url, "http://127.0.0.1:9", "")
    port = int(config.read_text().split("port = ", 1)[1].split()[0])
    taken = socket.socket()                       # another program holds the port, without SO_REUSEPORT
    taken.bind(("127.0.0.1", port))
    taken.listen()
    supervisor = _serve(config)
    try:
        started = time.monotonic()
        output, _ = supervisor.communicate(timeout=180)
        assert supervisor.returncode == 1, output
        assert "keep exiting as soon as they start" in output and output.count("starting another") <= 3
        assert time.monotonic() - started < 170
    finally:
        stop(supervisor)
        taken.close()


async def test_a_reload_while_the_workers_start_does_not_end_them(tmp_path, postgres_server):
    store_url = postgres_server.url_for(await postgres_server.new_schema())
    config = _config(tmp_path, 1, store_url, "http://127.0.0.1:9", "")
    pid_file = tmp_path / "data" / "frontdesk.pid"   # written once the supervisor takes reloads
    log = tmp_path / "supervisor.log"
    supervisor = _serve(config, stdout=log.open("w"))
    try:
        for _ in range(300):
            if pid_file.exists():
                break
            time.sleep(0.02)
        for _ in range(5):                        # `frontdesk reload` while the workers still import
            os.kill(int(pid_file.read_text()), signal.SIGHUP)
            time.sleep(0.2)
        for _ in range(900):                      # every worker up, however busy the machine
            output = log.read_text()
            if output.count("frontdesk serving") == 2 or "starting another" in output:
                break
            time.sleep(0.1)
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=60)
        output = log.read_text()
        assert supervisor.returncode == 0, output
        assert "starting another" not in output and output.count("frontdesk serving") == 2
    finally:
        stop(supervisor)
