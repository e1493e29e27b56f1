"""Signing in and out, sessions and CSRF: the gate every console page passes.

- The session cookie is random, HttpOnly, SameSite=Strict, limited to `/console` and Secure unless
  `[console] secure_cookie = false`; the server keeps only its hash, ends it after
  `session_idle_minutes` without a click or `session_max_hours` in any case, and on sign-out.
- Every form carries the session's CSRF token (`_csrf`); a POST without the right one is refused
  before it reaches a page, so it changes nothing. The sign-in form, which has no session yet,
  carries a token that must match a cookie set with the form.
- `lockout_failures` wrong passwords in a row lock the account for `lockout_minutes`. Each attempt
  is counted before its password is checked, so a burst of sign-ins sent at once gets no more
  checks than the same attempts sent one by one.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from datetime import timedelta
from urllib.parse import quote

from aiohttp import web

from bot.access import Access
from bot.console.pages import ACCESS, HANDOFF_COUNTS, SESSION, Pages, field
from bot.passwords import hash_password, verify_password, weak

log = logging.getLogger(__name__)

COOKIE = "frontdesk_console"
LOGIN_COOKIE = "frontdesk_login"
PUBLIC = ("/console/login",)


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def _next(value: str) -> str:
    """Only a console path may follow the sign-in (no open redirect)."""
    return value if value.startswith("/console/") and not value.startswith("//") else "/console/dashboard"


class Gate:
    def __init__(self, pages: Pages):
        self.pages = pages
        self.settings = pages.config.console

    def _cookie(self, response: web.StreamResponse, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(name, value, path="/console", httponly=True, samesite="Strict",
                            secure=self.settings.secure_cookie, max_age=max_age)

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        if request.path != "/console" and not request.path.startswith("/console/"):
            return await handler(request)
        if request.path in PUBLIC:
            return await handler(request)
        pages = self.pages
        value = request.cookies.get(COOKIE, "")
        idle = timedelta(minutes=self.settings.session_idle_minutes)
        session = await pages.store(request).sessions.get(value, pages.now(request), idle) if value else None
        if session is None:
            if request.method == "GET":
                raise web.HTTPSeeOther("/console/login?next=" + quote(request.path_qs, safe=""))
            return pages.refuse(request, 403, "signed_out")
        request[SESSION] = session
        request[ACCESS] = Access.of(session.member, pages.centers(request))
        request[HANDOFF_COUNTS] = await pages.store(request).handoffs.counts(request[ACCESS].centers)
        if request.method not in ("GET", "HEAD"):
            form = await request.post()
            if not _same(field(form, "_csrf"), session.csrf):
                await pages.audit(request, "csrf_refused", target=request.path)
                return pages.refuse(request, 403, "csrf")
        try:
            return await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            return pages.refuse(request, 404, "not_found")
        except web.HTTPException:
            raise
        except Exception:
            log.exception("console page %s %s failed", request.method, request.path)
            return pages.refuse(request, 500, "failed")

    # -- pages ---------------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/console/dashboard")

    def _login_page(self, request: web.Request, status: int = 200, **context) -> web.Response:
        token = secrets.token_urlsafe(24)
        context.setdefault("problem", "")
        context.setdefault("name", "")
        context.setdefault("minutes", 0)
        response = self.pages.render(request, "login", status=status, login_csrf=token,
                                     next=_next(request.query.get("next", "")), **context)
        self._cookie(response, LOGIN_COOKIE, token, max_age=3600)
        return response

    async def _locked(self, request: web.Request, name: str) -> web.Response:
        """A locked account: refused before any password is checked."""
        store, now = self.pages.store(request), self.pages.now(request)
        account = await store.staff.account(name)
        until = account.locked_until if account is not None and account.locked_until else now
        await store.audit.add(actor=name, role=account.member.role if account else "", action="login_locked",
                              now=now, address=request.remote or "")
        minutes = max(1, int((until - now).total_seconds() // 60) + 1)
        return self._login_page(request, 403, problem="locked", minutes=minutes, name=name)

    async def _refused(self, request: web.Request, name: str, account, *, locked: bool) -> web.Response:
        """A wrong name or password (or a disabled account): one answer for all, recorded."""
        await self.pages.store(request).audit.add(
            actor=name[:60] or "（空）", role=account.member.role if account else "", action="login_failed",
            now=self.pages.now(request), address=request.remote or "", detail="账号已锁定" if locked else "")
        return self._login_page(request, 401, problem="locked" if locked else "wrong",
                                minutes=self.settings.lockout_minutes, name=name)

    async def login_form(self, request: web.Request) -> web.Response:
        return self._login_page(request)

    async def login(self, request: web.Request) -> web.Response:
        pages, store = self.pages, self.pages.store(request)
        form = await request.post()
        if not _same(field(form, "_csrf"), request.cookies.get(LOGIN_COOKIE, "")):
            return self._login_page(request, 403, problem="expired")
        name, password = field(form, "name"), str(form.get("password", ""))
        now, limit = pages.now(request), self.settings.lockout_failures
        account = await store.staff.account(name) if name else None
        if account is None or account.disabled:
            await asyncio.to_thread(verify_password, None, password)   # as long as a wrong password takes
            return await self._refused(request, name, account, locked=False)
        # the attempt is taken before the password is checked: of many sent at once, at most
        # `limit` are checked, and a locked account costs no hashing at all
        attempt = await store.staff.reserve_attempt(account.member.id, limit=limit, now=now,
                                                    lock_for=timedelta(minutes=self.settings.lockout_minutes))
        if attempt is None:
            return await self._locked(request, name)
        good, rehash = await asyncio.to_thread(verify_password, account.password_hash, password)
        if not good:
            return await self._refused(request, name, account, locked=attempt >= limit)
        new_hash = await asyncio.to_thread(hash_password, password) if rehash else None
        await store.staff.signed_in(account.member.id, new_hash)
        value, _ = await store.sessions.start(account.member.id, now, timedelta(hours=self.settings.session_max_hours))
        await store.audit.add(actor=account.member.name, role=account.member.role, action="login", now=now,
                              center=account.member.center, address=request.remote or "")
        response = web.HTTPSeeOther(_next(field(form, "next")), headers={"Cache-Control": "no-store"})
        self._cookie(response, COOKIE, value, max_age=self.settings.session_max_hours * 3600)
        response.del_cookie(LOGIN_COOKIE, path="/console")
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        await self.pages.audit(request, "logout")
        await self.pages.store(request).sessions.end(request.cookies.get(COOKIE, ""))
        response = web.HTTPSeeOther("/console/login?next=/console/dashboard")
        response.del_cookie(COOKIE, path="/console")
        raise response

    async def password_form(self, request: web.Request) -> web.Response:
        return self.pages.render(request, "password", problem="")

    async def change_password(self, request: web.Request) -> web.Response:
        """A member's own new password: the old one is asked again; every session ends."""
        pages, store = self.pages, self.pages.store(request)
        form = await request.post()
        member = request[SESSION].member
        account = await store.staff.account_by_id(member.id)
        old, new, again = (str(form.get(k, "")) for k in ("old", "new", "again"))
        good, _ = await asyncio.to_thread(verify_password, account.password_hash if account else None, old)
        problem = "wrong" if not good else "mismatch" if new != again else "weak" if weak(new) else ""
        if problem:
            return pages.render(request, "password", status=400, problem=problem)
        await store.staff.set_password(member.id, await asyncio.to_thread(hash_password, new))
        await pages.audit(request, "password_changed", target=member.name)
        response = web.HTTPSeeOther("/console/login?next=/console/dashboard&done=password")
        response.del_cookie(COOKIE, path="/console")
        raise response

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console", self.home), web.get("/console/", self.home),
                web.get("/console/login", self.login_form), web.post("/console/login", self.login),
                web.post("/console/logout", self.logout),
                web.get("/console/password", self.password_form), web.post("/console/password", self.change_password)]
