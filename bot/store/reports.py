"""The numbers behind the console's reports, for the centers a viewer sees (None: all), from a
first day up to today. Times are stored in the county's time zone, so the first ten characters
of one are its local day; weeks start on Monday."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.store.db import marks

if TYPE_CHECKING:
    from bot.store.store import Store

SATISFIED_FROM = 3   # 基本满意 and better, as on the dashboard


@dataclass(frozen=True)
class Daily:
    """Cases opened on each day, by kind."""

    days: tuple[date, ...]
    counts: dict[str, tuple[int, ...]]   # kind → one count per day

    @property
    def totals(self) -> tuple[int, ...]:
        """All kinds together, one per day."""
        return tuple(map(sum, zip(*self.counts.values()))) if self.counts else (0,) * len(self.days)

    @property
    def total(self) -> int:
        return sum(self.totals)


@dataclass(frozen=True)
class Weekly:
    """A share per week: cases finished on time of those finished, satisfied of those rated."""

    weeks: tuple[date, ...]   # the Mondays
    hits: tuple[int, ...]
    totals: tuple[int, ...]

    @property
    def rates(self) -> tuple[float | None, ...]:
        return tuple(hit / total if total else None for hit, total in zip(self.hits, self.totals))

    @property
    def total(self) -> int:
        return sum(self.totals)


@dataclass(frozen=True)
class Busy:
    """How often a service was asked for: cases (代办, 上门) and appointments made."""

    guide: str
    cases: int
    bookings: int


@dataclass(frozen=True)
class Consulted:
    """One center's conversations with a person (转人工 咨询) in the period: how many, how long
    residents waited for the first clerk's reply (minutes; None without replies), the waits that
    ran past `[handoff] wait_minutes`, and the ratings."""

    center: str | None
    conversations: int
    replied: int
    median_minutes: float | None
    p90_minutes: float | None
    timed_out: int
    rated: int
    satisfied: int

    @property
    def rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


@dataclass(frozen=True)
class Consultations:
    days: tuple[date, ...]
    daily: dict[str | None, tuple[int, ...]]   # center → conversations opened each day
    centers: tuple[Consulted, ...]
    total: Consulted

    @property
    def totals(self) -> tuple[int, ...]:
        """All centers together, one per day."""
        return tuple(map(sum, zip(*self.daily.values()))) if self.daily else (0,) * len(self.days)


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of `values` (share 0.5: the median's upper neighbour for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _consulted(center: str | None, rows: list[dict[str, Any]]) -> Consulted:
    waits = [(datetime.fromisoformat(r["first_reply_at"]) - datetime.fromisoformat(r["created_at"])).total_seconds()
             / 60 for r in rows if r["first_reply_at"]]
    rated = [r["rating"] for r in rows if r["rating"]]
    return Consulted(center=center, conversations=len(rows), replied=len(waits),
                     median_minutes=percentile(waits, 0.5), p90_minutes=percentile(waits, 0.9),
                     timed_out=sum(1 for r in rows if r["wait_over_at"]), rated=len(rated),
                     satisfied=sum(1 for score in rated if score >= SATISFIED_FROM))


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _weeks(first: date, last: date) -> tuple[date, ...]:
    return tuple(monday(first) + timedelta(weeks=n) for n in range((monday(last) - monday(first)).days // 7 + 1))


def _between(first: date, last: date) -> tuple[str, str]:
    """The bounds of the days first … last for comparing stored times: from first, before the day after last."""
    return first.isoformat(), (last + timedelta(days=1)).isoformat()


def _at(column: str, centers: list[str] | None) -> tuple[str, list[Any]]:
    """The SQL condition "`column` is one of the centers seen", and its arguments."""
    if centers is None:
        return "1=1", []
    return f"{column} IN ({marks(centers)})", list(centers)


class Reports:
    def __init__(self, store: "Store"):
        self.store = store

    async def opened(self, first: date, last: date, centers: list[str] | None) -> Daily:
        where, args = _at("center", centers)
        rows = await self.store.fetchall(
            f"SELECT substr(created_at, 1, 10) AS day, kind, count(*) AS n FROM cases "
            f"WHERE created_at >= ? AND created_at < ? AND {where} GROUP BY day, kind", *_between(first, last), *args)
        days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
        found = {(r["day"], r["kind"]): r["n"] for r in rows}
        kinds = sorted({kind for _, kind in found})
        return Daily(days=days, counts={k: tuple(found.get((d.isoformat(), k), 0) for d in days) for k in kinds})

    async def on_time(self, first: date, last: date, centers: list[str] | None) -> Weekly:
        """Cases first completed or delivered in the period that had a deadline, by the week of
        completion; on time when that day is not after the deadline (as extended, if it was)."""
        where, args = _at("c.center", centers)
        rows = await self.store.fetchall(
            f"SELECT substr(f.done, 1, 10) AS day, sum(CASE WHEN substr(f.done, 1, 10) <= c.deadline THEN 1 ELSE 0 END) AS hits, "
            f"count(*) AS total FROM cases c JOIN (SELECT case_id, min(at) AS done FROM case_history "
            f"WHERE to_state IN ('completed', 'delivered') GROUP BY case_id) f ON f.case_id = c.id "
            f"WHERE c.deadline IS NOT NULL AND f.done >= ? AND f.done < ? AND {where} GROUP BY day",
            *_between(first, last), *args)
        return self._weekly(rows, first, last)

    async def satisfied(self, first: date, last: date, centers: list[str] | None) -> Weekly:
        """Ratings given in the period, by week: 基本满意 or better of all."""
        where, args = _at("center", centers)
        rows = await self.store.fetchall(
            f"SELECT substr(at, 1, 10) AS day, sum(CASE WHEN score >= ? THEN 1 ELSE 0 END) AS hits, count(*) AS total FROM ratings "
            f"WHERE at >= ? AND at < ? AND {where} GROUP BY day", SATISFIED_FROM, *_between(first, last), *args)
        return self._weekly(rows, first, last)

    async def busiest(self, first: date, last: date, centers: list[str] | None, limit: int = 10) -> list[Busy]:
        """The services asked for most: 代办 and 上门 cases opened plus appointments made."""
        where, args = _at("center", centers)
        rows = await self.store.fetchall(
            f"SELECT guide, sum(CASE WHEN source = 'case' THEN 1 ELSE 0 END) AS cases, "
            f"sum(CASE WHEN source = 'booking' THEN 1 ELSE 0 END) AS bookings FROM ("
            f"SELECT guide, 'case' AS source FROM cases WHERE guide IS NOT NULL AND kind IN ('proxy', 'home_visit') "
            f"AND created_at >= ? AND created_at < ? AND {where} "
            f"UNION ALL SELECT guide, 'booking' FROM bookings WHERE created_at >= ? AND created_at < ? AND {where} "
            f") AS asked GROUP BY guide ORDER BY count(*) DESC, guide LIMIT ?",
            *_between(first, last), *args, *_between(first, last), *args, limit)
        return [Busy(guide=r["guide"], cases=r["cases"], bookings=r["bookings"]) for r in rows]

    async def consultations(self, first: date, last: date, centers: list[str] | None) -> Consultations:
        """Conversations with a person opened in the period: per day and center, and per center
        the time to the first clerk's reply (median, 90th percentile), timed-out waits, ratings."""
        rows = await self.store.handoffs.in_period(*_between(first, last), centers)
        days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
        by_center: dict[str | None, list[dict[str, Any]]] = {}
        for r in rows:
            by_center.setdefault(r["center"], []).append(r)
        daily = {center: tuple(sum(1 for r in found if r["created_at"][:10] == d.isoformat()) for d in days)
                 for center, found in by_center.items()}
        return Consultations(days=days, daily=daily,
                             centers=tuple(_consulted(c, found) for c, found in sorted(by_center.items(),
                                                                                        key=lambda x: x[0] or "")),
                             total=_consulted(None, rows))

    @staticmethod
    def _weekly(rows: list[Any], first: date, last: date) -> Weekly:
        weeks = _weeks(first, last)
        hits, totals = dict.fromkeys(weeks, 0), dict.fromkeys(weeks, 0)
        for r in rows:
            week = monday(date.fromisoformat(r["day"]))
            hits[week] += r["hits"]
            totals[week] += r["total"]
        return Weekly(weeks=weeks, hits=tuple(hits.values()), totals=tuple(totals.values()))
