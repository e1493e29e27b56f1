"""The guides kept by the county's editors, in the staff JSON API (`/api/guides…`, see
shared/DESIGN.md): the object `GET /api/guides/{name}` answers is what `PUT …/draft` takes back,
edited or not. `bot.knowledge.editing.GuideDesk` does the work, as for the console; errors are
`{"error", "message"}` (and `"field"`, the first bad field of a refused document)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.api import STAFF
from bot.knowledge.documents import KINDS, Problem
from bot.knowledge.editing import GuideDesk, Refused, field_path, may_edit, may_read, shown, state
from bot.store.guides import GuideRecord, GuideVersion
from bot.texts import Texts

GUIDE_DESK = web.AppKey("guide_desk", GuideDesk)
STATUS = {"forbidden": 403, "not_found": 404, "exists": 409, "invalid": 400, "bad_request": 400, "conflict": 409,
          "draft_conflict": 409, "no_draft": 409, "no_version": 404, "no_point": 400}


def _listed(record: GuideRecord) -> dict[str, Any]:
    return {"name": record.name, "kind": record.kind, "version": record.version, "updated": record.updated_at,
            "updated_by": record.updated_by, "state": state(record), "draft_by": record.draft_by,
            "draft_at": record.draft_at, "draft_base": record.draft_base, "reviewed": record.reviewed_at}


def _version(v: GuideVersion) -> dict[str, Any]:
    return {"version": v.version, "at": v.at, "by": v.by, "action": v.action, "from_version": v.from_version}


class GuidesAPI:
    def __init__(self, texts: Texts):
        self.texts = texts

    def _error(self, refused: Refused) -> web.Response:
        code = {"forbidden": "editors_only", "invalid": "guide_invalid", "conflict": "guide_conflict",
                "exists": "guide_exists"}.get(
            refused.code, refused.code)
        body: dict[str, Any] = {"error": code, "message": self.texts.chat("api_error", code=code, problem=refused.problem,
                                                                          latest=refused.latest, field=refused.field,
                                                                          path=field_path(refused.field), by=refused.by,
                                                                          at=refused.at)}
        if refused.code in ("invalid", "bad_request"):
            body["field"] = refused.field
        if refused.code == "conflict":
            body["latest"] = refused.latest
        if refused.code == "draft_conflict":
            body["draft_by"], body["draft_at"] = refused.by, refused.at
        return web.json_response(body, status=STATUS.get(refused.code, 400))

    @staticmethod
    def _desk(request: web.Request) -> GuideDesk:
        return request.app[GUIDE_DESK]

    def _reader(self, request: web.Request) -> web.Response | None:
        return None if may_read(request[STAFF]) else self._error(Refused("forbidden"))

    def _editor(self, request: web.Request) -> web.Response | None:
        return None if may_edit(request[STAFF]) else self._error(Refused("forbidden"))

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except (ValueError, json.JSONDecodeError):
            return None
        return body if isinstance(body, dict) else None

    async def list_guides(self, request: web.Request) -> web.Response:
        """Every guide and life event (`?kind=guide|bundle`), with its state."""
        if refused := self._reader(request):
            return refused
        kind = request.query.get("kind") or None
        if kind not in (None, "guide", "bundle"):
            return self._error(Refused("bad_request", problem=_field("kind")))
        records = await self._desk(request).store.guides.list(kind)
        return web.json_response({"guides": [_listed(r) for r in records]})

    async def show(self, request: web.Request) -> web.Response:
        if refused := self._reader(request):
            return refused
        try:
            record = await self._desk(request).record(request.match_info["name"])
        except Refused as refused:
            return self._error(refused)
        return web.json_response(shown(record))

    async def create(self, request: web.Request) -> web.Response:
        """A new guide (or, with `"kind": "bundle"`, life event): the document GET would answer,
        kept as its draft until published; 409 `guide_exists` when the name is taken."""
        if refused := self._editor(request):
            return refused
        body = await self._body(request)
        if body is None:
            return self._error(Refused("bad_request", problem=_field("name")))
        kind = body.get("kind", "guide")
        if kind not in KINDS:
            return self._error(Refused("bad_request", problem=_field("kind")))
        try:
            record = await self._desk(request).create(request[STAFF], kind, body, address=request.remote or "")
        except Refused as refused:
            return self._error(refused)
        return web.json_response(shown(record), status=201)

    async def save_draft(self, request: web.Request) -> web.Response:
        """The object GET answers, edited or not; `"base"`: the version it was made from (409 when
        another editor has published since); `"draft_at"`, as GET gave it: 409 when another editor
        has saved or discarded the draft since."""
        if refused := self._editor(request):
            return refused
        body = await self._body(request)
        if body is None:
            return self._error(Refused("bad_request", problem=_field("name")))
        base, draft_at = body.get("base"), body.get("draft_at")
        if base is not None and (not isinstance(base, int) or isinstance(base, bool)):
            return self._error(Refused("bad_request", problem=_field("base")))
        if draft_at is not None and not isinstance(draft_at, str):
            return self._error(Refused("bad_request", problem=_field("draft_at")))
        try:   # "draft_at": null is GET saying there was no draft; no key at all, nothing to check
            saved = await self._desk(request).save_draft(request[STAFF], request.match_info["name"], body, base=base,
                                                         draft_at=(draft_at or "") if "draft_at" in body else None,
                                                         address=request.remote or "")
        except Refused as refused:
            return self._error(refused)
        return web.json_response(shown(saved))

    async def discard(self, request: web.Request) -> web.Response:
        if refused := self._editor(request):
            return refused
        try:
            await self._desk(request).discard(request[STAFF], request.match_info["name"], address=request.remote or "")
        except Refused as refused:
            return self._error(refused)
        return web.json_response({"discarded": True})

    async def publish(self, request: web.Request) -> web.Response:
        if refused := self._editor(request):
            return refused
        try:
            published = await self._desk(request).publish(request[STAFF], request.match_info["name"],
                                                           address=request.remote or "")
        except Refused as refused:
            return self._error(refused)
        return web.json_response(_version(published))

    async def versions(self, request: web.Request) -> web.Response:
        if refused := self._reader(request):
            return refused
        desk = self._desk(request)
        try:
            record = await desk.record(request.match_info["name"])
        except Refused as refused:
            return self._error(refused)
        return web.json_response({"versions": [_version(v) for v in await desk.store.guides.versions(record.name)]})

    async def rollback(self, request: web.Request) -> web.Response:
        """`{"version": N}`: version N's content published again, as the next version."""
        if refused := self._editor(request):
            return refused
        body = await self._body(request)
        version = body.get("version") if body else None
        if not isinstance(version, int) or isinstance(version, bool):
            return self._error(Refused("bad_request", problem=_field("version")))
        try:
            published = await self._desk(request).rollback(request[STAFF], request.match_info["name"], version,
                                                            address=request.remote or "")
        except Refused as refused:
            return self._error(refused)
        return web.json_response(_version(published))

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/guides", self.list_guides),
                web.post("/api/guides", self.create),
                web.get("/api/guides/{name}", self.show),
                web.put("/api/guides/{name}/draft", self.save_draft),
                web.delete("/api/guides/{name}/draft", self.discard),
                web.post("/api/guides/{name}/publish", self.publish),
                web.get("/api/guides/{name}/versions", self.versions),
                web.post("/api/guides/{name}/rollback", self.rollback)]


def _field(name: str) -> Problem:
    """A request key that is missing or of the wrong type, as the Problem a document check gives."""
    return Problem(name, "bad_request", {}, f"`{name}` is missing or of the wrong type")
