"""The county's editors keep the guides and life events: a draft beside what residents read,
checked as check-kb checks a file (`check_document`), published to every worker, rolled back,
and each guide's `local_check` points confirmed for the county. The console and the JSON API
both come here, as they go to `HandoffDesk` for conversations.

    published vN ──save_draft──▶ draft (checked) ──publish (checked again)──▶ vN+1, served at once
                 ◀─discard──────┘                   rollback(k): version k's content as vN+1

Editors and admins edit; supervisors read; clerks neither. Every action is in the audit log.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.knowledge.documents import Problem, check_document
from bot.knowledge.library import Library
from bot.store.guides import DraftConflict, GuideConflict, GuideRecord, GuideVersion
from bot.store.staff import StaffMember

log = logging.getLogger(__name__)

EDITORS = ("editor", "admin")
READERS = ("editor", "admin", "supervisor")
REVIEW_EVERY = timedelta(days=365)      # a guide not reviewed for this long is due for review
IGNORED = ("version", "draft", "draft_by", "draft_at", "base")  # keys of the object GET shows that a saved document does not hold
# list fields compared item by item, each item known by this key
ITEM_KEYS = {"materials": "name", "faq": "q", "situations": "name", "steps": ("guide", "name")}


_STEP = re.compile(r"([^.\[\]]+)(?:\[(\d+)\])?")


def field_path(name: str) -> list[tuple[str, int | None]]:
    """`situations[1].materials[0].form` → [("situations", 1), ("materials", 0), ("form", None)]:
    what the templates name in Chinese."""
    return [(m.group(1), int(m.group(2)) if m.group(2) is not None else None) for m in _STEP.finditer(name)]


def pointed(problem: Problem) -> Problem:
    """A missing key is told at the table that lacks it: named here at the key itself."""
    key = problem.params.get("key") if problem.code == "missing_key" else None
    if not key or problem.field == key or problem.field.endswith("." + key):
        return problem
    return replace(problem, field=f"{problem.field}.{key}" if problem.field else key)


def may_edit(member: StaffMember) -> bool:
    return member.role in EDITORS


def may_read(member: StaffMember) -> bool:
    return member.role in READERS


class Refused(Exception):
    """Why an edit was not made; nothing changed. `code`: forbidden not_found exists invalid
    conflict draft_conflict no_draft no_version no_point. `problem` names the first bad field of an invalid
    document; `latest` is the published version a stale draft missed; `by` and `at` who saved the
    draft another editor's would have overwritten, and when."""

    def __init__(self, code: str, *, problem: Problem | None = None, latest: int | None = None,
                 by: str | None = None, at: str | None = None):
        super().__init__(code)
        self.code, self.problem, self.latest, self.by, self.at = code, problem, latest, by, at

    @property
    def field(self) -> str:
        return self.problem.field if self.problem else ""


@dataclass(frozen=True)
class Change:
    """One difference of the draft from the published document: a whole field (`item` empty) or
    one item of materials, FAQ, situations or steps (known by its name or question)."""

    field: str
    item: str
    what: str          # changed | added | removed
    before: Any
    after: Any
    removed: tuple = ()   # of a list of lines: the lines gone …
    added: tuple = ()     # … and the new ones


@dataclass(frozen=True)
class Duty:
    """A guide's review duty: its `local_check` points not yet confirmed for the county, and
    whether it is due for its yearly review."""

    name: str
    open_points: tuple[str, ...]
    confirmed: dict[str, Any] = field(default_factory=dict)   # point → Confirmation
    due: bool = False


def state(record: GuideRecord) -> str:
    """published | draft (beside a published version, or never published) | unpublished"""
    if record.draft is not None:
        return "draft"
    return "published" if record.version is not None else "unpublished"


def shown(record: GuideRecord) -> dict[str, Any]:
    """The object `GET /api/guides/{name}` answers: the published document (just its name when
    never published), its version and the draft, with who saved the draft and when (`draft_at`,
    which a PUT of this object gives back: another editor's draft saved since is not overwritten)."""
    return {**(record.content or {"name": record.name}), "version": record.version, "draft": record.draft,
            "draft_by": record.draft_by, "draft_at": record.draft_at}


def _key(item: Any, key: str | tuple[str, ...]) -> str:
    if not isinstance(item, dict):
        return str(item)
    keys = key if isinstance(key, tuple) else (key,)
    return next((str(item[k]) for k in keys if item.get(k)), "")


FIRST = ("name", "q", "a", "guide", "where", "form", "copies", "required", "note")   # an item's keys shown first


def _ordered(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {k: item[k] for k in sorted(item, key=lambda k: (FIRST.index(k) if k in FIRST else len(FIRST), k))}


def _items(field_name: str, before: list, after: list) -> list[Change]:
    """Items known by their name; one renamed in place (gone from a position where a new name
    now stands) is a change of that item, not one removed and one added."""
    key = ITEM_KEYS[field_name]
    old = {_key(i, key): i for i in before}
    new = {_key(i, key): i for i in after}
    renamed = {}   # new name → old name
    for i, item in enumerate(after):
        name = _key(item, key)
        if name not in old and i < len(before) and _key(before[i], key) not in new:
            renamed[name] = _key(before[i], key)
    changes = []
    for name, item in new.items():
        was = old.get(renamed.get(name, name))
        if was is None:
            changes.append(Change(field_name, name, "added", None, _ordered(item)))
        elif was != item:
            label = f"{renamed[name]} → {name}" if name in renamed else name
            changes.append(Change(field_name, label, "changed", _ordered(was), _ordered(item)))
    changes += [Change(field_name, name, "removed", _ordered(item), None) for name, item in old.items()
                if name not in new and name not in renamed.values()]
    if not changes and [_key(i, key) for i in before] != [_key(i, key) for i in after]:
        changes.append(Change(field_name, "", "changed", before, after))   # the same items in another order
    return changes


def diff(published: dict[str, Any] | None, draft: dict[str, Any] | None) -> list[Change]:
    """What publishing the draft would change, field by field in the draft's order; materials,
    FAQ, situations (with their materials) and steps item by item."""
    if draft is None:
        return []
    published = published or {}
    changes: list[Change] = []
    for name in [*draft, *(k for k in published if k not in draft)]:
        before, after = published.get(name), draft.get(name)
        if before == after:
            continue
        lists = isinstance(before, (list, type(None))) and isinstance(after, (list, type(None)))
        if name in ITEM_KEYS and lists:
            changes += _items(name, before or [], after or [])
        elif lists and all(isinstance(v, str) for v in [*(before or []), *(after or [])]):
            gone = tuple(v for v in before or [] if v not in (after or []))
            new = tuple(v for v in after or [] if v not in (before or []))
            changes.append(Change(name, "", "changed" if before and after else "added" if after else "removed",
                                  before, after, removed=gone, added=new))
        else:
            what = "added" if before is None else "removed" if after is None else "changed"
            changes.append(Change(name, "", what, before, after))
    return changes


def duties(records: list[GuideRecord], confirmations: list, now: datetime) -> list[Duty]:
    """Each published document's review duty, by name."""
    confirmed: dict[str, dict[str, Any]] = {}
    for c in confirmations:
        confirmed.setdefault(c.name, {})[c.point] = c
    out = []
    for r in records:
        content = r.content or r.draft or {}
        points = [p for p in content.get("local_check", []) if isinstance(p, str)]
        mine = confirmed.get(r.name, {})
        due = r.reviewed_at is None or datetime.fromisoformat(r.reviewed_at) < now - REVIEW_EVERY
        out.append(Duty(name=r.name, open_points=tuple(p for p in points if p not in mine),
                        confirmed={p: mine[p] for p in points if p in mine}, due=due))
    return out


@dataclass
class GuideDesk:
    store: Any
    library: Library
    clock: Clock

    async def record(self, name: str) -> GuideRecord:
        found = await self.store.guides.get(name)
        if found is None:
            raise Refused("not_found")
        return found

    def problems(self, kind: str, name: str, document: Any) -> list[Problem]:
        """What check-kb would say of the document, against the knowledge base being served; a
        document is never renamed through an edit."""
        if not isinstance(document, dict):
            return [Problem("name", "not_a_document", {}, "a document must be an object of the knowledge format's keys")]
        if document.get("name") != name:
            return [Problem("name", "name_differs", {"name": name}, f"name must stay {name!r}")]
        return check_document(kind, document, self.library.knowledge)

    def _check(self, kind: str, name: str, document: Any) -> None:
        if problems := self.problems(kind, name, document):
            raise Refused("invalid", problem=pointed(problems[0]))

    @staticmethod
    def _may_edit(member: StaffMember) -> None:
        if not may_edit(member):
            raise Refused("forbidden")

    async def _audit(self, member: StaffMember, action: str, name: str, detail: str, address: str) -> None:
        await self.store.audit.add(actor=member.name, role=member.role, action=action, target=name, detail=detail,
                                   address=address, now=self.clock.now())

    async def _serve(self) -> None:
        """This worker answers from what was just published at once (the others within a second,
        by their poll of the knowledge revision)."""
        await self.library.refresh(self.store)

    async def save_draft(self, member: StaffMember, name: str, document: Any, *, base: int | None = None,
                         draft_at: str | None = None, address: str = "") -> GuideRecord:
        """Keep the document as the draft (GET's `version` and `draft` keys left out); with `base`,
        only while that is still the published version; with `draft_at` (the draft it was made
        from, "" for none), only while no other editor has saved or discarded the draft since."""
        self._may_edit(member)
        record = await self.record(name)
        if isinstance(document, dict):
            document = {k: v for k, v in document.items() if k not in IGNORED}
        self._check(record.kind, name, document)
        try:
            saved = await self.store.guides.save_draft(name, record.kind, document, by=member.name,
                                                       now=self.clock.now(), base=base, draft_at=draft_at)
        except GuideConflict as conflict:
            raise Refused("conflict", latest=conflict.latest) from None
        except DraftConflict as conflict:
            raise Refused("draft_conflict", by=conflict.by, at=conflict.at) from None
        changed = ", ".join(dict.fromkeys(c.field for c in diff(record.content, document))) or "—"
        await self._audit(member, "guide_draft", name, f"changed: {changed}", address)
        return saved

    async def create(self, member: StaffMember, kind: str, document: Any, *, address: str = "") -> GuideRecord:
        """A new guide or life event, kept as the draft of a name nothing has yet (checked as any
        draft is); residents read it once it is published. The same document sent again by the
        same editor (a double click) is the draft already made, not a second one."""
        self._may_edit(member)
        if isinstance(document, dict):
            document = {k: v for k, v in document.items() if k not in IGNORED and k != "kind"}
        name = document.get("name") if isinstance(document, dict) else None
        if not isinstance(name, str) or not name.strip():
            problems = [p for p in check_document(kind, document, self.library.knowledge) if p.field == "name"]
            raise Refused("invalid", problem=pointed(problems[0]) if problems else Problem(
                "name", "missing_key", {"key": "name", "expected": "a string"}, "`name` is missing"))
        found = await self.store.guides.get(name)
        if found is not None:
            if found.version is None and found.draft_by == member.name and found.draft == document:
                return found
            raise Refused("exists")
        self._check(kind, name, document)
        try:
            saved = await self.store.guides.save_draft(name, kind, document, by=member.name, now=self.clock.now(),
                                                       draft_at="")
        except DraftConflict:       # another editor made it between the look and the write
            raise Refused("exists") from None
        await self._audit(member, "guide_create", name, kind, address)
        return saved

    async def discard(self, member: StaffMember, name: str, *, address: str = "") -> None:
        self._may_edit(member)
        record = await self.record(name)
        if record.draft is None or not await self.store.guides.discard_draft(name):
            raise Refused("no_draft")
        await self._audit(member, "guide_discard", name, "", address)

    async def publish(self, member: StaffMember, name: str, *, address: str = "") -> GuideVersion:
        """The draft becomes what residents read, checked again against the knowledge base served
        now (another guide may have claimed an alias since it was saved)."""
        self._may_edit(member)
        record = await self.record(name)
        if record.draft is None:
            raise Refused("no_draft")
        self._check(record.kind, name, record.draft)
        published = await self.store.guides.publish(name, by=member.name, now=self.clock.now())
        if published is None:
            raise Refused("no_draft")
        await self._audit(member, "guide_publish", name, f"v{published.version}", address)
        await self._serve()
        return published

    async def rollback(self, member: StaffMember, name: str, version: Any, *, address: str = "") -> GuideVersion:
        """Publish an earlier version's content again, as a new version (checked as a draft is)."""
        self._may_edit(member)
        record = await self.record(name)
        if not isinstance(version, int) or isinstance(version, bool):
            raise Refused("no_version")
        old = await self.store.guides.version(name, version)
        if old is None:
            raise Refused("no_version")
        self._check(record.kind, name, old.content)
        published = await self.store.guides.rollback(name, version, by=member.name, now=self.clock.now())
        if published is None:
            raise Refused("no_version")
        await self._audit(member, "guide_rollback", name, f"v{version} → v{published.version}", address)
        await self._serve()
        return published

    async def confirm(self, member: StaffMember, name: str, point: str, *, note: str = "",
                      address: str = "") -> None:
        """A `local_check` point of the published guide settled for the county (with how)."""
        self._may_edit(member)
        record = await self.record(name)
        if point not in (record.content or {}).get("local_check", []):
            raise Refused("no_point")
        note = note.strip()[:500]
        await self.store.guides.confirm(name, point, by=member.name, now=self.clock.now(), note=note)
        await self._audit(member, "guide_confirm", name, f"{point[:200]}{' — ' + note if note else ''}", address)

    async def mark_reviewed(self, member: StaffMember, name: str, *, address: str = "") -> None:
        self._may_edit(member)
        await self.record(name)
        await self.store.guides.mark_reviewed(name, by=member.name, now=self.clock.now())
        await self._audit(member, "guide_reviewed", name, "", address)

    async def changes(self, name: str) -> list[Change]:
        record = await self.record(name)
        return diff(record.content, record.draft)

    async def duties(self) -> list[Duty]:
        return duties(await self.store.guides.list(), await self.store.guides.checks(), self.clock.now())
