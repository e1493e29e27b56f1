"""A server killed with `kill -9` loses no notice: after the restart the outbox drains."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.wechat.fake import FakeWeChat
from bot.wechat.simulator import WeChatSide, text_xml
from tests.support import free_port, plain_config, stop

CLI = [sys.executable, "-m", "bot.cli"]


def _serve(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([*CLI, "serve", "--config", str(config)], stdout=log.open("a"),
                            stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)


async def _until_up(base: str) -> None:
    """A minute at most: the server learns the knowledge base before it listens, about 10 s on a
    quiet two-core machine and several times that while other tests load it too."""
    for _ in range(600):
        try:
            await asyncio.to_thread(urllib.request.urlopen, base + "/healthz", timeout=1)
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise AssertionError("server did not start")


async def _post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    return await asyncio.to_thread(lambda: urllib.request.urlopen(request, timeout=10).read())


async def test_notice_owed_when_killed_is_delivered_after_restart(tmp_path, aiohttp_server):
    fake = FakeWeChat(app_id="wxkill", app_secret="s")
    fake_server = await aiohttp_server(fake.app())
    port = free_port()
    config = plain_config(tmp_path / "config.toml", port, "wxkill", PROJECT_ROOT / "knowledge",
                          api_base=str(fake_server.make_url("")).rstrip("/"))
    added = subprocess.run([*CLI, "staff", "add", "--config", str(config), "--name", "clerk", "--center",
                            "town-center", "--role", "clerk"], capture_output=True, text=True, timeout=60)
    token = added.stdout.strip().splitlines()[-1]
    base, log = f"http://127.0.0.1:{port}", tmp_path / "serve.log"
    server = _serve(config, log)
    try:
        await _until_up(base)
        side = WeChatSide(token="t", app_id="wxkill", mode="plain", heard=fake.heard)
        query, body = side.seal(text_xml("resident-k", "今天去窗口办事，工作人员一直在玩手机，态度太差了，我要投诉"))
        reply = side.open_reply((await _post(base + "/wechat?" + "&".join(f"{k}={v}" for k, v in query.items()),
                                             body, {})).decode())
        number = reply["Content"].split("编号 ")[1].split("。")[0]
        fake.fail_next = [-1] * 10_000  # WeChat is unreachable: the notice stays owed
        moved = await _post(f"{base}/api/cases/{number}/transitions", b'{"to": "accepted"}',
                            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert b'"accepted"' in moved
        await asyncio.sleep(0.5)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        assert fake.texts_to("resident-k") == []
        fake.fail_next.clear()
        server = _serve(config, log)
        await _until_up(base)
        for _ in range(300):  # the retry is due after its backoff (a few seconds at most)
            if fake.texts_to("resident-k"):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        texts = fake.texts_to("resident-k")
        assert len(texts) == 1 and number in texts[0] and "已受理" in texts[0]
    finally:
        stop(server)
