"""Browser tests run a real `frontdesk demo` process and drive Debian's Chromium through
playwright-python (`executable_path`); `make test` installs Chromium and CJK fonts when missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.support import free_port, stop

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def running_demo(folder: Path, *extra: str) -> Iterator[str]:
    """A `frontdesk demo` process with its data in `folder`; its address once it answers."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "demo.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", *extra, "--port", str(port), "--data",
                                str(folder / "data")], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # The demo loads and calibrates the knowledge base before it listens: about 20 s on a
        # loaded two-core machine, so it is given a minute.
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("demo did not start: " + (folder / "demo.log").read_text())
        yield base
    finally:
        stop(process)
        log.close()


@pytest.fixture
def demo(tmp_path: Path):
    """An empty demo: each test makes the residents and cases it looks at."""
    with running_demo(tmp_path, "--empty") as base:
        yield base


def seeded(base: str, seconds: float = 180) -> dict:
    """The demo's seeded residents, once its month of work is made (fails if it could not be)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(base + "/sim/residents", timeout=5) as resp:
            state = json.loads(resp.read())
        if not state["seeding"]:
            assert state["error"] is None, state["error"]
            return state
        time.sleep(0.3)
    pytest.fail("the demo's month of work was not made in time")


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def resident_says(base: str, openid: str, text: str) -> str | None:
    """What WeChat's servers would post for a resident's message, sent through the demo's
    simulator (signed and encrypted to the real callback); the bot's reply text."""
    body = json.dumps({"openid": openid, "kind": "text", "text": text}).encode()
    request = urllib.request.Request(base + "/sim/send", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())["reply"]


def pushed_to(base: str, openid: str, count: int, seconds: float = 10.0) -> list[str]:
    """The messages the demo's fake WeChat API received for `openid`, once there are `count`."""
    messages: list[str] = []
    for _ in range(int(seconds / 0.1)):
        with urllib.request.urlopen(f"{base}/sim/pushes?openid={openid}", timeout=5) as resp:
            messages = json.loads(resp.read())["messages"]
        if len(messages) >= count:
            break
        time.sleep(0.1)
    return messages
