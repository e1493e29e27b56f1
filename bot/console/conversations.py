"""转人工 in the console: the waiting and open conversations (live: a small script of ours asks
for the list again every few seconds; a refresh shows the same), one conversation with its
messages, the resident's cases and bookings beside it, and what the clerk does in it — take it,
write (常用语 one click away), make a 代办 or complaint case of it, transfer it, close it."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.api import HANDOFF_DESK
from bot.console.pages import ACCESS, Pages, field
from bot.handoffs import CASE_KINDS, TEXT_LIMIT, HandoffDesk, Refused, Taken

LIVE_SCRIPT = Path(__file__).with_name("live.js")
CANNED_LIMIT = 300
CLOSED_SHOWN = 30


class ConversationPages:
    def __init__(self, pages: Pages):
        self.pages = pages

    @staticmethod
    def desk(request: web.Request) -> HandoffDesk:
        return request.app[HANDOFF_DESK]

    # -- the list ------------------------------------------------------------------------------

    async def _rows(self, request: web.Request) -> dict:
        store, centers = self.pages.store(request), request[ACCESS].centers
        return {"active": await store.handoffs.listed(None, centers),
                "counts": await store.handoffs.counts(centers)}

    async def handoffs(self, request: web.Request) -> web.Response:
        store, centers = self.pages.store(request), request[ACCESS].centers
        return self.pages.render(request, "handoffs", **await self._rows(request),
                                 closed=await store.handoffs.listed("closed", centers, limit=CLOSED_SHOWN),
                                 canned=await store.canned.of(centers), seen=self._seen_centers(request))

    async def handoffs_live(self, request: web.Request) -> web.Response:
        """The list's rows and the counts, for the page's script."""
        rows = await self._rows(request)
        html = self.pages.texts.page("console/_handoff_rows.html", **rows, centers=self.pages.centers(request),
                                     now=self.pages.now(request))
        return web.json_response({"html": html, **rows["counts"]}, headers={"Cache-Control": "no-store"})

    def _seen_centers(self, request: web.Request) -> list:
        access = request[ACCESS]
        return [c for c in self.pages.centers(request).by_id.values() if access.sees(c.id)]

    # -- one conversation ----------------------------------------------------------------------

    async def _handoff(self, request: web.Request, acting: bool = False):
        found = await self.pages.store(request).handoffs.get(int(request.match_info["id"]))
        if found is None:
            return self.pages.refuse(request, 404, "not_found")
        if not request[ACCESS].sees(found["center"]):
            return self.pages.refuse(request, 403, "forbidden")
        if acting and not request[ACCESS].acts:
            return self.pages.refuse(request, 403, "read_only")
        return found

    async def _live(self, request: web.Request, handoff: dict) -> dict:
        store = self.pages.store(request)
        return {"handoff": handoff, "messages": await store.handoffs.messages(handoff["id"]),
                "quota": await self.desk(request).quota_left(handoff["openid"])}

    async def _show(self, request: web.Request, handoff: dict, status: int = 200, **context) -> web.Response:
        context.setdefault("problem", "")
        context.setdefault("draft", "")
        context.setdefault("reveal", False)
        store, openid, access = self.pages.store(request), handoff["openid"], request[ACCESS]
        centers = self.pages.centers(request)
        return self.pages.render(
            request, "handoff", status=status, **await self._live(request, handoff),
            said=await store.inquiries.of_resident(openid, opened=context.get("reveal", False)),
            earlier=[h for h in await store.handoffs.of_resident(openid) if h["id"] != handoff["id"]],
            cases=await store.cases.list(centers=access.centers, openid=openid, limit=10),
            bookings=await store.bookings.upcoming(openid, self.pages.now(request)),
            canned=await store.canned.of([handoff["center"]] if handoff["center"] else access.centers),
            others=[c for c in centers.by_id.values() if c.id != handoff["center"]],
            limit=TEXT_LIMIT, **context)

    async def handoff(self, request: web.Request) -> web.Response:
        handoff = await self._handoff(request)
        if isinstance(handoff, web.Response):
            return handoff
        return await self._show(request, handoff)

    async def handoff_live(self, request: web.Request) -> web.Response:
        """The conversation's messages, state and quota, for the page's script."""
        handoff = await self._handoff(request)
        if isinstance(handoff, web.Response):
            return handoff
        live = await self._live(request, handoff)
        html = self.pages.texts.page("console/_handoff_live.html", **live, centers=self.pages.centers(request),
                                     now=self.pages.now(request))
        counts = await self.pages.store(request).handoffs.counts(request[ACCESS].centers)
        return web.json_response({"html": html, "status": handoff["status"], "messages": len(live["messages"]),
                                  **counts}, headers={"Cache-Control": "no-store"})

    async def reveal(self, request: web.Request) -> web.Response:
        """The numbers the resident typed into their questions, for a clerk who must call back: recorded."""
        handoff = await self._handoff(request, acting=True)
        if isinstance(handoff, web.Response):
            return handoff
        await self.pages.audit(request, "reveal_contact", center=handoff["center"], target=f"#{handoff['id']}")
        return await self._show(request, handoff, reveal=True)

    async def take(self, request: web.Request) -> web.Response:
        handoff = await self._handoff(request, acting=True)
        if isinstance(handoff, web.Response):
            return handoff
        try:
            await self.desk(request).take(handoff, request[ACCESS].member.name)
        except Taken as taken:
            return await self._show(request, taken.handoff, status=409, problem="taken")
        except Refused as refused:
            return await self._show(request, handoff, status=409, problem=refused.code)
        await self.pages.audit(request, "handoff_take", center=handoff["center"], target=f"#{handoff['id']}")
        raise self.pages.back_to(f"/console/handoffs/{handoff['id']}", done="handoff_taken")

    async def write(self, request: web.Request) -> web.Response:
        handoff = await self._handoff(request, acting=True)
        if isinstance(handoff, web.Response):
            return handoff
        form = await request.post()
        text = field(form, "text")
        if not text and field(form, "canned").isdigit():
            canned = await self.pages.store(request).canned.get(int(field(form, "canned")))
            text = canned["text"] if canned and request[ACCESS].sees(canned["center"]) else ""
        try:
            await self.desk(request).write(handoff, request[ACCESS].member.name, text)
        except Taken as taken:
            return await self._show(request, taken.handoff, status=409, problem="taken", draft=text)
        except Refused as refused:
            return await self._show(request, handoff, status=409 if refused.code == "closed" else 400,
                                    problem=refused.code, draft=text)
        await self.pages.audit(request, "handoff_message", center=handoff["center"], target=f"#{handoff['id']}",
                               detail=text[:200])
        raise self.pages.back_to(f"/console/handoffs/{handoff['id']}", done="handoff_sent")

    async def close(self, request: web.Request) -> web.Response:
        handoff = await self._handoff(request, acting=True)
        if isinstance(handoff, web.Response):
            return handoff
        try:
            await self.desk(request).close(handoff, request[ACCESS].member.name)
        except Refused as refused:
            return await self._show(request, handoff, status=409, problem=refused.code)
        await self.pages.audit(request, "handoff_close", center=handoff["center"], target=f"#{handoff['id']}")
        raise self.pages.back_to("/console/handoffs", done="handoff_closed")

    async def transfer(self, request: web.Request) -> web.Response:
        handoff = await self._handoff(request, acting=True)
        if isinstance(handoff, web.Response):
            return handoff
        to = field(await request.post(), "center")
        try:
            await self.desk(request).transfer(handoff, to, request[ACCESS].member.name)
        except Refused as refused:
            return await self._show(request, handoff, status=409 if refused.code == "closed" else 400,
                                    problem=refused.code)
        await self.pages.audit(request, "handoff_transfer", center=handoff["center"], target=f"#{handoff['id']}",
                               detail=f"{handoff['center']} → {to}")
        raise self.pages.back_to("/console/handoffs", done="handoff_transferred")

    async def make_case(self, request: web.Request) -> web.Response:
        handoff = await self._handoff(request, acting=True)
        if isinstance(handoff, web.Response):
            return handoff
        form = await request.post()
        kind = field(form, "kind")
        if kind not in CASE_KINDS:
            return self.pages.refuse(request, 400, "bad_request", back=f"/console/handoffs/{handoff['id']}")
        try:
            case = await self.desk(request).make_case(handoff, kind, request[ACCESS].member.name,
                                                      field(form, "words"), field(form, "guide"))
        except Refused as refused:
            return await self._show(request, handoff, status=400, problem=refused.code)
        await self.pages.audit(request, "handoff_case", center=case.center, target=case.number,
                               detail=f"#{handoff['id']}")
        raise self.pages.back_to(f"/console/cases/{case.number}", done="handoff_case")

    # -- 常用语 ----------------------------------------------------------------------------------

    async def add_canned(self, request: web.Request) -> web.Response:
        """Clerks and supervisors keep their centers' canned replies."""
        access = request[ACCESS]
        if access.member.role not in ("clerk", "supervisor", "admin"):
            return self.pages.refuse(request, 403, "forbidden")
        form = await request.post()
        center, text = field(form, "center"), field(form, "text")
        if self.pages.centers(request).get(center) is None or not text or len(text) > CANNED_LIMIT:
            return self.pages.refuse(request, 400, "bad_request", back="/console/handoffs")
        if not access.sees(center):
            return self.pages.refuse(request, 403, "forbidden")
        await self.pages.store(request).canned.add(center, text, access.member.name, self.pages.now(request))
        await self.pages.audit(request, "canned_add", center=center, detail=text[:200])
        raise self.pages.back_to("/console/handoffs", done="canned_added")

    async def remove_canned(self, request: web.Request) -> web.Response:
        access = request[ACCESS]
        canned = await self.pages.store(request).canned.get(int(request.match_info["id"]))
        if canned is None:
            return self.pages.refuse(request, 404, "not_found")
        if not access.sees(canned["center"]) or access.member.role not in ("clerk", "supervisor", "admin"):
            return self.pages.refuse(request, 403, "forbidden")
        await self.pages.store(request).canned.remove(canned["id"])
        await self.pages.audit(request, "canned_remove", center=canned["center"], detail=canned["text"][:200])
        raise self.pages.back_to("/console/handoffs", done="canned_removed")

    @staticmethod
    async def script(request: web.Request) -> web.Response:
        return web.Response(text=LIVE_SCRIPT.read_text(encoding="utf-8"), content_type="application/javascript",
                            headers={"Cache-Control": "no-cache"})


def routes(pages: Pages) -> list[web.RouteDef]:
    p = ConversationPages(pages)
    one = "/console/handoffs/{id:\\d+}"
    return [web.get("/console/handoffs", p.handoffs),
            web.get("/console/handoffs/live", p.handoffs_live),
            web.get(one, p.handoff),
            web.get(one + "/live", p.handoff_live),
            web.post(one + "/reveal", p.reveal),
            web.post(one + "/take", p.take),
            web.post(one + "/messages", p.write),
            web.post(one + "/close", p.close),
            web.post(one + "/transfer", p.transfer),
            web.post(one + "/cases", p.make_case),
            web.post("/console/canned", p.add_canned),
            web.post("/console/canned/{id:\\d+}/remove", p.remove_canned),
            web.get("/console/live.js", p.script)]
