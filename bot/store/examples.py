"""Example questions taught by staff (相似问 from the console or the API), kept in the store so
every worker — on this machine or another — answers with them within seconds, and the
knowledge-base revision that tells a worker its examples are stale (one read per poll)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.store.db import iso

if TYPE_CHECKING:
    from bot.store.store import Store

STATUSES = ("active", "proposed", "rejected", "removed")


@dataclass(frozen=True)
class TaughtExample:
    id: int
    question: str          # as the resident wrote it, numbers masked
    target_kind: str       # guide intent referral
    target_name: str
    status: str
    proposed_by: str
    created_at: str
    decided_by: str | None
    decided_at: str | None

    def as_json(self) -> dict:
        return {"id": self.id, "question": self.question, self.target_kind: self.target_name,
                "status": self.status, "by": self.proposed_by, "at": self.created_at,
                "decided_by": self.decided_by, "decided_at": self.decided_at}


def _example(row) -> TaughtExample:
    return TaughtExample(**{k: row[k] for k in TaughtExample.__dataclass_fields__})


class TaughtExamples:
    def __init__(self, store: "Store"):
        self.store = store

    async def add(self, *, question: str, kind: str, name: str, by: str, now: datetime,
                  proposed: bool = False) -> TaughtExample:
        """A new example, in use at once (or, `proposed`, waiting for an editor)."""
        status = "proposed" if proposed else "active"
        async with self.store.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO taught_examples(question, target_kind, target_name, status, proposed_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING *", question, kind, name, status, by, iso(now))
            if status == "active":
                await tx.execute("UPDATE knowledge_revision SET n = n + 1 WHERE id = 1")
        return _example(row)

    async def decide(self, example_id: int, *, to: str, by: str, now: datetime,
                     from_: tuple[str, ...]) -> TaughtExample | None:
        """Move an example from one of `from_` to `to` (accept a proposal, reject it, remove an
        example); None when it is not in one of those states (already decided, or no such id)."""
        async with self.store.transaction() as tx:
            row = await tx.fetchone(
                f"UPDATE taught_examples SET status=?, decided_by=?, decided_at=? "
                f"WHERE id=? AND status IN ({', '.join('?' * len(from_))}) RETURNING *",
                to, by, iso(now), example_id, *from_)
            if row is not None and (to == "active" or "active" in from_):   # what the bot answers with changed
                await tx.execute("UPDATE knowledge_revision SET n = n + 1 WHERE id = 1")
        return _example(row) if row else None

    async def get(self, example_id: int) -> TaughtExample | None:
        row = await self.store.fetchone("SELECT * FROM taught_examples WHERE id=?", example_id)
        return _example(row) if row else None

    async def list(self, statuses: tuple[str, ...] = ("active", "proposed"), limit: int = 1000) -> list[TaughtExample]:
        rows = await self.store.fetchall(
            f"SELECT * FROM taught_examples WHERE status IN ({', '.join('?' * len(statuses))}) "
            f"ORDER BY id DESC LIMIT ?", *statuses, limit)
        return [_example(r) for r in rows]

    async def asked_again(self) -> dict[int, int]:
        """For each example in use, how often residents have since asked its very words and been
        answered (or referred): one query for the whole list."""
        rows = await self.store.fetchall(
            "SELECT t.id, COUNT(i.id) AS n FROM taught_examples t JOIN inquiries i ON i.question = t.question "
            "AND i.at >= t.created_at AND i.decision IN ('answer', 'refer') WHERE t.status = 'active' GROUP BY t.id")
        return {int(r["id"]): int(r["n"]) for r in rows}

    async def revision(self) -> int:
        row = await self.store.fetchone("SELECT n FROM knowledge_revision WHERE id = 1")
        return int(row["n"]) if row else 0
