"""The HTTP side of the official-account callback: the only place that sees aiohttp requests.

GET answers URL verification; POST reads a capped body, lets `Protocol` verify, decrypt and
parse it, hands the message to the front desk and seals its reply. Refusals are logged with
their reason and answered with a plain status, never a traceback.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.frontdesk import FrontDesk
from bot.metrics import Metrics
from bot.wechat.protocol import CallbackRejected, Protocol, TooLarge

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, protocol: Protocol, desk: FrontDesk | None, metrics: Metrics, deadline: float):
        self.protocol = protocol
        self.desk = desk
        self.metrics = metrics
        self.deadline = deadline

    def _refuse(self, request: web.Request, error: CallbackRejected) -> web.Response:
        self.metrics.rejected.labels(str(error.status)).inc()
        log.warning("callback refused (%d) from %s: %s", error.status, request.remote, error)
        return web.Response(status=error.status, text={403: "forbidden", 413: "too large"}.get(error.status, "bad request"))

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

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = await self._read_body(request)
            opened = self.protocol.open(body, request.query)
        except CallbackRejected as e:
            return self._refuse(request, e)
        message = opened.message
        assert self.desk is not None, "the front desk starts with the app"
        reply = await self.desk.receive(message, self.deadline)
        xml = self.protocol.seal(reply, message, opened)
        return web.Response(text=xml or "success", content_type="application/xml" if xml else "text/plain")

    def routes(self, path: str) -> list[web.RouteDef]:
        return [web.get(path, self.verify), web.post(path, self.receive)]
