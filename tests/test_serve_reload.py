"""`frontdesk serve` as an operator runs it: a guide changed with `frontdesk kb import --publish`
reaches the running bot, a broken one is refused and changes nothing, and `frontdesk reload`
takes up an edit of the files that stay with the server (synonyms)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.wechat.simulator import WeChatSide, text_xml
from tests.support import free_port, plain_config, stop


def _ask(base: str, side: WeChatSide, question: str, openid: str = "operator-test") -> str:
    query, body = side.seal(text_xml(openid, question))
    url = base + "/wechat?" + "&".join(f"{k}={v}" for k, v in query.items())
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10) as resp:
        return side.open_reply(resp.read().decode())["Content"]


def _until_answered(base: str, side: WeChatSide, question: str, expected: str, what: str) -> None:
    for n in range(600):   # each poll from another resident: one asking this often is asked to slow down
        if expected in _ask(base, side, question, f"operator-{what}-{n}"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{question!r} never answered with {expected!r}")


def test_an_imported_guide_and_a_reloaded_synonym_reach_the_running_bot(tmp_path: Path):
    kb = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", kb)
    port = free_port()
    config = plain_config(tmp_path / "config.toml", port, "wxreload", "knowledge", store="sqlite:///data/fd.db")
    cli = [sys.executable, "-m", "bot.cli"]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([*cli, "serve", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    base, side = f"http://127.0.0.1:{port}", WeChatSide(token="t", app_id="wxreload", mode="plain")
    try:
        for _ in range(600):   # the knowledge base is learned before the server listens
            if (tmp_path / "data" / "frontdesk.pid").exists():
                break
            time.sleep(0.1)
        assert "老年人优待证" not in _ask(base, side, "夕阳红卡")   # nothing says what it is yet
        edited = tmp_path / "edited"
        shutil.copytree(kb, edited)
        guide = edited / "guides" / "老年人优待证办理.toml"
        guide.write_text(guide.read_text(encoding="utf-8").replace('"老龄证"]', '"老龄证", "夕阳红卡"]'),
                         encoding="utf-8")
        done = subprocess.run([*cli, "kb", "import", "--config", str(config), str(edited), "--publish"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "published (1): 老年人优待证办理" in done.stdout
        _until_answered(base, side, "夕阳红卡", "老年人优待证", "import")
        assert "居民身份证" in _ask(base, side, "夕阳红卡")

        guide.write_text(guide.read_text(encoding="utf-8") + "\nbroken = = =\n", encoding="utf-8")
        refused = subprocess.run([*cli, "kb", "import", "--config", str(config), str(edited), "--publish"],
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1 and "老年人优待证办理.toml" in refused.stderr
        assert "居民身份证" in _ask(base, side, "夕阳红卡")  # still serving

        assert "婚姻登记" not in _ask(base, side, "红本本")
        synonyms = kb / "synonyms.toml"
        synonyms.write_text(synonyms.read_text(encoding="utf-8").replace(
            "[synonyms]", '[synonyms]\n"红本本" = "结婚证"'), encoding="utf-8")
        done = subprocess.run([*cli, "reload", "--config", str(config)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        _until_answered(base, side, "红本本", "婚姻登记", "reload")
    finally:
        stop(server)
        log.close()
    assert not (tmp_path / "data" / "frontdesk.pid").exists()
