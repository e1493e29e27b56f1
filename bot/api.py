"""The staff JSON API (`/api/…`): the console's back end and the county platform's door.

`Authorization: Bearer <token>`; errors are `{"error": code, "message": Chinese text}` with
400/401/403/404/409. A staff member sees and moves only the cases of their center; an admin
(no center) sees every center; a supervisor only reads (`bot.access`). Every action is written
to the audit log. Residents' names, phones, 身份证号 (and, in lists, addresses) are masked as in
the console; `POST /api/cases/{number}/reveal` gives them in full, on the record.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.access import Access
from bot.appointments import Appointments, NotNow
from bot.cases.desk import CaseDesk, InvalidMove, StaleCase
from bot.cases.machine import STATES, Move, allowed
from bot.clock import TZ
from bot.handoffs import TEXT_LIMIT, HandoffDesk, Refused as HandoffRefused, Taken
from bot.store.handoffs import STATUSES as HANDOFF_STATUSES
from bot.knowledge.teaching import Refused, Teaching, may_propose
from bot.personal import case_fields
from bot.store.bookings import Booking
from bot.store.cases import LINE_STATUSES, Case
from bot.store.examples import STATUSES
from bot.store.staff import StaffMember
from bot.texts import Texts

CASE_DESK = web.AppKey("case_desk", CaseDesk)
HANDOFF_DESK = web.AppKey("handoff_desk", HandoffDesk)
APPOINTMENTS = web.AppKey("appointments", Appointments)
STAFF = web.RequestKey("staff_member", StaffMember)


def _error(texts: Texts, status: int, code: str, *, also: dict[str, Any] | None = None, **context: Any) -> web.Response:
    """`{"error", "message"}` with the message from the template, and what `also` adds."""
    context.setdefault("field", "")
    message = texts.chat("api_error", code=code, **context)
    return web.json_response({"error": code, "message": message, **(also or {})}, status=status)


def _access(request: web.Request) -> Access:
    return Access.of(request[STAFF], request.app[CASE_DESK].library.knowledge.centers)


def _scope(request: web.Request) -> list[str] | None:
    """The centers the caller may see (see `bot.access`); None for an admin, who sees all."""
    return _access(request).centers


async def _audit(request: web.Request, action: str, *, center: str | None, target: str, detail: str = "") -> None:
    staff: StaffMember = request[STAFF]
    desk = request.app[CASE_DESK]
    await desk.store.audit.add(actor=staff.name, role=staff.role, action=action, center=center, target=target,
                               detail=detail, address=request.remote or "", now=desk.clock.now())


def _case_json(case: Case, with_history: bool = False, *, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A case for the API. Its personal data as the console shows it — name, phone and 身份证号
    masked, in its data and in its history's notes; the address in full on one case (where to go)
    and masked in a list — unless `data` is given: what `CaseDesk.reveal` opened."""
    if data is None:
        data = case_fields(case.data, address=with_history)
        case = case.notes_masked()
    out = {"number": case.number, "kind": case.kind, "guide": case.guide, "center": case.center,
           "state": case.state, "deadline": case.deadline.isoformat() if case.deadline else None,
           "data": data, "created_at": case.created_at, "updated_at": case.updated_at,
           "allowed": allowed(case.kind, case.state),
           # a life event's case (高效办成一件事): one line per step, the station's services with their status
           "lines": [{"position": l.position, "service": l.service, "kind": l.kind, "status": l.status, "note": l.note}
                     for l in case.lines]}
    if with_history:
        out["history"] = [asdict(line) for line in case.history]
    return out


def _handoff_json(h: dict[str, Any], messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out = {key: h[key] for key in ("id", "openid", "center", "status", "question", "created_at")}
    if messages is not None:
        out["messages"] = [{"from": m["sender"], "text": m["text"], "at": m["at"]} for m in messages]
    return out


def _booking_json(b: Booking) -> dict[str, Any]:
    return {"code": b.code, "guide": b.guide, "center": b.center, "window": b.window, "date": b.day.isoformat(),
            "start": b.start.isoformat(), "status": b.status, "note": b.note}


class StaffAPI:
    def __init__(self, texts: Texts):
        self.texts = texts

    @web.middleware
    async def auth(self, request: web.Request, handler):
        if not request.path.startswith("/api/"):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        staff = await request.app[CASE_DESK].store.staff.by_token(token) if token else None
        if staff is None:
            return _error(self.texts, 401, "unauthorized")
        request[STAFF] = staff
        return await handler(request)

    async def list_cases(self, request: web.Request) -> web.Response:
        q = request.query
        center = q.get("center") or None
        scope = _scope(request)
        if center and scope is not None and center not in scope:
            return _error(self.texts, 403, "forbidden")
        centers = [center] if center else scope
        desk = request.app[CASE_DESK]
        today = desk.clock.now().date()
        due = q.get("due")
        if due not in (None, "", "overdue", "soon"):
            return _error(self.texts, 400, "bad_request")
        due_by = {"overdue": today - timedelta(days=1), "soon": desk.calendar.add_workdays(today, 2)}.get(due or "")
        cases = await desk.store.cases.list(centers=centers, kind=q.get("kind") or None,
                                            state=q.get("status") or None, due_by=due_by)
        return web.json_response({"cases": [_case_json(c) for c in cases]})

    async def dead_letters(self, request: web.Request) -> web.Response:
        """Notices WeChat would not take after every retry: staff must reach these residents. Those
        of residents of the caller's centers (bound there, or with a case or booking there), as the
        dashboard lists them; clerks, supervisors and admins."""
        access = _access(request)
        if not (access.acts or access.reports):
            return _error(self.texts, 403, "forbidden")
        return web.json_response({"dead": await request.app[CASE_DESK].store.outbox.dead(centers=access.centers)})

    async def resend_one(self, request: web.Request) -> web.Response:
        """Send one dead notice again (WeChat is back, the resident follows again): clerks for their
        centers' residents, admins for all; recorded."""
        try:
            item_id = int(request.match_info["id"])
        except ValueError:
            return _error(self.texts, 404, "not_found")
        return await self._resend(request, item_id=item_id)

    async def resend_since(self, request: web.Request) -> web.Response:
        """`{"since": "YYYY-MM-DDTHH:MM"}` (or a date): every notice of the caller's centers that died
        since then is sent again — after a WeChat outage, say."""
        try:
            body = await request.json()
            since = datetime.fromisoformat(str(body["since"]))
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return _error(self.texts, 400, "bad_request")
        return await self._resend(request, since=since if since.tzinfo else since.replace(tzinfo=TZ))

    async def _resend(self, request: web.Request, *, item_id: int | None = None,
                      since: datetime | None = None) -> web.Response:
        access = _access(request)
        if not access.acts:
            return _error(self.texts, 403, "forbidden")
        resent = await request.app[CASE_DESK].resend_notices(
            member=request[STAFF], address=request.remote or "", centers=access.centers, item_id=item_id, since=since)
        if item_id is not None and not resent:
            return _error(self.texts, 404, "not_found")
        return web.json_response({"resent": resent})

    async def _visible_case(self, request: web.Request, acting: bool = False) -> Case | web.Response:
        """The case of the path if the caller sees it — and, `acting`, may act on it."""
        case = await request.app[CASE_DESK].store.cases.get(request.match_info["number"])
        if case is None:
            return _error(self.texts, 404, "not_found")
        access = _access(request)
        if not access.sees(case.center) or (acting and not access.acts):
            return _error(self.texts, 403, "forbidden")
        return case

    async def show_case(self, request: web.Request) -> web.Response:
        case = await self._visible_case(request)
        if isinstance(case, web.Response):
            return case
        return web.json_response(_case_json(case, with_history=True))

    async def reveal(self, request: web.Request) -> web.Response:
        """The case with its personal data in full, for a clerk who must call or act: recorded in
        the audit log, as the console's 显示完整联系方式."""
        case = await self._visible_case(request, acting=True)
        if isinstance(case, web.Response):
            return case
        revealed = await request.app[CASE_DESK].reveal(case, member=request[STAFF], address=request.remote or "")
        return web.json_response(_case_json(case, with_history=True, data=revealed))

    async def transition(self, request: web.Request) -> web.Response:
        case = await self._visible_case(request, acting=True)
        if isinstance(case, web.Response):
            return case
        try:
            body = await request.json()
            to = body["to"]
            note = str(body.get("note") or "")
            deadline = date.fromisoformat(body["deadline"]) if body.get("deadline") else None
            visit_at = datetime.fromisoformat(body["visit_at"]) if body.get("visit_at") else None
            if visit_at is not None and visit_at.tzinfo is None:
                visit_at = visit_at.replace(tzinfo=TZ)
            if to not in STATES:
                raise ValueError(to)
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return _error(self.texts, 400, "bad_request")
        staff: StaffMember = request[STAFF]
        try:
            moved = await request.app[CASE_DESK].move(case.number, Move(to=to, note=note, deadline=deadline,
                                                                                visit_at=visit_at),
                                                      actor=f"staff:{staff.name}")
        except InvalidMove as e:
            return web.json_response({"error": "invalid_move", "allowed": e.allowed,
                                      "message": self.texts.chat("api_error", code="invalid_move", move=e)},
                                     status=409)
        except StaleCase:
            return _error(self.texts, 409, "stale")
        await _audit(request, "case_move", center=case.center, target=case.number, detail=f"{case.state} → {to}")
        return web.json_response(_case_json(moved, with_history=True))

    # -- conversations with a person (转人工) ------------------------------------------------

    async def list_handoffs(self, request: web.Request) -> web.Response:
        """Conversations the caller may see: `?status=waiting|open|closed` (default: waiting and open)."""
        status = request.query.get("status") or None
        if status is not None and status not in HANDOFF_STATUSES:
            return _error(self.texts, 400, "bad_request", field="status")
        found = await request.app[HANDOFF_DESK].store.handoffs.listed(status, _scope(request))
        return web.json_response({"handoffs": [_handoff_json(h) for h in found]})

    async def _visible_handoff(self, request: web.Request, acting: bool = False) -> dict[str, Any] | web.Response:
        try:
            found = await request.app[HANDOFF_DESK].store.handoffs.get(int(request.match_info["id"]))
        except ValueError:
            found = None
        if found is None:
            return _error(self.texts, 404, "not_found")
        access = _access(request)
        if not access.sees(found["center"]) or (acting and not access.acts):
            return _error(self.texts, 403, "forbidden")
        return found

    async def show_handoff(self, request: web.Request) -> web.Response:
        handoff = await self._visible_handoff(request)
        if isinstance(handoff, web.Response):
            return handoff
        messages = await request.app[HANDOFF_DESK].store.handoffs.messages(handoff["id"])
        return web.json_response(_handoff_json(handoff, messages))

    async def _handoff_body(self, request: web.Request, key: str) -> str | None:
        try:
            body = await request.json()
        except (ValueError, json.JSONDecodeError):
            return None
        value = body.get(key) if isinstance(body, dict) else None
        return value if isinstance(value, str) else None

    def _handoff_refused(self, refused: HandoffRefused) -> web.Response:
        if refused.code == "closed":
            return _error(self.texts, 409, "handoff_closed")
        if refused.code in ("no_center", "same_center"):
            return _error(self.texts, 400, "handoff_center")
        return _error(self.texts, 400, "handoff_text", limit=TEXT_LIMIT)

    async def handoff_message(self, request: web.Request) -> web.Response:
        """The clerk writes to the resident; a waiting conversation becomes theirs. 409 when another
        clerk has it or it is closed."""
        handoff = await self._visible_handoff(request, acting=True)
        if isinstance(handoff, web.Response):
            return handoff
        text = await self._handoff_body(request, "text")
        if text is None:
            return _error(self.texts, 400, "handoff_text", limit=TEXT_LIMIT)
        desk = request.app[HANDOFF_DESK]
        try:
            await desk.write(handoff, request[STAFF].name, text)
        except HandoffRefused as refused:
            return self._handoff_refused(refused)
        except Taken as taken:
            return _error(self.texts, 409, "taken", taken_by=taken.handoff["taken_by"],
                          also={"taken_by": taken.handoff["taken_by"], "status": taken.handoff["status"]})
        await _audit(request, "handoff_message", center=handoff["center"], target=f"#{handoff['id']}",
                     detail=text[:200])
        fresh = await desk.store.handoffs.get(handoff["id"])
        return web.json_response(_handoff_json(fresh, await desk.store.handoffs.messages(handoff["id"])), status=201)

    async def close_handoff(self, request: web.Request) -> web.Response:
        handoff = await self._visible_handoff(request, acting=True)
        if isinstance(handoff, web.Response):
            return handoff
        try:
            closed = await request.app[HANDOFF_DESK].close(handoff, request[STAFF].name)
        except HandoffRefused as refused:
            return self._handoff_refused(refused)
        await _audit(request, "handoff_close", center=handoff["center"], target=f"#{handoff['id']}")
        return web.json_response(_handoff_json(closed))

    async def transfer_handoff(self, request: web.Request) -> web.Response:
        handoff = await self._visible_handoff(request, acting=True)
        if isinstance(handoff, web.Response):
            return handoff
        center = await self._handoff_body(request, "center")
        if center is None:
            return _error(self.texts, 400, "handoff_center")
        try:
            moved = await request.app[HANDOFF_DESK].transfer(handoff, center, request[STAFF].name)
        except HandoffRefused as refused:
            return self._handoff_refused(refused)
        await _audit(request, "handoff_transfer", center=handoff["center"], target=f"#{handoff['id']}",
                     detail=f"{handoff['center']} → {center}")
        return web.json_response(_handoff_json(moved))

    async def line(self, request: web.Request) -> web.Response:
        """`{"status": "done" | "pending"}`: one service of a life event's case done, or not yet."""
        case = await self._visible_case(request, acting=True)
        if isinstance(case, web.Response):
            return case
        try:
            status = (await request.json())["status"]
            if status not in LINE_STATUSES:
                raise ValueError(status)
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return _error(self.texts, 400, "bad_request", field="line_status")
        position = int(request.match_info["position"])
        if not any(l.position == position and l.ours for l in case.lines):
            return _error(self.texts, 404, "not_found")
        if not allowed(case.kind, case.state):
            return _error(self.texts, 409, "stale")
        staff: StaffMember = request[STAFF]
        changed = await request.app[CASE_DESK].set_line(case.number, position, status, actor=f"staff:{staff.name}")
        await _audit(request, "case_line", center=case.center, target=case.number, detail=f"{position} → {status}")
        return web.json_response(_case_json(changed, with_history=True))

    # -- appointments ------------------------------------------------------------------------

    def _center_in_scope(self, request: web.Request, center_id: str) -> web.Response | None:
        if request.app[APPOINTMENTS].centers.get(center_id) is None:
            return _error(self.texts, 404, "not_found")
        scope = _scope(request)
        if scope is not None and center_id not in scope:
            return _error(self.texts, 403, "forbidden")
        return None

    async def appointments(self, request: web.Request) -> web.Response:
        """The day's appointments: `center` (default: all the caller may see), `date` (default today)."""
        appointments = request.app[APPOINTMENTS]
        center = request.query.get("center") or None
        try:
            day = date.fromisoformat(request.query["date"]) if request.query.get("date") else \
                appointments.clock.now().date()
        except ValueError:
            return _error(self.texts, 400, "bad_request")
        if center and (refused := self._center_in_scope(request, center)):
            return refused
        bookings = await appointments.store.bookings.for_day([center] if center else _scope(request), day)
        return web.json_response({"date": day.isoformat(), "appointments": [_booking_json(b) for b in bookings]})

    async def mark_appointment(self, request: web.Request) -> web.Response:
        appointments = request.app[APPOINTMENTS]
        action = request.match_info["action"]
        booking = await appointments.store.bookings.get(request.match_info["code"])
        if booking is None:
            return _error(self.texts, 404, "not_found")
        if refused := self._center_in_scope(request, booking.center):
            return refused
        if not _access(request).acts:
            return _error(self.texts, 403, "forbidden")
        try:
            marked = await appointments.mark(booking, action)
        except NotNow as refused:
            return _error(self.texts, 409, refused.code, current=refused.current)
        await _audit(request, action, center=booking.center, target=booking.code)
        return web.json_response(_booking_json(marked))

    async def close_center(self, request: web.Request) -> web.Response:
        """Close a center for a day: its bookings are cancelled and each resident is told."""
        appointments = request.app[APPOINTMENTS]
        center_id = request.match_info["center"]
        if refused := self._center_in_scope(request, center_id):
            return refused
        if not _access(request).acts:
            return _error(self.texts, 403, "forbidden")
        try:
            body = await request.json()
            day = date.fromisoformat(body["date"])
            reason = str(body["reason"]).strip()
            if not reason:
                raise ValueError("reason")
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return _error(self.texts, 400, "bad_request")
        try:
            released = await appointments.close_day(appointments.centers.get(center_id), day, reason,
                                                    by=f"staff:{request[STAFF].name}")
        except NotNow as refused:
            if refused.code == "past_day":
                return _error(self.texts, 400, "bad_request")
            return _error(self.texts, 409, refused.code)
        await _audit(request, "close_day", center=center_id, target=day.isoformat(), detail=reason)
        return web.json_response({"center": center_id, "date": day.isoformat(), "reason": reason,
                                  "cancelled": [_booking_json(b) for b in released]})

    def _teaching(self, request: web.Request) -> Teaching:
        desk = request.app[CASE_DESK]
        return Teaching(desk.store, desk.library)

    def _refused(self, refused: Refused) -> web.Response:
        status = {"forbidden": 403, "not_found": 404, "clash": 409}.get(refused.code, 400)
        also: dict[str, Any] = {"field": refused.field} if refused.field else {}
        if refused.clashes:
            also["clashes"] = [{"question": q, t.kind: t.name} if t.kind != "none" else {"question": q, "none": True}
                               for q, t in refused.clashes]
        return _error(self.texts, status, refused.code, field=refused.field, also=also)

    async def list_examples(self, request: web.Request) -> web.Response:
        """Taught examples in use and proposed, newest first (`?status=` one of them)."""
        status = request.query.get("status")
        if status is not None and status not in STATUSES:
            return _error(self.texts, 400, "bad_request", field="status")
        examples = await request.app[CASE_DESK].store.examples.list((status,) if status else ("active", "proposed"))
        return web.json_response({"examples": [e.as_json() for e in examples]})

    async def add_example(self, request: web.Request) -> web.Response:
        """`{"question", "guide"|"intent"|"referral"}` (and `"confirm": true` to keep it although it
        is close to another target's examples) → 201 `{"id", "status"}`: `active` for an editor
        or admin, `proposed` for a clerk."""
        try:
            body = await request.json()
        except (ValueError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict):
            return self._refused(Refused("bad_request", field="question"))
        teaching = self._teaching(request)
        if not may_propose(request[STAFF]):
            return _error(self.texts, 403, "forbidden")
        target = teaching.target(body)
        if isinstance(target, Refused):
            return self._refused(target)
        desk = request.app[CASE_DESK]
        example = await teaching.teach(request[STAFF], question=body.get("question"), target=target,
                                       now=desk.clock.now(), address=request.remote or "",
                                       confirm=body.get("confirm") is True)
        if isinstance(example, Refused):
            return self._refused(example)
        return web.json_response({"id": example.id, "status": example.status}, status=201)

    async def decide_example(self, request: web.Request) -> web.Response:
        """DELETE removes an example (its teaching undone at once); POST …/accept or …/reject
        decides a clerk's proposal."""
        try:
            example_id = int(request.match_info["id"])
        except ValueError:
            return _error(self.texts, 404, "not_found")
        action = request.match_info.get("action", "remove")
        desk = request.app[CASE_DESK]
        example = await self._teaching(request).decide(request[STAFF], example_id, action=action,
                                                       now=desk.clock.now(), address=request.remote or "")
        if isinstance(example, Refused):
            return self._refused(example)
        return web.json_response(example.as_json())

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/cases", self.list_cases),
                web.get("/api/cases/{number}", self.show_case),
                web.post("/api/cases/{number}/transitions", self.transition),
                web.post("/api/cases/{number}/lines/{position:\\d+}", self.line),
                web.post("/api/cases/{number}/reveal", self.reveal),
                web.get("/api/outbox/dead", self.dead_letters),
                web.post("/api/outbox/resend", self.resend_since),
                web.post("/api/outbox/{id}/resend", self.resend_one),
                web.get("/api/handoffs", self.list_handoffs),
                web.get("/api/handoffs/{id}", self.show_handoff),
                web.post("/api/handoffs/{id}/messages", self.handoff_message),
                web.post("/api/handoffs/{id}/close", self.close_handoff),
                web.post("/api/handoffs/{id}/transfer", self.transfer_handoff),
                web.get("/api/appointments", self.appointments),
                web.post("/api/appointments/{code}/{action:checkin|noshow}", self.mark_appointment),
                web.post("/api/centers/{center}/closures", self.close_center),
                web.get("/api/examples", self.list_examples),
                web.post("/api/examples", self.add_example),
                web.delete("/api/examples/{id}", self.decide_example),
                web.post("/api/examples/{id}/{action:accept|reject}", self.decide_example)]
