"""The guides and life events residents are answered from, as the county's editors keep them: the
published document with its version, a draft apart from it, every version ever published, and
the `local_check` points confirmed for the county.

    (none) ──save_draft──▶ draft ──publish──▶ version n ──save_draft──▶ draft beside version n …
                                    rollback(k) publishes version k's content again as version n+1

A document is the JSON of one guide or bundle file with its example questions; the repository
keeps what it is given (the knowledge layer validates before it is called). Every publish, roll
back, seed or published import bumps `knowledge_revision`, which every worker reads once a
second: that is how a published change reaches every worker on every machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.store.db import Tx, iso

if TYPE_CHECKING:
    from bot.store.store import Store

KINDS = ("guide", "bundle")
ACTIONS = ("seed", "import", "publish", "rollback")


class DraftConflict(Exception):
    """Another editor saved the draft (or discarded it) after the one who is saving opened it:
    nothing was written. `by` and `at`: who saved the draft kept now, and when (None: none is)."""

    def __init__(self, by: str | None, at: str | None):
        super().__init__(by, at)
        self.by, self.at = by, at


class GuideConflict(Exception):
    """The draft was made from a version that is no longer the latest (another editor published
    in between): nothing was written."""

    def __init__(self, latest: int | None):
        super().__init__(latest)
        self.latest = latest


@dataclass(frozen=True)
class GuideRecord:
    name: str
    kind: str
    version: int | None            # the published version; None when never published
    content: dict[str, Any] | None  # the published document
    updated_at: str
    updated_by: str
    draft: dict[str, Any] | None
    draft_base: int | None
    draft_by: str | None
    draft_at: str | None
    reviewed_at: str | None
    reviewed_by: str | None


@dataclass(frozen=True)
class GuideVersion:
    name: str
    kind: str
    version: int
    content: dict[str, Any]
    at: str
    by: str
    action: str
    from_version: int | None       # what a roll back published again


@dataclass(frozen=True)
class Confirmation:
    name: str
    point: str
    by: str
    at: str
    note: str


def _document(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text is not None else None


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True)


def _record(row) -> GuideRecord:
    return GuideRecord(name=row["name"], kind=row["kind"], version=row["version"], content=_document(row["content"]),
                       updated_at=row["updated_at"], updated_by=row["updated_by"], draft=_document(row["draft"]),
                       draft_base=row["draft_base"], draft_by=row["draft_by"], draft_at=row["draft_at"],
                       reviewed_at=row["reviewed_at"], reviewed_by=row["reviewed_by"])


def _version(row) -> GuideVersion:
    return GuideVersion(name=row["name"], kind=row["kind"], version=int(row["version"]),
                        content=json.loads(row["content"]), at=row["at"], by=row["author"], action=row["action"],
                        from_version=row["from_version"])


class Guides:
    def __init__(self, store: "Store"):
        self.store = store

    async def list(self, kind: str | None = None) -> list[GuideRecord]:
        if kind is None:
            rows = await self.store.fetchall("SELECT * FROM guides ORDER BY name")
        else:
            rows = await self.store.fetchall("SELECT * FROM guides WHERE kind = ? ORDER BY name", kind)
        return [_record(r) for r in rows]

    async def get(self, name: str) -> GuideRecord | None:
        row = await self.store.fetchone("SELECT * FROM guides WHERE name = ?", name)
        return _record(row) if row else None

    async def published(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, document) of everything residents are answered from."""
        rows = await self.store.fetchall("SELECT kind, content FROM guides WHERE content IS NOT NULL ORDER BY name")
        return [(r["kind"], json.loads(r["content"])) for r in rows]

    async def save_draft(self, name: str, kind: str, content: dict[str, Any], *, by: str, now: datetime,
                         base: int | None = None, draft_at: str | None = None) -> GuideRecord:
        """Keep `content` as the draft of `name` (a new document when there is none yet). With
        `base`, only while that is still the published version: GuideConflict otherwise. With
        `draft_at` (when the draft the editor started from was saved; "" for none), only while
        that is still the draft or `by` saved the one there now: DraftConflict otherwise."""
        async with self.store.transaction() as tx:
            await tx.lock(f"guide:{name}")
            row = await tx.fetchone("SELECT * FROM guides WHERE name = ?", name)
            latest = row["version"] if row else None
            if base is not None and base != latest:
                raise GuideConflict(latest)
            kept_at, kept_by = (row["draft_at"], row["draft_by"]) if row else (None, None)
            if draft_at is not None and (kept_at or "") != draft_at and kept_by != by:
                raise DraftConflict(kept_by, kept_at)
            if row is None:
                row = await tx.fetchone(
                    "INSERT INTO guides(name, kind, updated_at, updated_by, draft, draft_base, draft_by, draft_at) "
                    "VALUES (?, ?, ?, ?, ?, NULL, ?, ?) RETURNING *", name, kind, iso(now), by, _text(content), by,
                    iso(now))
            else:
                row = await tx.fetchone(
                    "UPDATE guides SET draft = ?, draft_base = ?, draft_by = ?, draft_at = ? WHERE name = ? RETURNING *",
                    _text(content), latest, by, iso(now), name)
        return _record(row)

    async def discard_draft(self, name: str) -> bool:
        """Drop the draft; a document never published goes with it."""
        async with self.store.transaction() as tx:
            gone = await tx.execute("DELETE FROM guides WHERE name = ? AND version IS NULL", name)
            kept = await tx.execute("UPDATE guides SET draft = NULL, draft_base = NULL, draft_by = NULL, "
                                    "draft_at = NULL WHERE name = ? AND draft IS NOT NULL", name)
        return bool(gone or kept)

    async def publish(self, name: str, *, by: str, now: datetime, action: str = "publish") -> GuideVersion | None:
        """The draft becomes the next version, what residents read; None when there is no draft."""
        async with self.store.transaction() as tx:
            await tx.lock(f"guide:{name}")
            row = await tx.fetchone("SELECT * FROM guides WHERE name = ?", name)
            if row is None or row["draft"] is None:
                return None
            return await _publish(tx, name, row["kind"], json.loads(row["draft"]), row["version"], by=by, now=now,
                                  action=action)

    async def rollback(self, name: str, version: int, *, by: str, now: datetime) -> GuideVersion | None:
        """Publish version `version`'s content again, as a new version; the draft is left alone.
        None when there is no such version."""
        async with self.store.transaction() as tx:
            await tx.lock(f"guide:{name}")
            old = await tx.fetchone("SELECT * FROM guide_versions WHERE name = ? AND version = ?", name, version)
            row = await tx.fetchone("SELECT version FROM guides WHERE name = ?", name)
            if old is None or row is None:
                return None
            return await _publish(tx, name, old["kind"], json.loads(old["content"]), row["version"], by=by, now=now,
                                  action="rollback", from_version=version, keep_draft=True)

    async def versions(self, name: str) -> list[GuideVersion]:
        rows = await self.store.fetchall("SELECT * FROM guide_versions WHERE name = ? ORDER BY version DESC", name)
        return [_version(r) for r in rows]

    async def version(self, name: str, version: int) -> GuideVersion | None:
        row = await self.store.fetchone("SELECT * FROM guide_versions WHERE name = ? AND version = ?", name, version)
        return _version(row) if row else None

    async def seed(self, items: list[tuple[str, dict[str, Any]]], *, by: str, now: datetime) -> int:
        """Publish `items` as version 1 of each, into an empty table only (a new store), once even
        when several workers start together; the number seeded (0: the store had guides)."""
        async with self.store.transaction() as tx:
            await tx.lock("guides:seed")
            if await tx.fetchone("SELECT name FROM guides LIMIT 1") is not None:
                return 0
            for kind, content in items:
                await tx.execute("INSERT INTO guides(name, kind, updated_at, updated_by) VALUES (?, ?, ?, ?)",
                                 content["name"], kind, iso(now), by)
                await _publish(tx, content["name"], kind, content, None, by=by, now=now, action="seed", bump=False)
            if items:
                await _bump(tx)
        return len(items)

    async def put(self, items: list[tuple[str, dict[str, Any]]], *, by: str, now: datetime,
                  publish: bool) -> list[str]:
        """An import: each document becomes the draft of its name, or with `publish` its next
        version, in one transaction. A document equal to what is published (and, for a draft, to
        the draft) changes nothing. The names changed, in order."""
        changed: list[str] = []
        async with self.store.transaction() as tx:
            for kind, content in items:
                name = content["name"]
                await tx.lock(f"guide:{name}")
                row = await tx.fetchone("SELECT * FROM guides WHERE name = ?", name)
                if row is not None and _document(row["content"]) == content and (publish or row["draft"] is None):
                    continue
                if row is not None and not publish and _document(row["draft"]) == content:
                    continue
                if row is None:
                    await tx.execute("INSERT INTO guides(name, kind, updated_at, updated_by) VALUES (?, ?, ?, ?)",
                                     name, kind, iso(now), by)
                if publish:
                    await _publish(tx, name, kind, content, row["version"] if row else None, by=by, now=now,
                                   action="import", bump=False)
                else:
                    await tx.execute("UPDATE guides SET draft = ?, draft_base = version, draft_by = ?, draft_at = ? "
                                     "WHERE name = ?", _text(content), by, iso(now), name)
                changed.append(name)
            if publish and changed:
                await _bump(tx)
        return changed

    async def confirm(self, name: str, point: str, *, by: str, now: datetime, note: str = "") -> Confirmation:
        """`point` of the guide's local_check settled for the county (again: the newer answer counts)."""
        async with self.store.transaction() as tx:
            await tx.execute("DELETE FROM guide_checks WHERE name = ? AND point = ?", name, point)
            row = await tx.fetchone("INSERT INTO guide_checks(name, point, author, at, note) VALUES (?, ?, ?, ?, ?) "
                                    "RETURNING *", name, point, by, iso(now), note)
            await tx.execute("UPDATE guides SET reviewed_at = ?, reviewed_by = ? WHERE name = ?", iso(now), by, name)
        return Confirmation(name=row["name"], point=row["point"], by=row["author"], at=row["at"], note=row["note"])

    async def checks(self, name: str | None = None) -> list[Confirmation]:
        if name is None:
            rows = await self.store.fetchall("SELECT * FROM guide_checks ORDER BY name, at")
        else:
            rows = await self.store.fetchall("SELECT * FROM guide_checks WHERE name = ? ORDER BY at", name)
        return [Confirmation(name=r["name"], point=r["point"], by=r["author"], at=r["at"], note=r["note"]) for r in rows]

    async def mark_reviewed(self, name: str, *, by: str, now: datetime) -> bool:
        """The whole guide read through and found right for the county today."""
        return bool(await self.store.write("UPDATE guides SET reviewed_at = ?, reviewed_by = ? WHERE name = ?",
                                           iso(now), by, name))


async def _bump(tx: Tx) -> None:
    await tx.execute("UPDATE knowledge_revision SET n = n + 1 WHERE id = 1")


async def _publish(tx: Tx, name: str, kind: str, content: dict[str, Any], current: int | None, *, by: str,
                   now: datetime, action: str, from_version: int | None = None, keep_draft: bool = False,
                   bump: bool = True) -> GuideVersion:
    version = (current or 0) + 1
    text = _text(content)
    await tx.execute("INSERT INTO guide_versions(name, version, kind, content, at, author, action, from_version) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", name, version, kind, text, iso(now), by, action, from_version)
    draft = "" if keep_draft else ", draft = NULL, draft_base = NULL, draft_by = NULL, draft_at = NULL"
    await tx.execute(f"UPDATE guides SET version = ?, content = ?, updated_at = ?, updated_by = ?{draft} WHERE name = ?",
                     version, text, iso(now), by, name)
    if bump:
        await _bump(tx)
    return GuideVersion(name=name, kind=kind, version=version, content=content, at=iso(now), by=by, action=action,
                        from_version=from_version)
