"""The chat simulator in a real headless Chromium, against a real `frontdesk demo` process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import free_port, stop

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def demo(tmp_path: Path):
    port = free_port()
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--port", str(port), "--data",
                                str(tmp_path / "data")], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("demo did not start: " + (tmp_path / "demo.log").read_text())
        yield base
    finally:
        stop(process)
        log.close()


@pytest.fixture
def page():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 480, "height": 900})
        finally:
            browser.close()


def test_resident_asks_in_the_simulator_and_sees_the_answer(demo, page, tmp_path):
    page.goto(demo + "/sim")
    page.fill("#text", "老年人优待证怎么办")
    page.click("#send")
    answer = page.locator(".row.bot .bubble").last
    answer.wait_for(timeout=10_000)
    text = answer.inner_text()
    assert "老年人优待证" in text and "居民身份证" in text and "照片" in text
    page.fill("#text", "要钱吗")
    page.click("#send")
    page.wait_for_function("document.querySelectorAll('.row.bot .bubble').length >= 2", timeout=10_000)
    assert "不收费" in page.locator(".row.bot .bubble").last.inner_text()
    page.screenshot(path=str(tmp_path / "sim.png"), full_page=True)
    assert (tmp_path / "sim.png").stat().st_size > 10_000
