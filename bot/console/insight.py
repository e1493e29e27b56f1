"""Unanswered questions, the guides as residents read them, and reports."""

from __future__ import annotations

from aiohttp import web

from bot.console.pages import Pages


def routes(pages: Pages) -> list[web.RouteDef]:
    return []
