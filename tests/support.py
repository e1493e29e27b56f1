"""Helpers shared by tests that run real server processes or wait for pushed notices."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from pathlib import Path


def plain_config(path: Path, port: int, app_id: str, knowledge: Path | str, store: str = "sqlite:///fd.db",
                 api_base: str = "http://127.0.0.1:9") -> Path:
    """A config file for `frontdesk serve` in plain mode on loopback `port` (token "t", secret "s")."""
    path.write_text(f'''
[server]
port = {port}
[wechat]
app_id = "{app_id}"
app_secret = "s"
token = "t"
mode = "plain"
api_base = "{api_base}"
[store]
url = "{store}"
[knowledge]
dir = "{knowledge}"
''', encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Stop a server process this test started, by its own id."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


async def notices_to(bot, openid: str, count: int, seconds: float = 5.0) -> list[str]:
    """The texts the fake WeChat API received for `openid`, once there are `count` of them."""
    for _ in range(int(seconds / 0.02)):
        if len(bot.fake.texts_to(openid)) >= count:
            break
        await asyncio.sleep(0.02)
    return bot.fake.texts_to(openid)
