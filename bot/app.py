"""The aiohttp application factory: `create_app(config)`.

Shared services live under typed `web.AppKey`s; each resource has its own cleanup context so
only what started is stopped (store, HTTP client, pusher).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from bot.api import APPOINTMENTS, CASE_DESK, HANDOFF_DESK, StaffAPI
from bot.appointments import Appointments
from bot.cases.desk import CaseDesk
from bot.clock import Clock
from bot.config import Config
from bot.console import console_routes
from bot.errors import ConfigError
from bot.context import Context
from bot.frontdesk import ABANDONED_AFTER, FrontDesk
from bot.guides_api import GUIDE_DESK, GuidesAPI
from bot.handoffs import HandoffDesk
from bot.jobs import HandoffTimeouts, every
from bot.hours import Schedule
from bot.knowledge import offload
from bot.knowledge.editing import GuideDesk
from bot.knowledge.library import Library
from bot.metrics import Metrics
from bot.pusher import NoticeTemplate, Pusher
from bot.retention import Retention
from bot.store import Store, open_store
from bot.texts import Texts
from bot.wechat.api import WeChatAPI
from bot.vault import Vault
from bot.wechat.tokens import SharedToken
from bot.workdays import WorkCalendar
from bot.wechat.gateway import Gateway
from bot.wechat.protocol import Protocol
from handlers import build_root

log = logging.getLogger(__name__)

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", Clock)
LIBRARY = web.AppKey("library", Library)
METRICS = web.AppKey("metrics", Metrics)
STORE = web.AppKey("store", Store)
API = web.AppKey("wechat_api", WeChatAPI)
DESK = web.AppKey("desk", FrontDesk)
PUSHER = web.AppKey("pusher", Pusher)
GATEWAY = web.AppKey("gateway", Gateway)
VAULT = web.AppKey("vault", Vault)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    store = await open_store(config.store.url, config.base_dir, app[VAULT], redis_url=config.redis.url,
                             redis_timeout=float(config.redis.timeout_seconds),
                             dialog_idle=timedelta(minutes=config.dialog.idle_timeout_minutes))
    app[STORE] = store
    yield
    await store.close()


async def _library_ctx(app: web.Application) -> AsyncIterator[None]:
    """The guides and life events from the store (an empty one seeded from the knowledge folder)."""
    library = app[LIBRARY]
    await library.open(app[STORE], now=app[CLOCK].now())
    if offload.wanted(app[CONFIG].knowledge.match_process):
        read = {where: app[METRICS].questions.labels(where) for where in ("helper", "worker")}
        library.read_apart(lambda where: read[where].inc())
        app[METRICS].helper.ready = lambda: library.apart is not None and library.apart.ready
    yield
    await library.stop_learning()
    await library.read_here()


async def _api_ctx(app: web.Application) -> AsyncIterator[None]:
    wechat = app[CONFIG].wechat
    async with aiohttp.ClientSession() as session:
        app[API] = WeChatAPI(session, base=wechat.api_base, app_id=wechat.app_id,
                             app_secret=wechat.app_secret, timeout=wechat.api_timeout_seconds,
                             shared=SharedToken(app[STORE], wechat.app_id, app[CLOCK],
                                                 fetched=app[METRICS].token_refreshes.inc))
        yield


async def _desk_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    texts = Texts()
    calendar = WorkCalendar()
    app[CASE_DESK] = cases = CaseDesk(store=app[STORE], texts=texts, clock=app[CLOCK], library=app[LIBRARY],
                                      calendar=calendar)
    app[APPOINTMENTS] = appointments = Appointments(
        store=app[STORE], library=app[LIBRARY], clock=app[CLOCK], schedule=Schedule(calendar), texts=texts,
        settings=config.booking)
    ctx = Context(config=config, store=app[STORE], library=app[LIBRARY], texts=texts, clock=app[CLOCK], cases=cases,
                  appointments=appointments)
    app[HANDOFF_DESK] = HandoffDesk(store=app[STORE], texts=texts, clock=app[CLOCK], library=app[LIBRARY], cases=cases,
                                    appointments=appointments, config=config)
    app[GUIDE_DESK] = GuideDesk(store=app[STORE], library=app[LIBRARY], clock=app[CLOCK])
    desk = FrontDesk(ctx, build_root(), app[METRICS])
    app[DESK] = desk
    app[GATEWAY].desk = desk
    app[GATEWAY].nonces = app[STORE].nonces
    yield
    await desk.drain()


async def _pusher_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    pusher = Pusher(app[STORE], app[API], app[CLOCK], app[METRICS],
                    template=NoticeTemplate.from_config(config.wechat, Texts(), config.service.name))
    app[PUSHER] = pusher
    task = asyncio.create_task(pusher.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _every(what: str, seconds: Callable[[web.Application], float],
           work: Callable[[web.Application], Callable[[], Awaitable[object]]]):
    """A cleanup context running `work` every `seconds` while the app runs (`bot.jobs.every`)."""
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(every(seconds(app), work(app), stop, what))
        yield
        stop.set()
        await task
    return ctx


_reminders_ctx = _every("reminder round", lambda app: app[CONFIG].booking.reminder_check_seconds,
                        lambda app: app[APPOINTMENTS].send_reminders)
HANDOFF_CHECK_SECONDS = 30   # how often the waits and the idle conversations with a person are looked at
_handoffs_ctx = _every("handoff timeouts", lambda app: HANDOFF_CHECK_SECONDS,
                       lambda app: HandoffTimeouts(app[HANDOFF_DESK]).run)
_retention_ctx = _every("retention purge", lambda app: app[CONFIG].retention.check_hours * 3600,
                        lambda app: Retention(app[STORE], app[CLOCK], app[CONFIG].retention).purge)

# messages whose worker died while answering them: answered here once their claim is stale
_unanswered_ctx = _every("unfinished answers", lambda app: ABANDONED_AFTER / 2,
                         lambda app: app[DESK].finish_unanswered)


def _forget_nonces(app: web.Application) -> Callable[[], Awaitable[int]]:
    """Callbacks' (timestamp, nonce) pairs whose window has passed (Redis forgets its own)."""
    async def purge() -> int:
        return await app[STORE].nonces.purge_before(app[CLOCK].now() - app[GATEWAY].nonce_lifetime)
    return purge


_nonces_ctx = _every("callback nonce purge", lambda app: app[CONFIG].server.timestamp_window_seconds, _forget_nonces)
# Examples staff teach and guides editors publish reach every worker (also on other machines)
# through the store: one read of its knowledge revision a second, a rebuild only when it changed.
TAUGHT_POLL_SECONDS = 1.0
_taught_ctx = _every("knowledge revision", lambda app: TAUGHT_POLL_SECONDS,
                     lambda app: lambda: app[LIBRARY].refresh(app[STORE]))


async def healthz(request: web.Request) -> web.Response:
    ok = await request.app[STORE].ping()
    return web.Response(status=200 if ok else 503, text="ok" if ok else "store unavailable")


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    try:
        backlog = await app[STORE].outbox.backlog()
    except Exception:  # noqa: BLE001 - the counters are still worth a scrape; /healthz says the store is down
        log.exception("the outbox could not be read for /metrics")
        backlog = None
    app[METRICS].observe_outbox(backlog, app[CLOCK].now())
    body = app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def create_app(config: Config, *, clock: Clock | None = None, library: Library | None = None,
               vault: Vault | None = None) -> web.Application:
    """The real server. The demo adds its simulator and fake WeChat API around this. The keys for
    personal data at rest come from the environment (`bot.vault`) unless a vault is given."""
    app = web.Application(client_max_size=config.server.max_body_bytes + 1024)
    app[CONFIG] = config
    app[VAULT] = vault or Vault.from_env()
    app[CLOCK] = clock or Clock()
    app[LIBRARY] = library or Library(config.knowledge_dir)
    centers = app[LIBRARY].knowledge.centers.by_id
    if centers and config.service.default_center not in centers:
        raise ConfigError(f"[service] default_center: {config.service.default_center!r} is not a center in "
                          f"{config.knowledge_dir / 'centers.toml'}; expected one of {', '.join(centers)}")
    app[METRICS] = Metrics()
    wechat = config.wechat
    protocol = Protocol(token=wechat.token, app_id=wechat.app_id,
                        encoding_aes_key=wechat.encoding_aes_key,   # plain mode too: see Protocol.open
                        mode=wechat.mode, max_body_bytes=config.server.max_body_bytes,
                        timestamp_window=config.server.timestamp_window_seconds,
                        now=app[CLOCK].timestamp)
    gateway = Gateway(protocol, desk=None, metrics=app[METRICS],  # desk set when the store is open
                      deadline=float(config.server.reply_deadline_seconds), clock=app[CLOCK])
    app[GATEWAY] = gateway
    if not wechat.notice_template_id:
        log.warning("[wechat] notice_template_id is not set: notices beyond WeChat's customer-service quota "
                    "(5 within 48 hours of a resident's message) wait for the resident's next message and are "
                    "listed for a call after a day; apply for a template (README: Template messages)")
    app.cleanup_ctx.extend([_store_ctx, _library_ctx, _api_ctx, _desk_ctx, _pusher_ctx, _reminders_ctx, _retention_ctx,
                             _nonces_ctx, _taught_ctx, _unanswered_ctx, _handoffs_ctx])
    staff_api = StaffAPI(Texts())
    app.middlewares.append(staff_api.auth)
    app.add_routes(staff_api.routes())
    app.add_routes(GuidesAPI(Texts()).routes())
    console, gate = console_routes(config, Texts())
    app.middlewares.append(gate)
    app.add_routes(console)
    app.add_routes(gateway.routes(config.server.wechat_path))
    app.add_routes([web.get("/healthz", healthz), web.get("/metrics", metrics)])
    return app
