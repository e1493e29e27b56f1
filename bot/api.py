"""The staff JSON API (`/api/…`): the console's back end and the county platform's door.

`Authorization: Bearer <token>`; errors are `{"error": code, "message": Chinese text}` with
400/401/403/404/409. A staff member sees and moves only the cases of their center; an admin
(no center) sees every center.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from bot.cases.desk import CaseDesk, InvalidMove, StaleCase
from bot.cases.machine import STATES, Move, allowed
from bot.store.cases import Case, StaffMember
from bot.texts import Texts

CASE_DESK = web.AppKey("case_desk", CaseDesk)
STAFF = web.RequestKey("staff_member", StaffMember)


def _error(texts: Texts, status: int, code: str, **context: Any) -> web.Response:
    message = texts.chat("api_error", code=code, **context)
    return web.json_response({"error": code, "message": message}, status=status)


def _scope(request: web.Request) -> list[str] | None:
    """The centers the caller may see: their own and every one below it (a town center's clerk
    also sees its villages); None for an admin, who sees all."""
    staff: StaffMember = request[STAFF]
    if staff.center is None:
        return None
    return request.app[CASE_DESK].library.knowledge.centers.below(staff.center)


def _visible(request: web.Request, case: Case) -> bool:
    scope = _scope(request)
    return scope is None or case.center in scope


def _case_json(case: Case, with_history: bool = False) -> dict[str, Any]:
    data = dict(case.data)
    for secret in ("id_number", "phone"):
        if data.get(secret):
            data[secret] = data.get(f"{secret}_masked", "***")
        data.pop(f"{secret}_masked", None)
    out = {"number": case.number, "kind": case.kind, "guide": case.guide, "center": case.center,
           "state": case.state, "deadline": case.deadline.isoformat() if case.deadline else None,
           "data": data, "created_at": case.created_at, "updated_at": case.updated_at,
           "allowed": allowed(case.kind, case.state)}
    if with_history:
        out["history"] = [asdict(line) for line in case.history]
    return out


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
        """Notices WeChat would not take after every retry: staff must reach these residents."""
        if request[STAFF].role not in ("admin", "supervisor"):
            return _error(self.texts, 403, "forbidden")
        return web.json_response({"dead": await request.app[CASE_DESK].store.outbox.dead()})

    async def _visible_case(self, request: web.Request) -> Case | web.Response:
        case = await request.app[CASE_DESK].store.cases.get(request.match_info["number"])
        if case is None:
            return _error(self.texts, 404, "not_found")
        if not _visible(request, case):
            return _error(self.texts, 403, "forbidden")
        return case

    async def show_case(self, request: web.Request) -> web.Response:
        case = await self._visible_case(request)
        if isinstance(case, web.Response):
            return case
        return web.json_response(_case_json(case, with_history=True))

    async def transition(self, request: web.Request) -> web.Response:
        case = await self._visible_case(request)
        if isinstance(case, web.Response):
            return case
        try:
            body = await request.json()
            to = body["to"]
            note = str(body.get("note") or "")
            deadline = date.fromisoformat(body["deadline"]) if body.get("deadline") else None
            if to not in STATES:
                raise ValueError(to)
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return _error(self.texts, 400, "bad_request")
        staff: StaffMember = request[STAFF]
        try:
            moved = await request.app[CASE_DESK].move(case.number, Move(to=to, note=note, deadline=deadline),
                                                      actor=f"staff:{staff.name}")
        except InvalidMove as e:
            return web.json_response({"error": "invalid_move", "allowed": e.allowed,
                                      "message": self.texts.chat("api_error", code="invalid_move", move=e)},
                                     status=409)
        except StaleCase:
            return _error(self.texts, 409, "stale")
        return web.json_response(_case_json(moved, with_history=True))

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/cases", self.list_cases),
                web.get("/api/cases/{number}", self.show_case),
                web.post("/api/cases/{number}/transitions", self.transition),
                web.get("/api/outbox/dead", self.dead_letters)]
