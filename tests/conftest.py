"""Shared fixtures: a real app on a test config, WeChat's side of the callback, the fake API.

Fakes live here and in `bot/wechat/fake.py`; tests talk to the app only through HTTP, the way
WeChat does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import CLOCK, STORE, create_app
from bot.clock import FixedClock
from bot.config import PROJECT_ROOT, Config
from bot.demo import demo_aes_key
from bot.knowledge.library import Library
from bot.wechat.fake import FakeWeChat
from bot.wechat.simulator import WeChatSide, text_xml
from bot.vault import ENV
from tests.postgres import ThrowawayPostgres, pg_bin
from tests.redis_server import ThrowawayRedis

TOKEN, APP_ID, SECRET = "test-token", "wxtest000000000001", "test-secret"
# personal data at rest is encrypted with keys from the environment; the servers tests start inherit it
os.environ.setdefault(ENV, "v8DUs8ApD9ulGgQbVLsVbS6ZC3mAlkOvWw0hKKQIYvw=")
AES_KEY = demo_aes_key("tests")
KNOWLEDGE = PROJECT_ROOT / "knowledge"


def make_config(tmp_path: Path, api_base: str, mode: str = "safe", **overrides: dict[str, Any]) -> Config:
    raw: dict[str, Any] = {
        "wechat": {"app_id": APP_ID, "app_secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY,
                   "mode": mode, "api_base": api_base},
        "store": {"url": f"sqlite:///{tmp_path / 'frontdesk.db'}"},
        # questions are read in the worker: a helper process per test app would cost seconds each
        # (tests/knowledge/test_offload.py and the tests of servers started as processes have one)
        "knowledge": {"dir": str(PROJECT_ROOT / "knowledge"), "match_process": False},
        "service": {"name": "测试镇便民服务中心", "hotline": "0571-12345678"},
        "console": {"secure_cookie": False},
    }
    for section, values in overrides.items():
        raw.setdefault(section, {}).update(values)
    return Config.from_dict(raw, base_dir=tmp_path)


@dataclass
class Bot:
    """A running front desk and the means to talk to it as WeChat would."""

    client: TestClient
    side: WeChatSide
    fake: FakeWeChat
    clock: FixedClock
    config: Config
    path: str = "/wechat"

    @property
    def app(self) -> web.Application:
        return self.client.server.app

    @property
    def store(self):
        return self.app[STORE]

    async def post(self, xml: str, query: dict[str, str] | None = None, body: bytes | None = None):
        q, b = self.side.seal(xml)
        return await self.client.post(self.path, params=query or q, data=body if body is not None else b)

    async def send(self, xml: str) -> dict[str, Any] | None:
        """Post a message and return the opened reply (None when empty)."""
        resp = await self.post(xml)
        assert resp.status == 200, await resp.text()
        return self.side.open_reply(await resp.text())

    async def wrote(self, *openids: str) -> None:
        """Each resident writes to the account (你好) and is answered: WeChat's 48-hour window and
        its quota of five customer-service messages open for them."""
        for openid in openids:
            await self.say(openid, "你好")

    async def say(self, openid: str, text: str) -> str:
        reply = await self.send(text_xml(openid, text, create_time=int(self.clock.timestamp())))
        assert reply is not None and reply["MsgType"] == "text", reply
        return reply["Content"]


@pytest.fixture
async def fake_wechat(aiohttp_server, clock) -> tuple[FakeWeChat, str]:
    fake = FakeWeChat(app_id=APP_ID, app_secret=SECRET, now=clock.timestamp)
    server: TestServer = await aiohttp_server(fake.app())
    return fake, str(server.make_url("")).rstrip("/")


def _installed(found, package: str, required_by: str):
    """`found` (a server program), or: fail under `make test` (which installs `package`), skip elsewhere."""
    if found is None:
        if os.environ.get(required_by):
            pytest.fail(f"{package} is missing: `make test` installs Debian's {package}")
        pytest.skip(f"{package} is not installed (`make test` installs it)")
    return found


@pytest.fixture(scope="session")
def postgres_server():
    """One throw-away PostgreSQL for the whole run (see tests/postgres.py)."""
    server = ThrowawayPostgres(_installed(pg_bin(), "postgresql", "FRONTDESK_REQUIRE_POSTGRES")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    """One throw-away Redis for the whole run (see tests/redis_server.py)."""
    server = ThrowawayRedis(_installed(ThrowawayRedis.find(), "redis-server", "FRONTDESK_REQUIRE_REDIS")).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty store on each backend: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    schema = server.create_schema()
    yield server.url_for(schema)
    server.drop_schema(schema)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()  # Tuesday 2026-11-24 10:00, Asia/Shanghai: a working morning


@pytest.fixture(scope="session")
def knowledge_library() -> Library:
    """The bundled knowledge base, loaded once for the whole run: learning its examples takes
    seconds, and the bots the tests start on it only read it."""
    return Library(KNOWLEDGE)


@pytest.fixture
def start_bot(tmp_path, aiohttp_client, fake_wechat, clock, knowledge_library) -> Callable[..., Any]:
    """Start a bot: `await start_bot(mode="plain", dialog={"idle_timeout_minutes": 5})`."""
    fake, api_base = fake_wechat

    async def start(mode: str = "safe", **overrides: dict[str, Any]) -> Bot:
        config = make_config(tmp_path, api_base, mode, **overrides)
        bundled = config.knowledge_dir.resolve() == KNOWLEDGE.resolve()
        app = create_app(config, clock=clock, library=knowledge_library if bundled else None)
        client = await aiohttp_client(app)
        side = WeChatSide(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY, mode=mode, now=clock.timestamp,
                          heard=fake.heard)
        return Bot(client=client, side=side, fake=fake, clock=clock, config=config)

    return start


@pytest.fixture
async def bot(start_bot) -> Bot:
    return await start_bot()


__all__ = ["Bot", "make_config", "TOKEN", "APP_ID", "SECRET", "AES_KEY", "CLOCK"]
