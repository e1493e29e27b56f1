"""`frontdesk serve` as an operator runs it, and `frontdesk reload` after a knowledge edit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.wechat.simulator import WeChatSide, text_xml
from tests.support import free_port, stop


def _ask(base: str, side: WeChatSide, question: str, openid: str = "operator-test") -> str:
    query, body = side.seal(text_xml(openid, question))
    url = base + "/wechat?" + "&".join(f"{k}={v}" for k, v in query.items())
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10) as resp:
        return side.open_reply(resp.read().decode())["Content"]


def test_reload_picks_up_a_knowledge_edit(tmp_path: Path):
    kb = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", kb)
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'''
[server]
port = {port}
[wechat]
app_id = "wxreload"
app_secret = "s"
token = "t"
mode = "plain"
api_base = "http://127.0.0.1:9"
[store]
url = "sqlite:///data/fd.db"
[knowledge]
dir = "knowledge"
''', encoding="utf-8")
    cli = [sys.executable, "-m", "bot.cli"]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([*cli, "serve", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    base, side = f"http://127.0.0.1:{port}", WeChatSide(token="t", app_id="wxreload", mode="plain")
    try:
        for _ in range(150):
            if (tmp_path / "data" / "frontdesk.pid").exists():
                break
            time.sleep(0.1)
        assert "老年人优待证" not in _ask(base, side, "夕阳红卡")   # nothing says what it is yet
        guide = kb / "guides" / "老年人优待证办理.toml"
        guide.write_text(guide.read_text(encoding="utf-8").replace('"老龄证"]', '"老龄证", "夕阳红卡"]'),
                         encoding="utf-8")
        done = subprocess.run([*cli, "reload", "--config", str(config)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        for n in range(100):   # each poll from another resident: one asking this often is asked to slow down
            if "老年人优待证" in _ask(base, side, "夕阳红卡", f"operator-poll-{n}"):
                break
            time.sleep(0.1)
        assert "居民身份证" in _ask(base, side, "夕阳红卡")
        guide.write_text(guide.read_text(encoding="utf-8") + "\nbroken = = =\n", encoding="utf-8")
        refused = subprocess.run([*cli, "reload", "--config", str(config)], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "老年人优待证办理.toml" in refused.stderr
        assert "居民身份证" in _ask(base, side, "夕阳红卡")  # still serving
    finally:
        stop(server)
        log.close()
    assert not (tmp_path / "data" / "frontdesk.pid").exists()
