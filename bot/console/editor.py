"""Keeping the guides in the console (for the county's editors and admins; supervisors read):
the upkeep list with each guide's state and review duty, the edit form of every field, the
draft's differences from what residents read, publish, history with roll back, and the
`local_check` points confirmed for the county. `bot.knowledge.editing.GuideDesk` does the
work, as for the JSON API.

    guide page ──编辑──▶ form ──保存草稿──▶ differences ──发布──▶ guide page (residents read it now)
    upkeep ──新建──▶ empty form, name typed ──保存草稿──▶ differences ──发布──▶ …
        │                 ▲ (a bad field: the form again, the field named)
        └──历史版本──▶ versions ──回滚到此版──▶ guide page
"""

from __future__ import annotations

from aiohttp import web

from bot.console.guide_form import SPECS, examples_of, fields, nearest, read_form
from bot.console.pages import SESSION, Pages, field
from bot.guides_api import GUIDE_DESK
from bot.knowledge.editing import GuideDesk, Refused, diff, duties, field_path, may_edit, may_read, state
from bot.store.guides import GuideRecord

ADD_ROWS = ("materials", "faq", "situations", "steps")   # tables a row can be added to (and situations' materials)


def _desk(request: web.Request) -> GuideDesk:
    return request.app[GUIDE_DESK]


def _where(name: str) -> str:
    return f"/console/guides/{name}"


class EditorPages:
    def __init__(self, pages: Pages):
        self.pages = pages

    def _refused(self, request: web.Request, refused: Refused, name: str = "") -> web.Response:
        status = {"forbidden": 403, "not_found": 404, "no_version": 404, "no_draft": 409, "conflict": 409}.get(
            refused.code, 400)
        code = {"forbidden": "guides_read_only", "not_found": "not_found"}.get(refused.code, f"guide_{refused.code}")
        page = {"no_draft": "/diff", "no_version": "/history", "invalid": "/history", "no_point": "/checks"}
        back = _where(name) + page[refused.code] if name and refused.code in page else "/console/guides"
        return self.pages.refuse(request, status, code, back=back)

    def _reader(self, request: web.Request) -> web.Response | None:
        if may_read(request[SESSION].member):
            return None
        return self.pages.refuse(request, 403, "guides_read_only", back="/console/guides")

    async def upkeep(self, request: web.Request) -> web.Response:
        """Every guide and life event with its state and review duty."""
        if refused := self._reader(request):
            return refused
        desk = _desk(request)
        records = await desk.store.guides.list()
        duties = {d.name: d for d in await desk.duties()}
        return self.pages.render(request, "guide_upkeep", records=records, duties=duties, state=state,
                                 edits=may_edit(request[SESSION].member))

    async def edit(self, request: web.Request) -> web.Response:
        if not may_edit(request[SESSION].member):
            return self.pages.refuse(request, 403, "guides_read_only", back="/console/guides")
        try:
            record = await _desk(request).record(request.match_info["name"])
        except Refused as refused:
            return self._refused(request, refused)
        document = record.draft or record.content or {"name": record.name}
        return self._form(request, record, document, base=record.version, since=record.draft_at)

    def _form(self, request: web.Request, record, document: dict, *, base: int | None, since: str | None,
              status: int = 200, problem=None, extra_rows: tuple[str, ...] = (), latest: int | None = None,
              overwrite: Refused | None = None, taken: bool = False) -> web.Response:
        """The form; `since`: when the draft it began from was saved (none: no draft), carried
        along so that saving does not overwrite a draft another editor saved meanwhile (`overwrite`).
        A record not in the store is a new document, its name still to be typed (`taken`: in use)."""
        form = fields(record.kind, document, extra_rows=extra_rows)
        return self.pages.render(request, "guide_edit", status=status, record=record, base=base, since=since,
                                 fields=form, examples=examples_of(document), problem=problem,
                                 problem_path=field_path(problem.field) if problem else [],
                                 at=nearest(form, problem.field) if problem else ("name" if taken else None),
                                 latest=latest, overwrite=overwrite, creating=not record.updated_at, taken=taken)

    async def new(self, request: web.Request) -> web.Response:
        """The form of a new guide (`?kind=guide`) or life event (`?kind=bundle`), empty."""
        if not may_edit(request[SESSION].member):
            return self.pages.refuse(request, 403, "guides_read_only", back="/console/upkeep")
        kind = request.query.get("kind", "guide")
        if kind not in SPECS:
            return self.pages.refuse(request, 400, "bad_request", back="/console/upkeep")
        return self._form(request, _unsaved(kind, ""), {"name": ""}, base=None, since=None)

    async def create(self, request: web.Request) -> web.Response:
        """The new document kept as its draft (then its differences, to publish); a bad field or
        a name in use: the form again, with what was typed."""
        member = request[SESSION].member
        if not may_edit(member):
            return self.pages.refuse(request, 403, "guides_read_only", back="/console/upkeep")
        form = await request.post()
        kind, name = field(form, "kind"), field(form, "name").strip()
        if kind not in SPECS:
            return self.pages.refuse(request, 400, "bad_request", back="/console/upkeep")
        record, document = _unsaved(kind, name), read_form(kind, name, form)
        if add := field(form, "add"):
            return self._form(request, record, document, base=None, since=None, extra_rows=(add,))
        try:
            await _desk(request).create(member, kind, document, address=request.remote or "")
        except Refused as refused:
            if refused.code == "invalid":
                return self._form(request, record, document, base=None, since=None, status=400,
                                  problem=refused.problem)
            if refused.code == "exists":
                return self._form(request, record, document, base=None, since=None, status=409, taken=True)
            return self._refused(request, refused)
        raise self.pages.back_to(_where(name) + "/diff", "guide_created")

    async def save(self, request: web.Request) -> web.Response:
        """保存草稿; or a row added to a table (the form again, nothing saved)."""
        member = request[SESSION].member
        if not may_edit(member):
            return self.pages.refuse(request, 403, "guides_read_only", back="/console/guides")
        desk = _desk(request)
        try:
            record = await desk.record(request.match_info["name"])
        except Refused as refused:
            return self._refused(request, refused)
        form = await request.post()
        document = read_form(record.kind, record.name, form)
        base = int(form["base"]) if field(form, "base").isdigit() else None
        since = field(form, "since") if "since" in form else None
        add = field(form, "add")
        if add:
            return self._form(request, record, document, base=base, since=since, extra_rows=(add,))
        try:
            await desk.save_draft(member, record.name, document, base=base, draft_at=since,
                                  address=request.remote or "")
        except Refused as refused:
            if refused.code == "invalid":
                return self._form(request, record, document, base=base, since=since, status=400,
                                  problem=refused.problem)
            if refused.code == "conflict":
                return self._form(request, record, document, base=base, since=since, status=409,
                                  latest=refused.latest)
            if refused.code == "draft_conflict":
                return self._form(request, record, document, base=base, since=since, status=409,
                                  overwrite=refused)
            return self._refused(request, refused, record.name)
        raise self.pages.back_to(_where(record.name) + "/diff", "draft_saved")

    async def differences(self, request: web.Request) -> web.Response:
        if refused := self._reader(request):
            return refused
        try:
            record = await _desk(request).record(request.match_info["name"])
        except Refused as refused:
            return self._refused(request, refused)
        return self.pages.render(request, "guide_diff", record=record, changes=diff(record.content, record.draft),
                                 edits=may_edit(request[SESSION].member))

    async def act(self, request: web.Request) -> web.Response:
        """publish, discard, rollback, confirm (a local_check point), reviewed."""
        member, desk = request[SESSION].member, _desk(request)
        name, action = request.match_info["name"], request.match_info["action"]
        form = await request.post()
        address = request.remote or ""
        flash = f"guide_{action}"
        try:
            if action == "publish":
                if (await desk.publish(member, name, address=address)).version == 1:
                    flash = "guide_publish_new"       # answered once the matcher has learned it
            elif action == "discard":
                await desk.discard(member, name, address=address)
            elif action == "rollback":
                version = field(form, "version")
                await desk.rollback(member, name, int(version) if version.isdigit() else None, address=address)
            elif action == "confirm":
                await desk.confirm(member, name, field(form, "point"), note=field(form, "note"), address=address)
            else:
                await desk.mark_reviewed(member, name, address=address)
        except Refused as refused:
            if refused.code == "invalid" and action == "publish":   # the draft no longer fits what is served
                record = await desk.record(name)
                return self._form(request, record, record.draft or {}, base=record.version,
                                  since=record.draft_at, status=400, problem=refused.problem)
            return self._refused(request, refused, name)
        raise self.pages.back_to(await self._after(desk, name, action, field(form, "back")), flash)

    @staticmethod
    async def _after(desk: GuideDesk, name: str, action: str, back: str) -> str:
        """Where an action leaves the editor: the guide's page as residents read it, or — for a
        life event or a guide not published, which have none — its history or the upkeep list."""
        if back == "checks" and action in ("confirm", "reviewed"):
            return _where(name) + "/checks"
        if action == "rollback":
            return _where(name) + "/history"
        record = await desk.store.guides.get(name)
        if record is None:
            return "/console/upkeep"            # a draft never published, discarded
        if record.kind == "guide" and record.version is not None:
            return _where(name)
        return _where(name) + ("/checks" if action in ("confirm", "reviewed") else "/history")

    async def history(self, request: web.Request) -> web.Response:
        if refused := self._reader(request):
            return refused
        desk = _desk(request)
        try:
            record = await desk.record(request.match_info["name"])
        except Refused as refused:
            return self._refused(request, refused)
        versions = await desk.store.guides.versions(record.name)
        changed = {v.version: list(dict.fromkeys(c.field for c in diff(older.content, v.content)))
                   for v, older in zip(versions, versions[1:])}
        return self.pages.render(request, "guide_history", record=record, versions=versions, changed=changed,
                                 edits=may_edit(request[SESSION].member))


    async def checks(self, request: web.Request) -> web.Response:
        """The review duty of one guide or life event: its local_check points, each confirmed for
        the county or not, and its last review."""
        if refused := self._reader(request):
            return refused
        upkeep = await upkeep_of(request, request.match_info["name"])
        if upkeep is None:
            return self.pages.refuse(request, 404, "not_found", back="/console/upkeep")
        return self.pages.render(request, "guide_checks", **upkeep)


def _unsaved(kind: str, name: str) -> GuideRecord:
    """What the form of a new document stands on: a record the store does not hold yet."""
    return GuideRecord(name=name, kind=kind, version=None, content=None, updated_at="", updated_by="", draft=None,
                       draft_base=None, draft_by=None, draft_at=None, reviewed_at=None, reviewed_by=None)


def routes(pages: Pages) -> list[web.RouteDef]:
    p = EditorPages(pages)
    return [web.get("/console/upkeep", p.upkeep),
            web.get("/console/upkeep/new", p.new),
            web.post("/console/upkeep/new", p.create),
            web.get("/console/guides/{name}/edit", p.edit),
            web.post("/console/guides/{name}/edit", p.save),
            web.get("/console/guides/{name}/diff", p.differences),
            web.get("/console/guides/{name}/history", p.history),
            web.get("/console/guides/{name}/checks", p.checks),
            web.post("/console/guides/{name}/{action:publish|discard|rollback|confirm|reviewed}", p.act)]


async def upkeep_of(request: web.Request, name: str) -> dict | None:
    """What a guide's page shows those who keep the guides (editors, admins, supervisors): its
    state, who published and drafted, its confirmed points and whether it is due for review."""
    member = request[SESSION].member
    if not may_read(member):
        return None
    desk = _desk(request)
    record = await desk.store.guides.get(name)
    if record is None:
        return None
    duty = duties([record], await desk.store.guides.checks(name), desk.clock.now())[0]
    return {"record": record, "duty": duty, "edits": may_edit(member)}


async def upkeep_summary(request: web.Request) -> dict | None:
    """The guides list's line for those who keep the guides: drafts, open points, reviews due;
    and each guide's record by name."""
    if not may_read(request[SESSION].member):
        return None
    desk = _desk(request)
    records = await desk.store.guides.list()
    found = await desk.duties()
    return {"drafts": sum(1 for r in records if r.draft is not None),
            "open": sum(1 for d in found if d.open_points), "due": sum(1 for d in found if d.due),
            "records": {r.name: r for r in records}}
