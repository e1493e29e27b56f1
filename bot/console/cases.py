"""The dashboard, the case list and one case with the moves allowed now; complaints and
followups. Every move goes through the case desk, so it reaches the resident as a push."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aiohttp import web

from bot.cases.desk import InvalidMove, StaleCase
from bot.cases.machine import KINDS, STATES, Move, allowed
from bot.console.pages import ACCESS, Pages, field, parse_day, parse_time
from bot.knowledge.bundles import merged_materials
from bot.personal import case_fields
from bot.store.cases import LINE_STATUSES

SATISFIED_LINE = 0.8   # 好差评: a center below 80 % satisfied needs attention
SATISFACTION_DAYS = 90
DASHBOARD_ROWS = 20   # each list on the dashboard; its card counts them all and links to the rest
LIST_ROWS = 200        # cases on one list page, newest first
DONE_COMPLAINTS = 50   # answered complaints shown below the open ones


class CasePages:
    def __init__(self, pages: Pages):
        self.pages = pages

    async def dashboard(self, request: web.Request) -> web.Response:
        pages, access = self.pages, request[ACCESS]
        store, centers = pages.store(request), access.centers
        today = pages.now(request).date()
        cases = store.cases
        counts = {
            "new_proxy": await cases.count(centers=centers, kind="proxy", state="submitted"),
            "new_visits": await cases.count(centers=centers, kind="home_visit", state="submitted"),
            "due_today": await cases.count(centers=centers, due_by=today) -
            await cases.count(centers=centers, due_by=today - timedelta(days=1)),
            "overdue": await cases.count(centers=centers, due_by=today - timedelta(days=1)),
            "complaints": await cases.count(centers=centers, kind=("complaint", "followup"), open_only=True),
        }
        satisfaction = await store.ratings.satisfaction(since=pages.now(request) - timedelta(days=SATISFACTION_DAYS))
        return pages.render(
            request, "dashboard", counts=counts, shown=DASHBOARD_ROWS,
            appointments=await store.bookings.for_day(centers, today),
            new_proxy=await cases.list(centers=centers, kind="proxy", state="submitted", limit=DASHBOARD_ROWS),
            due=await cases.list(centers=centers, due_by=today, oldest_first=True, limit=DASHBOARD_ROWS),
            handoffs=await store.handoffs.waiting(centers),
            dead=await self._dead_with_phones(store, centers),
            no_template=not pages.config.wechat.notice_template_id,
            satisfaction=sorted(((c, good, total) for c, (good, total) in satisfaction.items() if access.sees(c)),
                                key=lambda row: row[1] / row[2]),
            line=SATISFIED_LINE, satisfaction_days=SATISFACTION_DAYS)

    @staticmethod
    async def _dead_with_phones(store, centers: list[str] | None) -> list[dict]:
        """Notices nobody has followed up, each with the phone (masked) of the resident's case, if
        it has one: the number to call; the case page reveals it in full, on the record."""
        dead = await store.outbox.dead(limit=DASHBOARD_ROWS, centers=centers, open_only=True)
        for notice in dead:
            case = await store.cases.get(notice["case_number"]) if notice["case_number"] else None
            notice["phone"] = case_fields(case.data).get("phone", "") if case is not None else ""
        return dead

    async def followed_up(self, request: web.Request) -> web.Response:
        """A notice WeChat refused: the clerk reached the resident another way (a call)."""
        pages, access = self.pages, request[ACCESS]
        item_id = int(request.match_info["id"])
        if not await pages.store(request).outbox.dead(limit=1, centers=access.centers, item_id=item_id):
            return pages.refuse(request, 404, "not_found")
        if not access.acts:
            return pages.refuse(request, 403, "read_only")
        if not await pages.store(request).outbox.handled(item_id, access.member.name, pages.now(request)):
            return pages.refuse(request, 409, "already_followed_up", back="/console/dashboard")
        await pages.audit(request, "notice_followed_up", target=f"#{item_id}")
        raise pages.back_to("/console/dashboard", done="followed_up")

    async def resend(self, request: web.Request) -> web.Response:
        """Send a notice WeChat refused once more (one, or all of the clerk's centers' since a time)."""
        pages, access = self.pages, request[ACCESS]
        if not access.acts:
            return pages.refuse(request, 403, "read_only")
        item_id = int(request.match_info["id"]) if "id" in request.match_info else None
        since = None
        if item_id is None:
            form = await request.post()
            since = parse_time(field(form, "since"))
            if since is None:
                return pages.refuse(request, 400, "bad_request", back="/console/dashboard")
        resent = await pages.desk(request).resend_notices(member=access.member, address=request.remote or "",
                                                          centers=access.centers, item_id=item_id, since=since)
        if item_id is not None and not resent:
            return pages.refuse(request, 404, "not_found")
        raise pages.back_to("/console/dashboard", done="resent")

    async def list(self, request: web.Request) -> web.Response:
        pages, access, q = self.pages, request[ACCESS], request.query
        center = q.get("center", "")
        if center and not access.sees(center):
            return pages.refuse(request, 403, "forbidden")
        kind = q.get("kind", "") if q.get("kind") in KINDS else ""
        state = q.get("state", "") if q.get("state") in STATES else ""
        due = q.get("due", "") if q.get("due") in ("overdue", "today", "soon") else ""
        today = pages.now(request).date()
        due_by = {"overdue": today - timedelta(days=1), "today": today,
                  "soon": pages.desk(request).calendar.add_workdays(today, 2)}.get(due)
        search = q.get("q", "").strip()[:40]
        chosen = {"centers": [center] if center else access.centers, "kind": kind or None, "state": state or None,
                  "due_by": due_by, "search": search}
        store = pages.store(request)
        cases = await store.cases.list(**chosen, limit=LIST_ROWS)
        total = len(cases) if len(cases) < LIST_ROWS else await store.cases.count(**chosen)
        return pages.render(request, "cases", cases=cases, total=total, today=today,
                            filters={"center": center, "kind": kind, "state": state, "due": due, "q": search})

    async def _case_in_scope(self, request: web.Request, acting: bool = False):
        """The case of the path if the member sees it — and, `acting`, may act on it (a
        supervisor only reads)."""
        case = await self.pages.store(request).cases.get(request.match_info["number"])
        if case is None:
            return self.pages.refuse(request, 404, "not_found")
        if not request[ACCESS].sees(case.center):
            await self.pages.audit(request, "refused", center=case.center, target=case.number)
            return self.pages.refuse(request, 403, "forbidden")
        if acting and not request[ACCESS].acts:
            return self.pages.refuse(request, 403, "read_only")
        return case

    async def _show(self, request: web.Request, case, status: int = 200, revealed: dict | None = None, **context):
        """One case; its personal data masked, or `revealed` (what `CaseDesk.reveal` gave)."""
        context.setdefault("problem", "")
        context.setdefault("wanted", "")
        store = self.pages.store(request)
        origin = await store.cases.get(case.data["case"]) if case.kind == "followup" and case.data.get("case") else None
        knowledge = self.pages.desk(request).library.knowledge
        guide, bundle = knowledge.guide(case.guide or ""), knowledge.bundle(case.guide or "")
        if guide is not None:   # the situation the resident asked about: its materials to tick
            guide = guide.in_situation(case.data.get("situation", ""))
        return self.pages.render(
            request, "case", status=status, case=case if revealed is not None else case.notes_masked(),
            moves=allowed(case.kind, case.state),
            rating=await store.ratings.of_case(case), origin=origin, reveal=revealed is not None,
            shown=revealed if revealed is not None else case_fields(case.data), guide=guide,
            # 需补充材料 is ticked from the guide's (or its situation's) list, or a life event's merged one
            materials=guide.materials if guide else merged_materials(bundle, knowledge.guides) if bundle else (),
            today=self.pages.now(request).date(), **context)

    async def show(self, request: web.Request) -> web.Response:
        case = await self._case_in_scope(request)
        if isinstance(case, web.Response):
            return case
        return await self._show(request, case)

    async def reveal(self, request: web.Request) -> web.Response:
        """The full name, phone and 身份证号, for a clerk who must call or act: recorded."""
        case = await self._case_in_scope(request, acting=True)
        if isinstance(case, web.Response):
            return case
        revealed = await self.pages.desk(request).reveal(case, member=request[ACCESS].member,
                                                        address=request.remote or "")
        return await self._show(request, case, revealed=revealed)

    async def move(self, request: web.Request) -> web.Response:
        pages = self.pages
        case = await self._case_in_scope(request, acting=True)
        if isinstance(case, web.Response):
            return case
        form = await request.post()
        to, seen = field(form, "to"), field(form, "from")
        if seen != case.state:   # a second click, or a colleague was quicker: nothing happens twice
            return await self._show(request, case, status=409, problem="already")
        deadline = parse_day(field(form, "deadline"), None) if field(form, "deadline") else None
        visit_at = parse_time(field(form, "visit_at"))
        if to not in STATES or (field(form, "deadline") and deadline is None) or \
                (field(form, "visit_at") and visit_at is None):
            return await self._show(request, case, status=400, problem="bad_input", wanted=to)
        note = field(form, "note")[:1000]
        if to == "need_materials":   # ticked from the guide's list, then anything written: one list, told at once
            missing = [m for m in form.getall("missing", []) if isinstance(m, str) and m.strip()]
            note = "\n".join(missing + [line.strip() for line in note.splitlines() if line.strip()])
        member = request[ACCESS].member
        try:
            moved = await pages.desk(request).move(case.number, Move(to=to, note=note, deadline=deadline,
                                                                     visit_at=visit_at), actor=f"staff:{member.name}")
        except InvalidMove as refused:
            return await self._show(request, case, status=400 if to in refused.allowed else 409,
                                    problem="needs" if to in refused.allowed else "not_allowed", wanted=to)
        except StaleCase:
            fresh = await pages.store(request).cases.get(case.number)
            return await self._show(request, fresh or case, status=409, problem="already")
        await pages.audit(request, "case_move", center=case.center, target=case.number,
                          detail=f"{case.state} → {to}" + (f"：{note}" if note else ""))
        raise pages.back_to(f"/console/cases/{moved.number}", done=f"moved_{to}")

    async def line(self, request: web.Request) -> web.Response:
        """One service of a life event's case marked done (or pending again): the case itself
        moves only by its own buttons, the history says which service was done."""
        pages = self.pages
        case = await self._case_in_scope(request, acting=True)
        if isinstance(case, web.Response):
            return case
        form = await request.post()
        status, position = field(form, "status"), int(request.match_info["position"])
        if status not in LINE_STATUSES or not any(l.position == position and l.ours for l in case.lines):
            return await self._show(request, case, status=400, problem="bad_input")
        if not allowed(case.kind, case.state):   # a finished case changes no more
            return await self._show(request, case, status=409, problem="already")
        member = request[ACCESS].member
        await pages.desk(request).set_line(case.number, position, status, actor=f"staff:{member.name}")
        await pages.audit(request, "case_line", center=case.center, target=case.number,
                          detail=f"{position} → {status}")
        raise pages.back_to(f"/console/cases/{case.number}", done=f"line_{status}")

    async def complaints(self, request: web.Request) -> web.Response:
        """投诉 and 差评整改: every open one, then the latest answered, with the reply the resident got."""
        pages, access = self.pages, request[ACCESS]
        cases = pages.store(request).cases
        kinds = ("complaint", "followup")
        open_ = await cases.list(centers=access.centers, kind=kinds, open_only=True, oldest_first=True, limit=500)
        still_open = {c.number for c in open_}
        done = [c for c in await cases.list(centers=access.centers, kind=kinds, limit=DONE_COMPLAINTS + len(open_))
                if c.number not in still_open][:DONE_COMPLAINTS]
        # as listed: a number typed into the complaint or the reply masked, as on the case's page
        open_, done = [[replace(c, data=case_fields(c.data, address=False)).notes_masked() for c in found]
                       for found in (await cases.with_history(open_), await cases.with_history(done))]
        ratings = await pages.store(request).ratings.of_cases(done)
        return pages.render(request, "complaints", open_cases=open_, done_cases=done, ratings=ratings,
                            today=pages.now(request).date())


def routes(pages: Pages) -> list[web.RouteDef]:
    p = CasePages(pages)
    return [web.get("/console/dashboard", p.dashboard),
            web.post("/console/outbox/{id:\\d+}/followed-up", p.followed_up),
            web.post("/console/outbox/{id:\\d+}/resend", p.resend),
            web.post("/console/outbox/resend", p.resend),
            web.get("/console/cases", p.list),
            web.get("/console/cases/{number}", p.show),
            web.post("/console/cases/{number}/reveal", p.reveal),
            web.post("/console/cases/{number}/move", p.move),
            web.post("/console/cases/{number}/lines/{position:\\d+}", p.line),
            web.get("/console/complaints", p.complaints)]
