"""Where the service stands and where it falls short: the questions the bot could not answer
(grouped, each with the guide closest to it), the guides as residents read them in WeChat, and
the reports for supervisors — charts drawn on the server, each with its numbers in a table."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web

from bot.console import charts, editor, teach
from bot.console.cases import SATISFIED_LINE
from bot.console.pages import ACCESS, Pages
from bot.knowledge import gaps
from bot.knowledge.library import Library
from bot.knowledge.matcher import Match
from bot.knowledge.model import Guide
from bot.knowledge.teaching import may_propose, may_teach
from handlers.faq import full_answer

DAYS, MOST_DAYS = 30, 365
GAPS_SHOWN = 100
CLOSEST_AT = 0.05   # a guide less likely than this is not "closest" to anything: the knowledge base lacks the matter
SEARCH_LIMIT = 40   # characters of a guide search


def _days(value: str) -> int:
    """The `days` of a page: a whole number of days back, 1 to 365; 30 when not given or not a number."""
    try:
        return min(max(int(value), 1), MOST_DAYS)
    except ValueError:
        return DAYS


def _gaps(asked: list[dict], library: Library) -> list[tuple[gaps.Gap, Match]]:
    """The unanswered questions grouped, the biggest groups with how the matcher reads them now:
    its top candidate is the closest guide, even below the answer threshold."""
    found = gaps.group([(a["question"], a["at"]) for a in asked], library.knowledge.synonyms)
    return [(gap, library.matcher.match(gap.question)) for gap in found[:GAPS_SHOWN]]


class InsightPages:
    def __init__(self, pages: Pages):
        self.pages = pages

    async def unanswered(self, request: web.Request) -> web.Response:
        pages = self.pages
        days = _days(request.query.get("days", ""))
        asked = await pages.store(request).inquiries.unanswered(pages.now(request) - timedelta(days=days),
                                                                centers=request[ACCESS].centers)
        # grouping a few thousand questions takes a moment of CPU: not on the event loop
        shown = await asyncio.to_thread(_gaps, asked, pages.desk(request).library)
        member = request[ACCESS].member
        return pages.render(request, "unanswered", days=days, asked=len(asked), gaps=shown, most=GAPS_SHOWN,
                            closest_at=CLOSEST_AT,
                            teaches=may_teach(member), proposes=may_propose(member),
                            choices=list(teach.choices(pages.desk(request).library)))

    async def guides(self, request: web.Request) -> web.Response:
        q = request.query.get("q", "").strip()[:SEARCH_LIMIT]
        departments: dict[str, list[Guide]] = {}
        for guide in self.pages.desk(request).library.knowledge.guides.values():
            if not q or q in guide.name or any(q in alias for alias in guide.aliases):
                departments.setdefault(guide.department, []).append(guide)
        return self.pages.render(request, "guides", q=q, upkeep=await editor.upkeep_summary(request),
                                 departments=sorted(departments.items(), key=lambda d: len(d[1]), reverse=True))

    async def guide(self, request: web.Request) -> web.Response:
        pages = self.pages
        guide = pages.desk(request).library.knowledge.guide(request.match_info["name"])
        if guide is None:
            return pages.refuse(request, 404, "not_found")
        centers = pages.centers(request).by_id.values()
        answer = pages.texts.chat("situation_choice", g=guide, again=False) if guide.situations \
            else full_answer(pages.texts, pages.config.service, guide)   # what a resident asking receives
        return pages.render(request, "guide", g=guide, answer=answer,
                            upkeep=await editor.upkeep_of(request, guide.name),
                            accepting=[c for c in centers if guide.name in c.accepts],
                            deciding=[c for c in centers if guide.name in c.decides])

    async def reports(self, request: web.Request) -> web.Response:
        pages, access = self.pages, request[ACCESS]
        if not access.reports:
            return pages.refuse(request, 403, "forbidden")
        days = _days(request.query.get("days", ""))
        today = pages.now(request).date()
        first = today - timedelta(days=days - 1)
        reports, centers = pages.store(request).reports, access.centers
        return pages.render(
            request, "reports", days=days, first=first, draw=charts, line=SATISFIED_LINE,
            opened=await reports.opened(first, today, centers), on_time=await reports.on_time(first, today, centers),
            satisfied=await reports.satisfied(first, today, centers),
            busiest=await reports.busiest(first, today, centers),
            consultations=await reports.consultations(first, today, centers))


def routes(pages: Pages) -> list[web.RouteDef]:
    p = InsightPages(pages)
    return [web.get("/console/unanswered", p.unanswered),
            web.get("/console/guides", p.guides),
            web.get("/console/guides/{name}", p.guide),
            web.get("/console/reports", p.reports)]
