"""Conversations with a person (转人工): a resident and a clerk write to each other until one of
them, or the timeout, closes it.

    waiting ──a clerk writes or takes it──▶ open ──closed by either side, or idle──▶ closed
       ▲                                     │
       └──────────transferred to another center

A resident has at most one conversation that is not closed (a unique index), whichever worker
opens it; two clerks taking the same waiting conversation race on one conditional UPDATE, and
the one who lost is told. A clerk's message is written to the outbox in the same transaction,
so it reaches the resident through the pusher (customer-service message, quota counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.personal import mask_in_text
from bot.store.db import iso, marks, queue_notice

if TYPE_CHECKING:
    from bot.store.store import Store

ACTIVE = ("waiting", "open")
STATUSES = ("waiting", "open", "closed")
SENDERS = ("resident", "staff", "bot")


class Taken(Exception):
    """Another clerk has the conversation (or it is closed): nothing was written."""

    def __init__(self, handoff: dict[str, Any]):
        super().__init__(handoff["id"])
        self.handoff = handoff


@dataclass(frozen=True)
class Said:
    """A line for the conversation: who, what, and for media its kind and MediaId."""

    sender: str
    text: str
    at: datetime
    kind: str = "text"
    media_id: str | None = None
    staff: str | None = None


class Handoffs:
    def __init__(self, store: "Store"):
        self.store = store

    # -- the resident's side -------------------------------------------------------------------

    async def open(self, openid: str, question: str, now: datetime, center: str | None,
                   before: list[Said] = ()) -> tuple[dict[str, Any], bool]:
        """Open a conversation at `center`, starting with what was said `before` (the resident's
        recent questions and the bot's answers) and the request itself; one already open is
        given back as it is. The texts are kept with their numbers masked."""
        question = mask_in_text(question)
        async with self.store.transaction() as db:
            await db.lock(f"resident:{openid}")
            row = await db.fetchone(f"SELECT * FROM handoffs WHERE openid=? AND status IN {_in(ACTIVE)}", openid)
            if row:
                return dict(row), False
            added = await db.fetchone(
                "INSERT INTO handoffs(openid, center, question, created_at, last_at) VALUES (?, ?, ?, ?, ?) "
                "RETURNING *", openid, center, question, iso(now), iso(now))
            for said in [*before, Said("resident", question, now)]:
                await _add(db, added["id"], said)
            return dict(added), True

    async def current(self, openid: str) -> dict[str, Any] | None:
        """The resident's conversation that is not closed, or the closed one whose rating was just
        asked for (its answer is the resident's next message); None otherwise."""
        row = await self.store.fetchone(f"SELECT * FROM handoffs WHERE {CURRENT} ORDER BY id DESC LIMIT 1", openid)
        return dict(row) if row else None

    async def in_progress(self, openid: str) -> bool:
        """Has the resident a conversation `current` would find?"""
        return await self.store.fetchone(f"SELECT 1 AS found FROM handoffs WHERE {CURRENT} LIMIT 1", openid) is not None

    async def hear(self, handoff_id: int, said: Said) -> bool:
        """Store the resident's message in their conversation; True when the bot should say
        请稍候 — no clerk has written yet and it has not said so before (once per conversation).
        Notices held back for the resident's quota are due again: their message renewed it."""
        async with self.store.transaction() as db:
            await _add(db, handoff_id, said)
            await db.execute("UPDATE handoffs SET last_at=? WHERE id=?", iso(said.at), handoff_id)
            told = await db.execute("UPDATE handoffs SET told_wait=1 WHERE id=? AND told_wait=0 "
                                    "AND first_reply_at IS NULL AND status IN ('waiting', 'open')", handoff_id)
            row = await db.fetchone("SELECT openid FROM handoffs WHERE id=?", handoff_id)
            await db.execute("UPDATE outbox SET next_at=? WHERE openid=? AND sent_at IS NULL AND dead_at IS NULL "
                             "AND next_at > ?", iso(said.at), row["openid"], iso(said.at))
            return told == 1

    async def rating_done(self, handoff_id: int) -> None:
        """The resident's message after the rating question was not a rating: not asked any more."""
        await self.store.write("UPDATE handoffs SET rating_asked=0 WHERE id=?", handoff_id)

    async def rate(self, handoff_id: int, score: int, words: str, now: datetime) -> bool:
        """Record the resident's rating of a closed conversation, once."""
        changed = await self.store.write(
            "UPDATE handoffs SET rating=?, rating_words=?, rated_at=?, rating_asked=0 "
            "WHERE id=? AND status='closed' AND rating IS NULL", score, words[:200], iso(now), handoff_id)
        return changed == 1

    # -- the clerk's side ----------------------------------------------------------------------

    async def take(self, handoff_id: int, by: str, now: datetime) -> dict[str, Any]:
        """The clerk takes the conversation: a waiting one becomes theirs; one already theirs stays
        so. Raise Taken when another clerk has it or it is closed."""
        async with self.store.transaction() as db:
            return await _take(db, handoff_id, by, now)

    async def write(self, handoff_id: int, by: str, text: str, notice: str, now: datetime,
                    topic: dict[str, str] | None = None) -> dict[str, Any]:
        """The clerk writes `text` (taking a waiting conversation); `notice` — the text as the
        resident reads it — goes to the outbox in the same transaction, with what a template
        message says of it (`topic`). Raise Taken as `take`."""
        async with self.store.transaction() as db:
            handoff = await _take(db, handoff_id, by, now)
            await _add(db, handoff_id, Said("staff", text, now, staff=by))
            await db.execute("UPDATE handoffs SET last_at=?, first_reply_at=COALESCE(first_reply_at, ?) WHERE id=?",
                             iso(now), iso(now), handoff_id)
            await queue_notice(db, handoff["openid"], notice, now, topic)
            return handoff

    async def close(self, handoff_id: int, *, by: str, reason: str, now: datetime, note: str = "",
                    notices: list[str] = (), ask_rating: bool = True) -> dict[str, Any] | None:
        """Close the conversation (by a clerk, the resident, or the idle timeout): `note` is kept
        in it for the clerk, `notices` go to the resident. None if it was closed already."""
        async with self.store.transaction() as db:
            row = await db.fetchone(
                f"UPDATE handoffs SET status='closed', closed_at=?, closed_by=?, close_reason=?, rating_asked=? "
                f"WHERE id=? AND status IN {_in(ACTIVE)} RETURNING *",
                iso(now), by, reason, 1 if ask_rating else 0, handoff_id)
            if row is None:
                return None
            if note:
                await _add(db, handoff_id, Said("bot", note, now))
            for text in notices:
                await queue_notice(db, row["openid"], text, now)
            return dict(row)

    async def transfer(self, handoff_id: int, center: str, note: str, now: datetime) -> dict[str, Any] | None:
        """Hand the conversation to `center`'s staff: waiting again there, the note kept in it."""
        async with self.store.transaction() as db:
            row = await db.fetchone(
                f"UPDATE handoffs SET center=?, status='waiting', taken_by=NULL, taken_at=NULL, last_at=? "
                f"WHERE id=? AND status IN {_in(ACTIVE)} RETURNING *", center, iso(now), handoff_id)
            if row is None:
                return None
            await _add(db, handoff_id, Said("bot", note, now))
            return dict(row)

    async def note(self, handoff_id: int, said: Said, notice: str | None = None) -> None:
        """A line of the bot's in the conversation (a case made from it, a wait that ran long),
        and what the resident is told of it."""
        async with self.store.transaction() as db:
            await _add(db, handoff_id, said)
            if notice:
                row = await db.fetchone("SELECT openid FROM handoffs WHERE id=?", handoff_id)
                await queue_notice(db, row["openid"], notice, said.at)

    # -- reading -------------------------------------------------------------------------------

    async def get(self, handoff_id: int) -> dict[str, Any] | None:
        row = await self.store.fetchone("SELECT * FROM handoffs WHERE id=?", handoff_id)
        return dict(row) if row else None

    async def messages(self, handoff_id: int, after: int = 0) -> list[dict[str, Any]]:
        """The conversation's lines in order (those after the line `after`)."""
        rows = await self.store.fetchall(
            "SELECT id, sender, staff, kind, text, media_id, at FROM handoff_messages WHERE handoff_id=? AND id > ? "
            "ORDER BY id", handoff_id, after)
        return [dict(r) for r in rows]

    async def listed(self, status: str | None, centers: list[str] | None = None,
                     limit: int = 100) -> list[dict[str, Any]]:
        """Conversations in `status` (None: those not closed) at `centers` (None: all): waiting and
        open ones the longest waiting first, closed ones the latest first."""
        where, args = [f"status IN {_in(ACTIVE)}" if status is None else "status=?"], [] if status is None else [status]
        if centers is not None:
            where.append(f"center IN ({marks(centers)})")
            args += centers
        order = "closed_at DESC, id DESC" if status == "closed" else "id"
        rows = await self.store.fetchall(
            f"SELECT * FROM handoffs WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?", *args, limit)
        return [dict(r) for r in rows]

    async def waiting(self, centers: list[str] | None = None) -> list[dict[str, Any]]:
        return await self.listed("waiting", centers)

    async def counts(self, centers: list[str] | None = None) -> dict[str, int]:
        """How many conversations wait and how many are open, at `centers`."""
        where, args = "", []
        if centers is not None:
            where, args = f" AND center IN ({marks(centers)})", list(centers)
        rows = await self.store.fetchall(
            f"SELECT status, count(*) AS n FROM handoffs WHERE status IN {_in(ACTIVE)}{where} GROUP BY status", *args)
        found = {r["status"]: int(r["n"]) for r in rows}
        return {status: found.get(status, 0) for status in ACTIVE}

    async def place(self, handoff: dict[str, Any]) -> int:
        """The conversation's place in its center's queue (1: next)."""
        if handoff["center"] is None:
            where, args = "center IS NULL", []
        else:
            where, args = "center = ?", [handoff["center"]]
        row = await self.store.fetchone(
            f"SELECT count(*) AS n FROM handoffs WHERE status='waiting' AND id <= ? AND {where}", handoff["id"], *args)
        return int(row["n"]) if row else 1

    async def of_resident(self, openid: str, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self.store.fetchall("SELECT * FROM handoffs WHERE openid=? ORDER BY id DESC LIMIT ?",
                                         openid, limit)
        return [dict(r) for r in rows]

    async def waiting_since(self, before: datetime) -> list[dict[str, Any]]:
        """Waiting conversations opened before then whose long wait the resident was not told of."""
        rows = await self.store.fetchall(
            "SELECT * FROM handoffs WHERE status='waiting' AND wait_over_at IS NULL AND created_at < ? ORDER BY id",
            iso(before))
        return [dict(r) for r in rows]

    async def wait_over(self, handoff_id: int, now: datetime) -> bool:
        """Mark the wait as run long (once): False when a clerk took it or it was marked meanwhile."""
        changed = await self.store.write(
            "UPDATE handoffs SET wait_over_at=? WHERE id=? AND status='waiting' AND wait_over_at IS NULL",
            iso(now), handoff_id)
        return changed == 1

    async def idle_since(self, before: datetime) -> list[dict[str, Any]]:
        """Open conversations in which nobody wrote since then."""
        rows = await self.store.fetchall("SELECT * FROM handoffs WHERE status='open' AND last_at < ? ORDER BY id",
                                         iso(before))
        return [dict(r) for r in rows]

    async def in_period(self, first: str, until: str, centers: list[str] | None) -> list[dict[str, Any]]:
        """Conversations opened from `first` to before `until` (ISO days), for the reports."""
        where, args = "", []
        if centers is not None:
            where, args = f" AND center IN ({marks(centers)})", list(centers)
        rows = await self.store.fetchall(
            "SELECT id, center, created_at, first_reply_at, wait_over_at, rating FROM handoffs "
            f"WHERE created_at >= ? AND created_at < ?{where} ORDER BY id", first, until, *args)
        return [dict(r) for r in rows]


class CannedReplies:
    """常用语: what a center's clerks often write, one click away."""

    def __init__(self, store: "Store"):
        self.store = store

    async def of(self, centers: list[str] | None) -> list[dict[str, Any]]:
        if centers is None:
            rows = await self.store.fetchall("SELECT * FROM canned_replies ORDER BY center, id")
        else:
            rows = await self.store.fetchall(
                f"SELECT * FROM canned_replies WHERE center IN ({marks(centers)}) ORDER BY center, id", *centers)
        return [dict(r) for r in rows]

    async def get(self, reply_id: int) -> dict[str, Any] | None:
        row = await self.store.fetchone("SELECT * FROM canned_replies WHERE id=?", reply_id)
        return dict(row) if row else None

    async def add(self, center: str, text: str, by: str, now: datetime) -> int:
        row = await self.store.fetchone(
            "INSERT INTO canned_replies(center, text, created_by, created_at) VALUES (?, ?, ?, ?) RETURNING id",
            center, text, by, iso(now))
        return row["id"]

    async def remove(self, reply_id: int) -> bool:
        return await self.store.write("DELETE FROM canned_replies WHERE id=?", reply_id) == 1


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# a resident's (`?`) conversation that takes their next message: `Handoffs.current`
CURRENT = f"openid=? AND (status IN {_in(ACTIVE)} OR rating_asked=1)"


async def _add(db: Any, handoff_id: int, said: Said) -> None:
    text = mask_in_text(said.text) if said.sender == "resident" else said.text
    await db.execute(
        "INSERT INTO handoff_messages(handoff_id, sender, staff, kind, text, media_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        handoff_id, said.sender, said.staff, said.kind, text, said.media_id, iso(said.at))


async def _take(db: Any, handoff_id: int, by: str, now: datetime) -> dict[str, Any]:
    row = await db.fetchone("UPDATE handoffs SET status='open', taken_by=?, taken_at=?, last_at=? "
                            "WHERE id=? AND status='waiting' RETURNING *", by, iso(now), iso(now), handoff_id)
    if row is not None:
        return dict(row)
    row = await db.fetchone("SELECT * FROM handoffs WHERE id=?", handoff_id)
    if row is None:
        raise LookupError(handoff_id)
    if row["status"] != "open" or row["taken_by"] != by:
        raise Taken(dict(row))
    return dict(row)
