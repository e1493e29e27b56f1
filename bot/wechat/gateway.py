"""The HTTP side of the official-account callback: the only place that sees aiohttp requests.

GET answers URL verification; POST reads a capped body, lets `Protocol` verify, decrypt and
parse it, admits its (timestamp, nonce) against replays where the signature does not cover the
body (`bot.store.callbacks`), hands the message to the front desk and seals its reply. Refusals
are logged with their reason and answered with a plain status, never a traceback; a refused
callback has changed nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from bot.clock import Clock
from bot.frontdesk import FrontDesk
from bot.metrics import Metrics
from bot.store.callbacks import CallbackNonces
from bot.wechat.protocol import CallbackRejected, Opened, Protocol, Replayed, TooLarge

log = logging.getLogger(__name__)


class Unchecked(CallbackRejected):
    """The store could not say whether a callback is a replay; WeChat will try again."""

    status = 503


class Gateway:
    def __init__(self, protocol: Protocol, desk: FrontDesk | None, metrics: Metrics, deadline: float,
                 clock: Clock, nonces: CallbackNonces | None = None):
        self.protocol = protocol
        self.desk = desk
        self.metrics = metrics
        self.deadline = deadline
        self.clock = clock
        self.nonces = nonces   # set with the desk, when the store is open

    @property
    def nonce_lifetime(self) -> timedelta:
        """How long a (timestamp, nonce) pair may come back: first seen as early as a window
        before its timestamp, it is accepted until a window after."""
        return timedelta(seconds=2 * self.protocol.timestamp_window)

    def _refuse(self, request: web.Request, error: CallbackRejected) -> web.Response:
        self.metrics.rejected.labels(str(error.status)).inc()
        log.warning("callback refused (%d) from %s: %s", error.status, request.remote, error)
        return web.Response(status=error.status, text={403: "forbidden", 413: "too large", 503: "unavailable"}.get(
            error.status, "bad request"))

    async def verify(self, request: web.Request) -> web.Response:
        try:
            echostr = self.protocol.verify_url(request.query)
        except CallbackRejected as e:
            return self._refuse(request, e)
        return web.Response(text=echostr)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.protocol.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise TooLarge(f"declared body of {request.content_length} bytes exceeds {limit}")
        body = bytearray()
        async for chunk in request.content.iter_chunked(16384):
            body.extend(chunk)
            if len(body) > limit:
                raise TooLarge(f"body exceeds {limit} bytes")
        return bytes(body)

    async def _admit(self, opened: Opened) -> None:
        """WeChat's retry repeats (timestamp, nonce) with the same body; another body is a replay."""
        if opened.digest is None:
            return   # safe mode: the msg_signature covers the body, nothing to remember
        assert self.nonces is not None, "the nonces are set with the desk"
        try:
            admitted = await self.nonces.admit(opened.timestamp, opened.nonce, opened.digest, self.clock.now(),
                                               self.nonce_lifetime)
        except Exception:  # noqa: BLE001 - logged; refused rather than let a replay through
            log.exception("the nonce of a callback could not be checked")
            raise Unchecked("the store could not check the nonce") from None
        if not admitted:
            raise Replayed(f"timestamp {opened.timestamp} and nonce {opened.nonce} came before with another body")

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = await self._read_body(request)
            opened = self.protocol.open(body, request.query)
            await self._admit(opened)
        except CallbackRejected as e:
            return self._refuse(request, e)
        message = opened.message
        assert self.desk is not None, "the front desk starts with the app"
        reply = await self.desk.receive(message, self.deadline)
        xml = self.protocol.seal(reply, message, opened)
        return web.Response(text=xml or "success", content_type="application/xml" if xml else "text/plain")

    def routes(self, path: str) -> list[web.RouteDef]:
        return [web.get(path, self.verify), web.post(path, self.receive)]
