"""A fake WeChat API for the demo and the tests: issues tokens and records every message sent.

It speaks the same three calls as the real API (`/cgi-bin/token`, customer-service and template
sends) and can be told to fail, so the pusher's retries and fallbacks can be exercised.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeWeChat:
    app_id: str
    app_secret: str
    sent: list[dict[str, Any]] = field(default_factory=list)      # every accepted message, in order
    fail_next: list[int] = field(default_factory=list)            # errcodes to answer the next sends with
    failing: int = 0                                              # while set, every send answers this errcode
    latency: float = 0.0                                          # seconds each send takes
    token_fetches: int = 0
    _tokens: itertools.count = field(default_factory=lambda: itertools.count(1))
    _valid: set[str] = field(default_factory=set)
    _msgids: itertools.count = field(default_factory=lambda: itertools.count(200228332))

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m.get("touser") == openid and m.get("msgtype") == "text"]

    async def token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("appid") != self.app_id or q.get("secret") != self.app_secret:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        self.token_fetches += 1
        token = f"fake-token-{next(self._tokens)}"
        self._valid = {token}
        return web.json_response({"access_token": token, "expires_in": 7200})

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (WeChat answers 40001)."""
        self._valid.clear()

    async def _send(self, request: web.Request, kind: str) -> web.Response:
        """Like WeChat: a message taken is delivered even when the answer is slow to come back
        (`latency`), so a caller that gives up waiting cannot tell whether it arrived."""
        answer = await self._take(request, kind)
        if self.latency:
            await asyncio.sleep(self.latency)
        return web.json_response(answer)

    async def _take(self, request: web.Request, kind: str) -> dict[str, Any]:
        if request.query.get("access_token") not in self._valid:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        if self.fail_next or self.failing:
            code = self.fail_next.pop(0) if self.fail_next else self.failing
            return {"errcode": code, "errmsg": "fake failure"}
        try:
            payload = await request.json()
        except ValueError:
            return {"errcode": 47001, "errmsg": "data format error"}
        if not isinstance(payload, dict) or not payload.get("touser"):
            return {"errcode": 47003, "errmsg": "argument invalid"}
        self.sent.append({**payload, "kind": kind})
        if kind == "template":   # WeChat numbers each template message; its later report names it
            msgid = next(self._msgids)
            self.sent[-1]["msgid"] = msgid
            return {"errcode": 0, "errmsg": "ok", "msgid": msgid}
        return {"errcode": 0, "errmsg": "ok"}

    async def custom_send(self, request: web.Request) -> web.Response:
        return await self._send(request, "custom")

    async def template_send(self, request: web.Request) -> web.Response:
        return await self._send(request, "template")

    def routes(self, prefix: str = "") -> list[web.RouteDef]:
        return [
            web.get(prefix + "/cgi-bin/token", self.token),
            web.post(prefix + "/cgi-bin/message/custom/send", self.custom_send),
            web.post(prefix + "/cgi-bin/message/template/send", self.template_send),
        ]

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(self.routes())
        return app
