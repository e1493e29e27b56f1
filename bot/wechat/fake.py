"""A fake WeChat API for the demo and the tests: issues tokens and records every message sent.

It speaks the same three calls as the real API (`/cgi-bin/token`, customer-service and template
sends) and can be told to fail, so the pusher's retries and fallbacks can be exercised.

Like WeChat, it keeps each resident's customer-service quota (rule in force since June 2023): the
resident's message allows 5 customer-service messages within 48 hours; a menu click
(click, scancode_push, scancode_waitmsg), a follow or a QR scan allows 3 within a minute; the
resident's next action replaces the quota. Past the quota the send is refused with 45047, outside
its time with 45015. Whoever plays WeChat's side of the callback tells it what the resident did
(`heard`), as WeChat's servers know what they delivered.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

# what a resident's action allows: (customer-service messages, within seconds)
QUOTAS = {"message": (5, 48 * 3600), "event": (3, 60)}
GRANTING_EVENTS = frozenset({"subscribe", "scan", "click", "scancode_push", "scancode_waitmsg"})
OUT_OF_RESPONSE_COUNT_LIMIT = 45047
OUTSIDE_WINDOW = 45015


def _tag(xml: str, tag: str) -> str:
    m = re.search(rf"<{tag}>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</{tag}>", xml, re.DOTALL)
    return (m.group(1) or m.group(2) or "").strip() if m else ""


@dataclass
class Quota:
    kind: str        # "message" or "event"
    since: float     # when the resident acted (seconds since the epoch)
    used: int = 0


@dataclass
class FakeWeChat:
    app_id: str
    app_secret: str
    sent: list[dict[str, Any]] = field(default_factory=list)      # every accepted message, in order
    fail_next: list[int] = field(default_factory=list)            # errcodes to answer the next sends with
    failing: int = 0                                              # while set, every send answers this errcode
    latency: float = 0.0                                          # seconds each send takes
    token_fetches: int = 0
    now: Callable[[], float] = time.time                          # WeChat's clock (the tests' fixed one)
    quotas: dict[str, Quota] = field(default_factory=dict)        # per resident, from their last action
    refused: list[tuple[str, int]] = field(default_factory=list)  # (openid, errcode) of sends past the quota
    in_flight: int = 0                                            # sends being answered right now
    most_in_flight: int = 0                                       # the most there ever were at once
    _tokens: itertools.count = field(default_factory=lambda: itertools.count(1))
    _valid: set[str] = field(default_factory=set)
    _msgids: itertools.count = field(default_factory=lambda: itertools.count(200228332))

    def texts_to(self, openid: str) -> list[str]:
        """Customer-service texts the resident received, in order."""
        return [m["text"]["content"] for m in self.sent if m.get("touser") == openid and m.get("msgtype") == "text"]

    def shown_to(self, openid: str) -> list[str]:
        """What the resident sees of each message, in order: a text, or a template's field values."""
        return [m["text"]["content"] if m["kind"] == "custom" else "\n".join(
                    str(v.get("value", "")) for v in m.get("data", {}).values())
                for m in self.sent if m.get("touser") == openid and (m["kind"] == "template" or m.get("msgtype") == "text")]

    def templates_to(self, openid: str) -> list[dict[str, str]]:
        """Template messages the resident received: each one's fields and their values."""
        return [{k: v.get("value", "") for k, v in m.get("data", {}).items()}
                for m in self.sent if m.get("touser") == openid and m["kind"] == "template"]

    def resident_acted(self, openid: str, kind: str) -> None:
        """The resident wrote ("message") or clicked a menu, followed or scanned ("event"): their
        quota is replaced by the one this action allows."""
        if kind not in QUOTAS:
            raise ValueError(kind)
        self.quotas[openid] = Quota(kind=kind, since=self.now())

    def heard(self, xml: str) -> None:
        """A message WeChat delivered to the account's callback: what it allows, if anything (a
        VIEW, a location report or a template message's report allows nothing)."""
        openid, msg_type = _tag(xml, "FromUserName"), _tag(xml, "MsgType").lower()
        if not openid or not msg_type:
            return
        if msg_type != "event":
            self.resident_acted(openid, "message")
        elif _tag(xml, "Event").lower() in GRANTING_EVENTS:
            self.resident_acted(openid, "event")

    def _draw(self, openid: str) -> dict[str, Any] | None:
        """One customer-service message from the resident's quota, or WeChat's refusal."""
        quota = self.quotas.get(openid)
        if quota is None or self.now() - quota.since >= QUOTAS[quota.kind][1]:
            return {"errcode": OUTSIDE_WINDOW, "errmsg": "response out of time limit or subscription is canceled"}
        if quota.used >= QUOTAS[quota.kind][0]:
            return {"errcode": OUT_OF_RESPONSE_COUNT_LIMIT, "errmsg": "out of response count limit"}
        quota.used += 1
        return None

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
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            answer = await self._take(request, kind)
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
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
        if kind == "custom" and (refused := self._draw(str(payload["touser"]))):
            self.refused.append((str(payload["touser"]), refused["errcode"]))
            return refused
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
