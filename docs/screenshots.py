"""The README's pictures of the console, taken from a running demo with its month of work.

    .venv/bin/python docs/screenshots.py      (or: make screenshots)

Starts `frontdesk demo` on a free loopback port with a fresh data folder, waits for the month of
work to be made, signs in as the county supervisor in Debian's headless Chromium and saves
docs/dashboard.png and docs/reports.png. Run it again whenever those pages change.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo import DEMO_PASSWORD  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGES = {"dashboard": "/console/dashboard", "reports": "/console/reports"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_month(base: str, process: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the demo stopped before its month of work was made")
        try:
            with urllib.request.urlopen(base + "/sim/residents", timeout=2) as resp:
                state = json.loads(resp.read())
            if not state["seeding"]:
                if state["error"]:
                    raise SystemExit(f"the demo's month of work could not be made: {state['error']}")
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("the demo's month of work was not made in time")


def main() -> int:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--port", str(port), "--data", data],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_month(base, process)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
                page.goto(base + "/console")
                page.fill("input[name=name]", "county")
                page.fill("input[name=password]", DEMO_PASSWORD)
                page.click("#login")
                page.wait_for_url("**/console/dashboard")
                for name, path in PAGES.items():
                    page.goto(base + path)
                    target = ROOT / "docs" / f"{name}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(f"saved {target.relative_to(ROOT)}")
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
