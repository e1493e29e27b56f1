"""Appointments and center closures in SQLite.

Taking a place is one INSERT guarded by a unique index on (center, start, window) over the
bookings that still hold their place: of many residents confirming the last place at once,
exactly one insert succeeds. The resident's limits are checked in the same transaction, and so is
a closure of that day: taking a place and closing the day hold the same lock (center and day), so
either the booking comes first and the closure releases it, or the closure comes first and the
booking is refused.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable

from bot.errors import StoreError
from bot.store.db import iso, marks, queue_notice

if TYPE_CHECKING:
    from bot.store.store import Store

HOLDING = ("booked", "checked_in")   # statuses that hold a place


class SlotTaken(StoreError):
    """Every window of that time was taken meanwhile."""


class DayClosed(SlotTaken):
    """The center was closed for that day meanwhile (临时闭厅)."""


class BookingLimit(StoreError):
    def __init__(self, reason: str, existing: "Booking | None" = None):
        self.reason, self.existing = reason, existing
        super().__init__(reason)


@dataclass(frozen=True)
class Booking:
    id: int
    code: str
    openid: str
    guide: str
    center: str
    window: int
    day: date
    start: datetime
    status: str
    remind_at: datetime | None
    reminded_at: str | None
    note: str
    created_at: str


def _booking(row: Any) -> Booking:
    return Booking(id=row["id"], code=row["code"], openid=row["openid"], guide=row["guide"], center=row["center"],
                   window=row["window_no"], day=date.fromisoformat(row["day"]),
                   start=datetime.fromisoformat(row["start"]), status=row["status"],
                   remind_at=datetime.fromisoformat(row["remind_at"]) if row["remind_at"] else None,
                   reminded_at=row["reminded_at"], note=row["note"], created_at=row["created_at"])


def new_code() -> str:
    """Six digits: easy to read out at a window and to type on an old phone."""
    return f"{random.SystemRandom().randrange(10**6):06d}"


class Bookings:
    def __init__(self, store: "Store"):
        self.store = store

    async def book(self, *, openid: str, guide: str, center: str, start: datetime, windows: tuple[int, ...],
                   now: datetime, remind_at: datetime | None, max_active: int,
                   replaces: str | None = None) -> Booking:
        """Take a place at the first free window of `windows`, or raise SlotTaken; raise
        BookingLimit when the resident already has this service booked or too many bookings.
        With `replaces`, that booking of the resident is cancelled in the same step (改约). Raise
        DayClosed when the center is closed that day."""
        day = start.date().isoformat()
        async with self.store.transaction() as db:
            await db.lock(f"resident:{openid}")   # one resident's limits are checked and kept in turn
            await db.lock(f"closure:{center}:{day}")
            if await db.fetchone("SELECT 1 FROM center_closures WHERE center=? AND day=?", center, day):
                raise DayClosed(f"{center} is closed on {day}")
            rows = await db.fetchall(
                "SELECT * FROM bookings WHERE openid=? AND status='booked' AND start > ? ORDER BY start",
                openid, iso(now))
            active = [_booking(r) for r in rows if r["code"] != replaces]
            same = next((b for b in active if b.guide == guide), None)
            if same is not None:
                raise BookingLimit("same_service", same)
            if len(active) >= max_active:
                raise BookingLimit("too_many")
            code = new_code()
            while await db.fetchone("SELECT 1 FROM bookings WHERE code=?", code):
                code = new_code()
            for window in windows:
                changed = await db.execute(
                    "INSERT INTO bookings(code, openid, guide, center, window_no, day, start, remind_at, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    code, openid, guide, center, window, day, iso(start),
                    iso(remind_at) if remind_at else None, iso(now), iso(now))
                if changed == 1:
                    break
            else:
                raise SlotTaken(f"{center} {iso(start)} is full")
            if replaces:
                await db.execute(
                    "UPDATE bookings SET status='cancelled', note='改约', updated_at=? "
                    "WHERE code=? AND openid=? AND status='booked'", iso(now), replaces, openid)
            row = await db.fetchone("SELECT * FROM bookings WHERE code=?", code)
        return _booking(row)

    async def get(self, code: str) -> Booking | None:
        row = await self.store.fetchone("SELECT * FROM bookings WHERE code=?", code)
        return _booking(row) if row else None

    async def taken(self, center: str, first: date, last: date | None = None) -> dict[datetime, set[int]]:
        """Windows already holding a booking, by start time, from `first` to `last` (one day if
        `last` is not given) at one center."""
        rows = await self.store.fetchall(
            "SELECT start, window_no FROM bookings WHERE center=? AND day BETWEEN ? AND ? "
            "AND status IN ('booked', 'checked_in')", center, first.isoformat(), (last or first).isoformat())
        out: dict[datetime, set[int]] = {}
        for r in rows:
            out.setdefault(datetime.fromisoformat(r["start"]), set()).add(r["window_no"])
        return out

    async def upcoming(self, openid: str, now: datetime) -> list[Booking]:
        rows = await self.store.fetchall(
            "SELECT * FROM bookings WHERE openid=? AND status='booked' AND start > ? ORDER BY start", openid, iso(now))
        return [_booking(r) for r in rows]

    async def for_day(self, centers: list[str] | None, day: date) -> list[Booking]:
        where, args = "day=?", [day.isoformat()]
        if centers is not None:
            where += f" AND center IN ({marks(centers)})"
            args += centers
        rows = await self.store.fetchall(f"SELECT * FROM bookings WHERE {where} ORDER BY start, window_no", *args)
        return [_booking(r) for r in rows]

    async def cancel(self, code: str, openid: str, now: datetime, note: str = "") -> bool:
        """The resident cancels: the place is free at once. False if it was not theirs or not booked."""
        changed = await self.store.write(
            "UPDATE bookings SET status='cancelled', note=?, updated_at=? WHERE code=? AND openid=? AND status='booked'",
            note, iso(now), code, openid)
        return changed == 1

    async def mark(self, code: str, to: str, now: datetime) -> Booking | None:
        """Check-in or no-show, from `booked` only: a second click changes nothing."""
        changed = await self.store.write(
            "UPDATE bookings SET status=?, updated_at=? WHERE code=? AND status='booked'", to, iso(now), code)
        return await self.get(code) if changed == 1 else None

    async def no_shows(self, openid: str, since: date) -> list[date]:
        rows = await self.store.fetchall(
            "SELECT day FROM bookings WHERE openid=? AND status='no_show' AND day >= ? ORDER BY day DESC",
            openid, since.isoformat())
        return [date.fromisoformat(r["day"]) for r in rows]

    async def close_day(self, *, center: str, day: date, reason: str, by: str, now: datetime,
                        notice: Callable[[Booking], str]) -> list[Booking] | None:
        """Close a center for a day: its bookings are released and each resident is told, all in
        one step. None if the day was already closed."""
        async with self.store.transaction() as db:
            await db.lock(f"closure:{center}:{day.isoformat()}")   # bookings of that day wait, or are seen
            changed = await db.execute(
                "INSERT INTO center_closures(center, day, reason, closed_by, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING", center, day.isoformat(), reason, by, iso(now))
            if changed != 1:
                return None
            rows = await db.fetchall(
                "SELECT * FROM bookings WHERE center=? AND day=? AND status='booked'",
                center, day.isoformat())
            released = [_booking(r) for r in rows]
            for b in released:
                await db.execute("UPDATE bookings SET status='closed', note=?, updated_at=? WHERE id=?",
                                 reason, iso(now), b.id)
                await queue_notice(db, b.openid, notice(b), now)
        return released

    async def closure(self, center: str, day: date) -> dict[str, Any] | None:
        row = await self.store.fetchone("SELECT * FROM center_closures WHERE center=? AND day=?", center, day.isoformat())
        return dict(row) if row else None

    async def closed_days(self, center: str, start: date, end: date) -> frozenset[date]:
        rows = await self.store.fetchall(
            "SELECT day FROM center_closures WHERE center=? AND day BETWEEN ? AND ?",
            center, start.isoformat(), end.isoformat())
        return frozenset(date.fromisoformat(r["day"]) for r in rows)

    async def due_reminders(self, now: datetime, limit: int = 200) -> list[Booking]:
        rows = await self.store.fetchall(
            "SELECT * FROM bookings WHERE status='booked' AND reminded_at IS NULL AND remind_at IS NOT NULL "
            "AND remind_at <= ? AND start > ? ORDER BY remind_at LIMIT ?", iso(now), iso(now), limit)
        return [_booking(r) for r in rows]

    async def remind(self, booking: Booking, text: str, now: datetime) -> bool:
        """Queue the reminder once: marked and queued together, so two runs cannot both send it."""
        async with self.store.transaction() as db:
            changed = await db.execute(
                "UPDATE bookings SET reminded_at=? WHERE id=? AND reminded_at IS NULL AND status='booked'",
                iso(now), booking.id)
            if changed != 1:
                return False
            await queue_notice(db, booking.openid, text, now)
        return True
