"""What every console page shares: rendering with the signed-in member, refusals, redirects
with a short confirmation, and the audit line each action leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.access import Access
from bot.api import APPOINTMENTS, CASE_DESK
from bot.appointments import Appointments
from bot.cases.desk import CaseDesk
from bot.clock import TZ
from bot.config import Config
from bot.store.staff import Session
from bot.texts import Texts

SESSION = web.RequestKey("console_session", Session)
ACCESS = web.RequestKey("console_access", Access)
HANDOFF_COUNTS = web.RequestKey("console_handoff_counts", dict)   # waiting and open conversations, for the navigation

# pages are never cached: they show personal data and change with every move
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "script-src 'self'; connect-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def parse_day(value: str | None, default: date) -> date | None:
    """A YYYY-MM-DD field; the default when empty, None when it is not a date."""
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_time(value: str | None) -> datetime | None:
    """A datetime-local field (2026-12-01T09:30) in the county's time zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=TZ)


@dataclass
class Pages:
    config: Config
    texts: Texts

    @staticmethod
    def desk(request: web.Request) -> CaseDesk:
        return request.app[CASE_DESK]

    @staticmethod
    def appointments(request: web.Request) -> Appointments:
        return request.app[APPOINTMENTS]

    def store(self, request: web.Request) -> Any:
        return self.desk(request).store

    def now(self, request: web.Request) -> datetime:
        return self.desk(request).clock.now()

    def centers(self, request: web.Request):
        return self.desk(request).library.knowledge.centers

    def render(self, request: web.Request, template: str, /, status: int = 200, **context: Any) -> web.Response:
        session = request.get(SESSION)
        access = request.get(ACCESS)
        html = self.texts.page(
            f"console/{template}.html", me=session.member if session else None, access=access,
            csrf=session.csrf if session else context.pop("login_csrf", ""), service=self.config.service,
            centers=self.centers(request), path=request.path, flash=request.query.get("done", ""),
            handoff_counts=request.get(HANDOFF_COUNTS),
            now=self.now(request), **context)
        return web.Response(text=html, content_type="text/html", status=status, headers=HEADERS)

    def refuse(self, request: web.Request, status: int, code: str, **context: Any) -> web.Response:
        """A page that says why not: 403 (scope, role, form token), 404, 409 (already done), 400."""
        context.setdefault("back", "")
        context.setdefault("current", "")
        return self.render(request, "refused", status=status, code=code, **context)

    @staticmethod
    def back_to(path: str, done: str = "", **query: str) -> web.HTTPSeeOther:
        """After a form: see the page again (a reload does not post twice), with what was done."""
        if done:
            query["done"] = done
        return web.HTTPSeeOther(path + ("?" + urlencode(query) if query else ""))

    async def audit(self, request: web.Request, action: str, *, center: str | None = None, target: str = "",
                    detail: str = "") -> None:
        member = request[SESSION].member
        await self.store(request).audit.add(actor=member.name, role=member.role, action=action, center=center,
                                            target=target, detail=detail, address=request.remote or "",
                                            now=self.now(request))


def field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""
