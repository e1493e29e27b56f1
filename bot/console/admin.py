"""Staff accounts (admins) and the audit log (supervisors and admins)."""

from __future__ import annotations

from aiohttp import web

from bot.console.pages import Pages


def routes(pages: Pages) -> list[web.RouteDef]:
    return []
