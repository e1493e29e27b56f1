"""Appointments (预约): which center a service is booked at, the free days and times, taking a
place, the resident's limits, no-show pauses, reminders and closing a center for a day.

Handlers and the staff API call this; the store takes the place atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.errors import FrontdeskError
from bot.hours import Schedule, hours_lines, when_label
from bot.knowledge.model import LEVELS, Center, Guide
from bot.store.bookings import Booking, BookingLimit, SlotTaken
from bot.texts import Texts


VILLAGE, TOWN, COUNTY = LEVELS[0], LEVELS[1], LEVELS[2]


@dataclass(frozen=True)
class Where:
    """The centers a service can be booked at for one resident, and why these."""

    centers: tuple[Center, ...]
    why: str   # not_bookable, nowhere, decided_here, town_decides, accept_here, elsewhere, unbound


@dataclass(frozen=True)
class FreeTime:
    start: datetime
    windows: tuple[int, ...]   # free windows, preferred first


class Paused(Exception):
    def __init__(self, until: date, count: int):
        self.until, self.count = until, count


class NotNow(FrontdeskError):
    """A clerk's step on an appointment or a day that the time does not allow: `code` is
    too_early (no-show before the time), not_today (check-in on another day), appointment_closed
    (marked already), past_day (closing a day gone by) or already_closed."""

    def __init__(self, code: str, current: str = ""):
        self.code, self.current = code, current
        super().__init__(code)


class Appointments:
    def __init__(self, *, store: Any, library: Any, clock: Any, schedule: Schedule, texts: Texts, settings: Any):
        self.store = store
        self.library = library
        self.clock = clock
        self.schedule = schedule
        self.texts = texts
        self.settings = settings

    @property
    def centers(self):
        return self.library.knowledge.centers

    # -- where -----------------------------------------------------------------------------

    def where(self, guide: Guide, home: str | None) -> Where:
        """A service decided at the town is booked there even for a resident whose village only
        accepts it; one the village decides stays in the village; otherwise the nearest level
        that accepts it comes first."""
        if not guide.bookable:
            return Where((), "not_bookable")
        chain = self.centers.chain(home)
        if not chain or not chain[0].is_village:
            towns = [c for c in self.centers.by_id.values() if c.level == TOWN and c.can_book(guide)]
            county = [c for c in self.centers.by_id.values() if c.level == COUNTY and c.can_book(guide)]
            found = tuple(towns or county)
            return Where(found, "unbound" if found else "nowhere")
        bookable = [c for c in chain if c.can_book(guide)]
        if not bookable:
            return Where((), "nowhere")
        deciding = next((c for c in bookable if guide.name in c.decides), None)
        if deciding is not None and deciding.level in (VILLAGE, TOWN):
            return Where((deciding,), "decided_here" if deciding is chain[0] else "town_decides")
        if bookable[0] is chain[0]:
            return Where(tuple(c for c in bookable if c.level != COUNTY) or (bookable[0],), "accept_here")
        return Where((bookable[0],), "elsewhere")

    # -- when ------------------------------------------------------------------------------

    def horizon(self, today: date) -> date:
        return self.schedule.calendar.add_workdays(today, self.settings.horizon_workdays)

    async def free_days(self, center: Center, guide: Guide) -> list[tuple[date, int]]:
        """Days within the horizon with at least one free place, and how many: two queries for
        the whole horizon, whatever its length."""
        now = self.clock.now()
        today, last = now.date(), self.horizon(now.date())
        closed = await self.store.bookings.closed_days(center.id, today, last)
        taken = await self.store.bookings.taken(center.id, today, last)
        out = []
        for offset in range((last - today).days + 1):
            day = today + timedelta(days=offset)
            if free := self._free(center, guide, day, now, closed, taken):
                out.append((day, sum(len(f.windows) for f in free)))
        return out

    async def free_times(self, center: Center, guide: Guide, day: date) -> list[FreeTime]:
        now = self.clock.now()
        if not now.date() <= day <= self.horizon(now.date()):
            return []
        closed = await self.store.bookings.closed_days(center.id, day, day)
        return self._free(center, guide, day, now, closed, await self.store.bookings.taken(center.id, day))

    def _free(self, center: Center, guide: Guide, day: date, now: datetime, closed: frozenset[date],
              taken: dict[datetime, set[int]]) -> list[FreeTime]:
        earliest = now + timedelta(minutes=self.settings.min_lead_minutes)
        wanted = center.windows_for(guide)
        out = []
        for start, staffed in self.schedule.slots(center, wanted, day, self.settings.slot_minutes, closed):
            if start < earliest:
                continue
            free = tuple(w for w in wanted if w in staffed and w not in taken.get(start, set()))
            if free:
                out.append(FreeTime(start, free))
        return out

    async def opening(self, center: Center) -> dict[str, Any]:
        """Open now? Until when, or when next? With the published hours, for a reply."""
        now = self.clock.now()
        closed = await self.store.bookings.closed_days(center.id, now.date(), now.date() + timedelta(days=31))
        next_open = self.schedule.next_open(center, now, closed)
        open_now = next_open == now   # next_open is now itself while the center is open
        return {"open_now": open_now, "closes_at": self.schedule.closes_at(center, now) if open_now else None,
                "next_open": when_label(next_open, now) if next_open and not open_now else "",
                "closed_today": now.date() in closed, "hours": hours_lines(center)}

    # -- the resident's limits -------------------------------------------------------------

    async def paused_until(self, openid: str) -> tuple[date, int] | None:
        """(the day booking opens again, no-shows counted) while a no-show pause runs."""
        limit = self.settings.no_show_limit
        if not limit:
            return None
        today = self.clock.now().date()
        days = await self.store.bookings.no_shows(openid, today - timedelta(days=self.settings.no_show_lookback_days))
        if len(days) < limit:
            return None
        until = days[0] + timedelta(days=self.settings.no_show_pause_days)
        return (until, len(days)) if until > today else None

    # -- taking and giving back a place ----------------------------------------------------

    def remind_at(self, start: datetime, now: datetime) -> datetime | None:
        hh, mm = (int(x) for x in self.settings.remind_at.split(":"))
        moment = datetime.combine(start.date() - timedelta(days=self.settings.remind_days_before),
                                  time(hh, mm), tzinfo=start.tzinfo)
        if moment >= start:
            moment = start - timedelta(hours=2)
        return moment if moment > now else None

    async def book(self, *, openid: str, guide: Guide, center: Center, start: datetime,
                   replaces: str | None = None) -> Booking:
        """Take the place; raise Paused, BookingLimit or SlotTaken (offer other times)."""
        if (paused := await self.paused_until(openid)) is not None:
            raise Paused(*paused)
        free = {f.start: f for f in await self.free_times(center, guide, start.date())}
        if start not in free:
            raise SlotTaken(f"{center.id} {start} is no longer bookable")
        now = self.clock.now()
        return await self.store.bookings.book(
            openid=openid, guide=guide.name, center=center.id, start=start, windows=free[start].windows,
            now=now, remind_at=self.remind_at(start, now), max_active=self.settings.max_active, replaces=replaces)

    async def cancel(self, booking: Booking) -> bool:
        return await self.store.bookings.cancel(booking.code, booking.openid, self.clock.now(), "本人取消")

    async def mark(self, booking: Booking, action: str) -> Booking:
        """checkin (on the day) or noshow (once the time has come), from `booked` only: a second
        click raises NotNow("appointment_closed") and changes nothing."""
        now = self.clock.now()
        if action == "noshow" and now < booking.start:
            raise NotNow("too_early")
        if action == "checkin" and booking.day != now.date():
            raise NotNow("not_today")
        marked = await self.store.bookings.mark(booking.code, "checked_in" if action == "checkin" else "no_show", now)
        if marked is None:
            raise NotNow("appointment_closed", current=booking.status)
        return marked

    async def close_day(self, center: Center, day: date, reason: str, by: str) -> list[Booking]:
        """Close `center` on `day` (today or later): its bookings are released and each resident
        is told why; NotNow for a day gone by or one closed already."""
        if day < self.clock.now().date():
            raise NotNow("past_day")

        def notice(b: Booking) -> str:
            return self.texts.chat("booking_closed_notice", b=b, c=center, reason=reason,
                                   g=self.library.knowledge.guide(b.guide))
        released = await self.store.bookings.close_day(center=center.id, day=day, reason=reason, by=by,
                                                       now=self.clock.now(), notice=notice)
        if released is None:
            raise NotNow("already_closed")
        return released

    async def day_sheet(self, center: Center, day: date) -> dict[str, Any]:
        """A center's day for its clerks: every slot, and in it each window's booking, or
        free, or not staffed then; bookings no longer on the grid (hours changed) listed after."""
        closure = await self.store.bookings.closure(center.id, day)
        windows = tuple(w.number for w in center.windows)
        slots = self.schedule.slots(center, windows, day, self.settings.slot_minutes,
                                    frozenset({day}) if closure else frozenset())
        bookings = await self.store.bookings.for_day([center.id], day)
        live = {(b.start, b.window): b for b in bookings if b.status in ("booked", "checked_in")}
        rows = [(start, {w: live.pop((start, w), None) if w in staffed else "off" for w in windows})
                for start, staffed in slots]
        ended = [b for b in bookings if b.status not in ("booked", "checked_in")]
        return {"windows": center.windows, "rows": rows, "off_grid": list(live.values()), "ended": ended,
                "closure": closure, "count": sum(1 for b in bookings if b.status in ("booked", "checked_in"))}

    # -- reminders -------------------------------------------------------------------------

    async def send_reminders(self) -> int:
        """Queue every reminder that is due; each goes out once."""
        now, sent = self.clock.now(), 0
        for b in await self.store.bookings.due_reminders(now):
            center = self.centers.get(b.center)
            guide = self.library.knowledge.guide(b.guide)
            text = self.texts.chat("booking_reminder", b=b, c=center, g=guide,
                                   window=center.window(b.window) if center else None, now=now)
            sent += await self.store.bookings.remind(b, text, now)
        return sent


__all__ = ["Appointments", "BookingLimit", "FreeTime", "NotNow", "Paused", "SlotTaken", "Where"]
