"""A resident's data as a whole (个人信息保护): everything kept about them, on request, and its
erasure; and the retention purge of what is older than its period."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import TZ
from bot.store.base import kept_key
from bot.store.db import Tx, iso, marks
from bot.vault import SealBroken

if TYPE_CHECKING:
    from bot.store.store import Store

FINISHED = "('completed', 'delivered', 'rejected', 'cancelled')"
ERASED = "erased"   # the resident an erased case or rating belonged to


class ResidentData:
    def __init__(self, store: "Store"):
        self.store = store

    async def export(self, openid: str) -> dict[str, Any]:
        """Everything kept about one resident, personal data opened, for handing to them."""
        store = self.store

        async def rows(sql: str) -> list[dict[str, Any]]:
            return [dict(r) for r in await store.fetchall(sql, openid)]

        unreadable: list[str] = []
        cases = []
        for r in await rows("SELECT number FROM cases WHERE openid=? ORDER BY id"):
            broken: list[str] = []
            cases.append(await store.cases.get(r["number"], unreadable=broken))
            unreadable += [f"case {r['number']}: {name}" for name in broken]
        try:
            dialog = await store.dialogs.get(openid, datetime.now(tz=TZ), timedelta(days=365))
        except SealBroken:
            dialog, unreadable = None, unreadable + ["dialog in progress"]
        questions = [self._opened(q, unreadable) for q in await rows(
            "SELECT question, contact, center, intent, guide, decision, at FROM inquiries WHERE openid=? ORDER BY id")]
        return {
            "openid": openid,
            "resident": (await rows("SELECT * FROM residents WHERE openid=?") or [None])[0],
            "dialog_in_progress": bool(dialog),
            "questions": questions,
            "cases": [asdict(c) for c in cases if c is not None],
            "ratings": await rows("SELECT case_id, score, words, at FROM ratings WHERE openid=? ORDER BY id"),
            "bookings": await rows("SELECT code, guide, center, window_no, start, status, note FROM bookings "
                                   "WHERE openid=? ORDER BY id"),
            "conversations_with_a_person": await rows(
                "SELECT h.id, h.center, h.status, h.created_at, h.closed_at, h.rating, h.rating_words, "
                "m.sender, m.kind, m.text, m.at FROM handoffs h JOIN handoff_messages m ON m.handoff_id = h.id "
                "WHERE h.openid=? ORDER BY h.id, m.id"),
            "notices": await rows("SELECT text, created_at, sent_at, dead_at FROM outbox WHERE openid=? ORDER BY id"),
            "unreadable": unreadable,   # values no key in FRONTDESK_DATA_KEYS opens (left empty above)
        }

    def _opened(self, question: dict[str, Any], unreadable: list[str]) -> dict[str, Any]:
        """A logged question with the numbers typed into it, opened for the resident."""
        if question["contact"] and self.store.vault is not None:
            try:
                question["contact"] = self.store.vault.open(question["contact"])
            except SealBroken:
                question["contact"] = None
                unreadable.append(f"question of {question['at']}: contact")
        return question

    async def erase(self, openid: str) -> dict[str, int]:
        """Erase a resident: what is only theirs is deleted; their cases and ratings stay, for the
        county's statistics, without anything that identifies them (data, words, notes)."""
        async with self.store.transaction() as db:
            done = {table: await db.execute(f"DELETE FROM {table} WHERE openid=?", openid) for table in (
                "dialogs", "inquiries", "processed_messages", "outbox", "bookings", "residents")}
            done["handoffs"] = await _delete_handoffs(db, "openid=?", openid)
            ids = [r["id"] for r in await db.fetchall("SELECT id FROM cases WHERE openid=?", openid)]
            if ids:
                await db.execute(f"UPDATE case_history SET note='' WHERE case_id IN ({marks(ids)})", *ids)
                await db.execute(f"UPDATE cases SET openid=?, data=? WHERE id IN ({marks(ids)})", ERASED,
                                 json.dumps({"erased": True}), *ids)
            done["cases"] = len(ids)
            done["ratings"] = await db.execute("UPDATE ratings SET openid=?, words='' WHERE openid=?", ERASED, openid)
            await self.store.dialogs.deleted_in(db)   # a server keeping dialogs in memory forgets them
        await self.store.dialogs.clear(openid)   # kept in Redis, when there is one
        await self.store.dialogs.clear(kept_key(openid))   # a step left to be taken up again
        return done

    async def purge(self, *, questions_before: datetime, cases_before: datetime, bookings_before: datetime,
                    notices_before: datetime) -> dict[str, int]:
        """Delete what has outlived its retention period; the counts, by kind."""
        async with self.store.transaction() as db:
            done = {
                "questions": await db.execute("DELETE FROM inquiries WHERE at < ?", iso(questions_before)),
                "conversations_with_a_person": await _delete_handoffs(
                    db, "status = 'closed' AND created_at < ?", iso(questions_before)),
                "bookings": await db.execute("DELETE FROM bookings WHERE start < ?", iso(bookings_before)),
                "notices": await db.execute(
                    "DELETE FROM outbox WHERE (sent_at IS NOT NULL AND sent_at < ?) OR (dead_at IS NOT NULL "
                    "AND dead_at < ?)", iso(notices_before), iso(notices_before)),
                "cases": await _purge_cases(db, cases_before),
            }
        return done


async def _delete_handoffs(db: Tx, where: str, *args: Any) -> int:
    """Delete the conversations with a person `where` says, with what was said in them."""
    await db.execute(f"DELETE FROM handoff_messages WHERE handoff_id IN (SELECT id FROM handoffs WHERE {where})", *args)
    return await db.execute(f"DELETE FROM handoffs WHERE {where}", *args)


async def _purge_cases(db: Tx, before: datetime) -> int:
    ids = [r["id"] for r in await db.fetchall(
        f"SELECT id FROM cases WHERE state IN {FINISHED} AND updated_at < ?", iso(before))]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for table in ("case_history", "ratings", "case_lines"):
            await db.execute(f"DELETE FROM {table} WHERE case_id IN ({marks(chunk)})", *chunk)
        await db.execute(f"DELETE FROM cases WHERE id IN ({marks(chunk)})", *chunk)
    return len(ids)
