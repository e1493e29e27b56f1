"""`frontdesk demo`: the real server with a fake WeChat API and a chat simulator at /sim.

Everything runs on one port: `/wechat` is the real callback, `/fakewx/cgi-bin/…` stands in for
WeChat's API (recording every message pushed), and `/sim` is a page that looks like a WeChat
chat. The simulator sends each typed message through the real callback — signed and encrypted,
as WeChat's servers would — and shows the reply and anything pushed afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.api import HANDOFF_DESK
from bot.app import API, CLOCK, CONFIG, METRICS, PUSHER, STORE, create_app
from bot.config import PROJECT_ROOT, Config
from bot.demo_month import DemoClock
from bot.demo_seed import load_personas, seed_month
from bot.jobs import HandoffTimeouts
from bot.passwords import hash_password
from bot.pusher import Pusher
from bot.vault import ENV, Vault
from bot.texts import Texts
from bot.wechat.fake import FakeWeChat
from bot.wechat.simulator import WeChatSide, event_xml, message_xml, text_xml, voice_xml

log = logging.getLogger(__name__)


@dataclass
class Seeding:
    """Whether this demo makes its month of work, and how that went."""

    wanted: bool
    running: bool = False
    error: str | None = None


FAKE = web.AppKey("fake_wechat", FakeWeChat)
SIDE = web.AppKey("wechat_side", WeChatSide)
SIM_CLIENT = web.AppKey("sim_client", aiohttp.ClientSession)
SEEDING = web.AppKey("seeding", Seeding)

DEMO_APP_ID = "wxdemo0000000001"
DEMO_SECRET = "demo-secret"
DEMO_TOKEN = "demo-token"
DEMO_ACCOUNT = "gh_frontdesk_demo"
# console accounts the demo creates, so the console can be tried at once: (name, center, role)
DEMO_STAFF = (("qinghe", "town-center", "clerk"), ("dongcun", "qinghe-dongcun", "clerk"),
              ("xicun", "qinghe-xicun", "clerk"), ("county", "county", "supervisor"), ("bianji", None, "editor"),
              ("admin", None, "admin"))
DEMO_PASSWORD = "demo-2026"


def demo_aes_key(seed: str = "frontdesk-demo") -> str:
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()[:43]


def demo_config(port: int, data_dir: Path, host: str = "127.0.0.1") -> Config:
    return Config.from_dict({
        "server": {"host": host, "port": port},
        "wechat": {"app_id": DEMO_APP_ID, "app_secret": DEMO_SECRET, "token": DEMO_TOKEN,
                   "encoding_aes_key": demo_aes_key(), "mode": "safe",
                   "api_base": f"http://127.0.0.1:{port}/fakewx",
                   # a 政务服务 category template, as README "Template messages" describes
                   "notice_template_id": "demo-gov-progress", "notice_field_number": "character_string1",
                   "notice_field_matter": "thing2", "notice_field_status": "phrase3", "notice_field_time": "time4",
                   "notice_field_content": "thing5"},
        "store": {"url": f"sqlite:///{(data_dir / 'frontdesk.db').resolve()}"},
        "knowledge": {"dir": str(PROJECT_ROOT / "knowledge")},
        "service": {"name": "示范县便民服务中心"},
        "console": {"secure_cookie": False},   # served over plain HTTP on this machine
    }, base_dir=data_dir)


def inbound_xml(openid: str, kind: str, text: str, create_time: int | None = None) -> str:
    at = {"create_time": create_time}
    match kind:
        case "text":
            return text_xml(openid, text, DEMO_ACCOUNT, **at)
        case "voice":
            return voice_xml(openid, text, DEMO_ACCOUNT, **at)
        case "subscribe" | "unsubscribe":
            return event_xml(openid, kind, DEMO_ACCOUNT, **at)
        case "location":
            return message_xml(openid, DEMO_ACCOUNT, "location", Location_X=30.2741, Location_Y=120.1551,
                               Scale=15, Label=text or "我的位置", **at)
        case "image":
            return message_xml(openid, DEMO_ACCOUNT, "image", PicUrl="http://127.0.0.1/p.jpg", MediaId="m1", **at)
        case "click":
            return event_xml(openid, "CLICK", DEMO_ACCOUNT, EventKey=text, **at)
    raise ValueError(kind)


async def sim_page(request: web.Request) -> web.Response:
    html = Texts().page("web/sim.html", service=request.app[CONFIG].service)
    return web.Response(text=html, content_type="text/html")


async def sim_send(request: web.Request) -> web.Response:
    """Act as WeChat's servers: sign and encrypt the resident's message, post it to /wechat."""
    try:
        form: dict[str, Any] = await request.json()
        openid, kind, text = str(form["openid"]), str(form.get("kind", "text")), str(form.get("text", ""))
        xml = inbound_xml(openid, kind, text)
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "bad_request"}, status=400)
    side = request.app[SIDE]
    query, body = side.seal(xml)
    url = f"http://127.0.0.1:{request.app[CONFIG].server.port}{request.app[CONFIG].server.wechat_path}"
    async with request.app[SIM_CLIENT].post(url, params=query, data=body) as resp:
        status, raw = resp.status, await resp.text()
    if status != 200:
        return web.json_response({"status": status, "reply": None})
    reply = side.open_reply(raw)
    if reply is None:
        return web.json_response({"status": status, "reply": None})
    kind = reply.get("MsgType")
    content = reply.get("Content") if kind == "text" else None
    return web.json_response({"status": status, "type": kind, "reply": content})


async def sim_pushes(request: web.Request) -> web.Response:
    openid = request.query.get("openid", "")
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        after = 0
    texts = request.app[FAKE].shown_to(openid)   # customer-service texts and template messages, in order
    return web.json_response({"count": len(texts), "messages": texts[after:]})


async def sim_residents(request: web.Request) -> web.Response:
    """Residents of the seeded month to play as, and whether the month is still being made."""
    seeding = request.app[SEEDING]
    return web.json_response({"seeding": seeding.running, "error": seeding.error,
                              "residents": load_personas(request.app[CONFIG].base_dir)})


async def sim_history(request: web.Request) -> web.Response:
    """What a resident asked before and the notices sent to them, oldest first."""
    kept = await request.app[STORE].privacy.export(request.query.get("openid", ""))
    items = [{"at": q["at"], "who": "me", "text": q["question"]} for q in kept["questions"]]
    items += [{"at": n["created_at"], "who": "push", "text": n["text"], "sent": bool(n["sent_at"]),
               "dead": bool(n["dead_at"])} for n in kept["notices"]]
    return web.json_response({"items": sorted(items, key=lambda item: item["at"])})


async def _to_sim(request: web.Request) -> web.Response:
    raise web.HTTPFound("/sim")


async def _demo_staff_ctx(app: web.Application):
    """Create the demo's console accounts once (a data folder used before keeps its own). A
    fresh store — none of them there yet — is seeded with a month of work once the server
    listens, unless the demo was asked to start empty."""
    store = app[STORE]
    hashed = await asyncio.to_thread(hash_password, DEMO_PASSWORD)
    tokens: dict[str, str] = {}
    for name, center, role in DEMO_STAFF:
        if await store.staff.account(name) is None:
            tokens[name] = secrets.token_urlsafe(32)
            await store.staff.add(name=name, center=center, role=role, token=tokens[name],
                                  now=app[CLOCK].now(), password_hash=hashed)
    seeding = app[SEEDING]
    task = None
    if seeding.wanted and len(tokens) == len(DEMO_STAFF):
        seeding.running = True
        task = asyncio.create_task(_seed_when_listening(app, tokens))
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _seed_when_listening(app: web.Application, tokens: dict[str, str]) -> None:
    """The month of work, made through the real callback and API once the server answers."""
    config, seeding = app[CONFIG], app[SEEDING]
    base = f"http://127.0.0.1:{config.server.port}"
    try:
        for _ in range(600):
            try:
                async with app[SIM_CLIENT].get(base + "/healthz") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        clock = app[CLOCK]
        assert isinstance(clock, DemoClock)
        pusher = Pusher(app[STORE], app[API], clock, app[METRICS], template=app[PUSHER].template)
        personas = await seed_month(base=base, wechat_path=config.server.wechat_path, side=app[SIDE], clock=clock,
                                    pusher=pusher, tokens=tokens, fake=app[FAKE],
                                    watch=HandoffTimeouts(app[HANDOFF_DESK]).run, data_dir=config.base_dir)
        log.info("the demo's month of work is made: %d residents to play as at /sim", len(personas))
    except Exception as e:  # noqa: BLE001 - the demo still works without its month; the log says why
        seeding.error = str(e)
        log.exception("the demo's month of work could not be made")
    finally:
        seeding.running = False


async def _sim_ctx(app: web.Application):
    async with aiohttp.ClientSession() as session:
        app[SIM_CLIENT] = session
        yield


def demo_vault() -> Vault:
    """The keys in the environment if set; otherwise one made from a fixed seed (the demo's data
    is made up, and the next demo run must still read it)."""
    if os.environ.get(ENV):
        return Vault.from_env()
    return Vault([base64.urlsafe_b64encode(hashlib.sha256(b"frontdesk-demo-data").digest()).decode()])


def create_demo_app(config: Config, *, seed: bool = True, **kwargs: Any) -> web.Application:
    """The demo; `seed` makes a fresh store's month of work (`bot.demo_seed`)."""
    kwargs.setdefault("vault", demo_vault())
    kwargs.setdefault("clock", DemoClock())
    app = create_app(config, **kwargs)
    app[SEEDING] = Seeding(wanted=seed)
    wechat = config.wechat
    fake = FakeWeChat(app_id=wechat.app_id, app_secret=wechat.app_secret)
    app[FAKE] = fake
    app[SIDE] = WeChatSide(token=wechat.token, app_id=wechat.app_id,
                           encoding_aes_key=wechat.encoding_aes_key, mode=wechat.mode, heard=fake.heard)
    app.cleanup_ctx.extend([_sim_ctx, _demo_staff_ctx])
    app.add_routes(fake.routes("/fakewx"))
    app.add_routes([web.get("/sim", sim_page), web.post("/sim/send", sim_send), web.get("/sim/pushes", sim_pushes),
                    web.get("/sim/residents", sim_residents), web.get("/sim/history", sim_history),
                    web.get("/", _to_sim)])
    return app
