"""The deployment guide holds: the systemd unit in `deploy/` (the one README shows) passes
`systemd-analyze verify`, and README's PostgreSQL steps, done by `deploy/postgres-trial.sh` on a
throw-away cluster, give a `serve --workers 2` that answers a signed message."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.wechat.simulator import WeChatSide, text_xml
from tests.postgres import pg_bin
from tests.support import free_port, stop

UNIT = PROJECT_ROOT / "deploy" / "frontdesk@.service"
TRIAL = PROJECT_ROOT / "deploy" / "postgres-trial.sh"
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_shows_the_unit_in_the_repository():
    assert "```ini\n" + UNIT.read_text(encoding="utf-8") + "```" in README


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # the unit as installed, its program where this checkout's is (verify checks that it exists)
    installed = UNIT.read_text(encoding="utf-8").replace("/opt/frontdesk/.venv/bin/frontdesk",
                                                         str(Path(sys.executable).parent / "frontdesk"))
    (tmp_path / UNIT.name).write_text(installed, encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(tmp_path / UNIT.name)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr   # unknown keys only warn


def test_the_nginx_example_passes_nginx_t(tmp_path):
    nginx, openssl = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin"), shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("nginx or openssl is not installed")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=frontdesk.example.gov.cn",
                    "-days", "1", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   capture_output=True, check=True, timeout=60)
    example = re.search(r"```nginx\n(.*?)```", README, re.DOTALL).group(1)
    temp = " ".join(f"{kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                         "scgi"))
    # the example inside the least nginx needs around it: where its own files go, and a certificate
    (tmp_path / "nginx.conf").write_text(
        f"error_log {tmp_path / 'error.log'};\npid {tmp_path / 'nginx.pid'};\nevents {{}}\nhttp {{\n"
        f"access_log off;\n{temp}\nssl_certificate {tmp_path / 'cert.pem'};\n"
        f"ssl_certificate_key {tmp_path / 'key.pem'};\n{example}}}\n", encoding="utf-8")
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "test is successful" in done.stderr, done.stderr


def test_the_trial_script_does_the_readme_postgresql_steps_as_written():
    steps = re.findall(r"^sudo -u postgres (.+)$", README, re.MULTILINE)
    assert len(steps) == 2
    script = TRIAL.read_text(encoding="utf-8")
    for step in steps:   # run as the postgres user, as `sudo -u postgres` does
        assert re.search(r'"\$\{as_postgres\[@\]\}" (setsid -w )?' + re.escape(step) + "$", script, re.MULTILINE), step


def test_readme_postgresql_steps_give_two_workers_that_answer(tmp_path):
    if pg_bin() is None:
        if os.environ.get("FRONTDESK_REQUIRE_POSTGRES"):
            pytest.fail("postgresql is missing: `make test` installs Debian's postgresql")
        pytest.skip("PostgreSQL's server programs are not installed")
    port = free_port()
    log = tmp_path / "trial.log"
    env = {**os.environ, "FRONTDESK": f"{sys.executable} -m bot.cli", "PG_BIN": str(pg_bin()),
           "PYTHONPATH": str(PROJECT_ROOT)}
    trial = subprocess.Popen([str(TRIAL), str(port), "300"], stdout=log.open("w"), stderr=subprocess.STDOUT,
                             cwd=PROJECT_ROOT, env=env)
    try:
        for _ in range(600):   # both workers up (each loads the knowledge base)
            if trial.poll() is not None or len(re.findall(r"frontdesk serving .*, worker \d+", log.read_text())) == 2:
                break
            time.sleep(0.1)
        assert trial.poll() is None, log.read_text()
        side = WeChatSide(token="trial", app_id="wxtrial", mode="plain")
        query, body = side.seal(text_xml("o-trial", "老年人优待证怎么办"))
        url = f"http://127.0.0.1:{port}/wechat?" + "&".join(f"{k}={v}" for k, v in query.items())
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10) as resp:
            reply = side.open_reply(resp.read().decode())
        assert "老年人优待证" in reply["Content"] and "居民身份证" in reply["Content"]
        text = log.read_text()
        assert "permission denied" not in text and "collation" not in text   # owner and C locale as README says
        folder = re.search(r"throw-away cluster in (\S+),", text).group(1)
    finally:
        trial.send_signal(signal.SIGTERM)
        try:
            trial.wait(timeout=40)
        except subprocess.TimeoutExpired:
            stop(trial)
    assert trial.returncode in (0, 128 + signal.SIGTERM), log.read_text()
    assert not Path(folder).exists()   # the cluster stopped and removed
    with pytest.raises(OSError):   # and the workers stopped with it
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
