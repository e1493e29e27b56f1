"""Teaching the bot from the console: a question the bot could not answer (or any a resident
asked) marked as meaning a guide, an intent or a referral, chosen from a searchable list
(`bot.knowledge.teaching` does the work, as for the JSON API). Editors and admins teach, clerks
propose, supervisors see the list. A question close to other targets' examples is shown with
them first, to be confirmed."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.console.pages import ACCESS, SESSION, Pages, field
from bot.knowledge.model import Target
from bot.knowledge.teaching import INTENTS, Refused, Teaching, may_propose, may_teach

INTENT_NAMES = {"booking": "预约", "proxy": "代办", "status": "查进度", "complaint": "投诉", "handoff": "转人工",
                "centers": "地址和办公时间", "rating": "评价", "greeting": "问候、感谢"}
KIND_NAMES = {"guide": "办事指南", "intent": "意图", "referral": "转办"}
WEEKS = 8


def choices(library) -> dict[str, Target]:
    """What a question may be taught to mean, by the label the searchable list shows."""
    knowledge = library.knowledge
    found = {f"{KIND_NAMES['guide']}：{name}": Target("guide", name) for name in knowledge.targets}
    found |= {f"{KIND_NAMES['referral']}：{name}": Target("referral", name) for name in knowledge.referrals}
    found |= {f"{KIND_NAMES['intent']}：{INTENT_NAMES[i]}": Target("intent", i) for i in INTENTS}
    return found


def label(target: Target) -> str:
    name = INTENT_NAMES.get(target.name, target.name) if target.kind == "intent" else target.name
    return f"{KIND_NAMES.get(target.kind, '其他')}：{name}" if target.kind in KIND_NAMES else "不属于我们的事项"


class TeachPages:
    def __init__(self, pages: Pages):
        self.pages = pages

    def _teaching(self, request: web.Request) -> Teaching:
        desk = self.pages.desk(request)
        return Teaching(desk.store, desk.library)

    async def examples(self, request: web.Request, *, status: int = 200, **context) -> web.Response:
        pages = self.pages
        context = {"problem": "", "draft": {}, "clashes": [], **context}
        store = pages.store(request)
        taught = await store.examples.list(("active", "proposed"))
        asked_again = await store.examples.asked_again()
        now = pages.now(request)
        weeks = await store.inquiries.unanswered_by_week(now - timedelta(weeks=WEEKS), now,
                                                         centers=request[ACCESS].centers)
        member = request[SESSION].member
        return pages.render(request, "examples", status=status, taught=taught, asked_again=asked_again,
                            weeks=weeks, teaches=may_teach(member), proposes=may_propose(member),
                            choices=list(choices(pages.desk(request).library)),
                            label=lambda e: label(Target(e.target_kind, e.target_name)), **context)

    async def teach(self, request: web.Request) -> web.Response:
        pages = self.pages
        member = request[SESSION].member
        if not may_propose(member):
            return pages.refuse(request, 403, "read_only")
        form = await request.post()
        question, meaning = field(form, "question"), field(form, "meaning")
        target = choices(pages.desk(request).library).get(meaning)
        if target is None:
            return await self.examples(request, status=400, problem="meaning", draft={"question": question,
                                                                                     "meaning": meaning})
        example = await self._teaching(request).teach(member, question=question, target=target,
                                                      now=pages.now(request), address=request.remote or "",
                                                      confirm=field(form, "confirm") == "yes")
        if isinstance(example, Refused):
            if example.code == "clash":
                return await self.examples(request, status=409, problem="clash", draft={"question": question,
                                                                                       "meaning": meaning},
                                           clashes=[(q, label(t)) for q, t in example.clashes])
            return await self.examples(request, status=400, problem="question",
                                       draft={"question": question, "meaning": meaning})
        back = field(form, "back")
        done = "taught" if example.status == "active" else "proposed"
        return pages.back_to(back if back.startswith("/console/") else "/console/examples", done)

    async def decide(self, request: web.Request) -> web.Response:
        pages = self.pages
        try:
            example_id = int(request.match_info["id"])
        except ValueError:
            return pages.refuse(request, 404, "not_found")
        action = request.match_info["action"]
        example = await self._teaching(request).decide(request[SESSION].member, example_id, action=action,
                                                       now=pages.now(request), address=request.remote or "")
        if isinstance(example, Refused):
            if example.code == "forbidden":
                return pages.refuse(request, 403, "editors_only")
            return pages.refuse(request, 404, "not_found")
        return pages.back_to("/console/examples", f"example_{action}")


def routes(pages: Pages) -> list[web.RouteDef]:
    p = TeachPages(pages)
    return [web.get("/console/examples", p.examples),
            web.post("/console/examples", p.teach),
            web.post("/console/examples/{id}/{action:accept|reject|remove}", p.decide)]
