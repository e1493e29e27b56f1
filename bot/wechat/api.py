"""A thin asyncio client for the three WeChat API calls we use.

wechatpy's client is synchronous (requests, no timeout) and retries a bad token without bound;
this one shares one access token (with every worker, through `tokens.SharedToken`), refreshes it
once on 40001/42001/40014 and otherwise reports the error code so the outbox can decide to
retry, fall back or give up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

from bot.errors import WeChatAPIError, WeChatUncertain
from bot.wechat.tokens import SharedToken

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 42001, 40014}


class WeChatAPI:
    def __init__(self, session: aiohttp.ClientSession, *, base: str, app_id: str, app_secret: str,
                 timeout: float = 5.0, shared: SharedToken | None = None):
        self.session = session
        self.base = base.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: str | None = None
        self._expires_at = 0.0
        self._token_lock = asyncio.Lock()
        self.shared = shared   # the token every worker uses; without it, this process's own

    async def _fetch_json(self, method: str, path: str, delivers: bool = False, **kwargs: Any) -> dict[str, Any]:
        """One call. For a call that `delivers` a message, a failure after the request left (a
        timeout, a dropped connection) is WeChatUncertain: WeChat may have taken it."""
        try:
            async with self.session.request(method, self.base + path, timeout=self.timeout, **kwargs) as resp:
                data = await resp.json(content_type=None)
        except aiohttp.ClientConnectorError as e:   # never reached WeChat
            raise WeChatAPIError(-1, f"WeChat API unreachable: {type(e).__name__}: {e}") from None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
            if delivers:
                raise WeChatUncertain(f"no answer from WeChat: {type(e).__name__}: {e}") from None
            raise WeChatAPIError(-1, f"WeChat API unreachable: {type(e).__name__}: {e}") from None
        if not isinstance(data, dict):
            raise WeChatAPIError(-1, "WeChat API answered with something other than an object")
        return data

    async def token(self, *, stale: str | None = None) -> str:
        """The access token; fetched anew when expired or when `stale` was refused."""
        async with self._token_lock:
            if self._token and self._token != stale and time.monotonic() < self._expires_at:
                return self._token
            if self.shared is not None:
                self._token, until = await self.shared.current(self._fetch_token, stale)
                self._expires_at = time.monotonic() + (until - self.shared.clock.now()).total_seconds()
                return self._token
            self._token, lasts = await self._fetch_token()
            # refresh a little early so a token never expires mid-request
            self._expires_at = time.monotonic() + max(lasts - 300, 60)
            return self._token

    async def _fetch_token(self) -> tuple[str, int]:
        data = await self._fetch_json("GET", "/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret})
        if "access_token" not in data:
            raise WeChatAPIError(int(data.get("errcode", -1)), str(data.get("errmsg", "no token")))
        log.info("access token refreshed")
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        token = await self.token()
        data = await self._fetch_json("POST", path, True, params={"access_token": token}, json=payload)
        if int(data.get("errcode", 0)) in TOKEN_ERRORS:
            token = await self.token(stale=token)
            data = await self._fetch_json("POST", path, True, params={"access_token": token}, json=payload)
        errcode = int(data.get("errcode", 0))
        if errcode:
            raise WeChatAPIError(errcode, str(data.get("errmsg", "")))
        return data

    async def send_text(self, openid: str, text: str) -> None:
        """Customer-service text message (within 48 h of the resident's last message)."""
        await self._post("/cgi-bin/message/custom/send",
                         {"touser": openid, "msgtype": "text", "text": {"content": text}})

    async def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str = "") -> str | None:
        """Template message; the msgid WeChat gives it (its TEMPLATESENDJOBFINISH report names it)."""
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                   "data": {k: {"value": v} for k, v in data.items()}}
        if url:
            payload["url"] = url
        answer = await self._post("/cgi-bin/message/template/send", payload)
        msgid = answer.get("msgid")
        return str(msgid) if msgid not in (None, "") else None
