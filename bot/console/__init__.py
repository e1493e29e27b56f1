"""The staff console at `/console`: server-rendered pages for the window clerks and their
supervisors, in plain HTML forms that work on an old office PC's browser.

    sign-in ──▶ dashboard ──▶ cases ──▶ one case ──(a move, with what it needs)──▶ resident pushed
                    │──▶ appointments (day view, check-in, no-show, close a day)
                    │──▶ conversations with residents (转人工, live), complaints and followups
                    └──▶ unanswered questions, guides (kept by the county's editors), reports, audit log,
                         staff accounts

Every page goes through `auth.Gate` (session, CSRF, scope); each feature's pages live in their
own module and share `Pages` for rendering and the services they act through.
"""

from __future__ import annotations

from aiohttp import web

from bot.console.auth import Gate
from bot.console.pages import Pages
from bot.config import Config
from bot.texts import Texts


def console_routes(config: Config, texts: Texts) -> tuple[list[web.RouteDef], web.middleware]:
    """The console's routes and the middleware that guards them."""
    from bot.console import admin, cases, conversations, editor, frontline, insight, teach

    pages = Pages(config=config, texts=texts)
    gate = Gate(pages)
    routes = gate.routes()
    for module in (cases, frontline, conversations, insight, editor, teach, admin):
        routes += module.routes(pages)
    return routes, gate.middleware


__all__ = ["console_routes"]
