"""When a center is open: its regular hours on working days of the national calendar
(statutory holidays closed, make-up working days open), its 8+4 shifts, and the days staff
closed it (training, emergencies). Bookable slots are cut from the same periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.clock import TZ
from bot.knowledge.model import Center, Period
from bot.workdays import WorkCalendar

WEEKDAY_NAMES = "一二三四五六日"
LOOK_AHEAD_DAYS = 30


@dataclass(frozen=True)
class Opening:
    """One period a center is open on one day, and the windows staffed in it."""

    start: datetime
    end: datetime
    windows: tuple[int, ...]
    shift: str = ""   # the 8+4 shift's name; "" for regular hours


class Schedule:
    def __init__(self, calendar: WorkCalendar):
        self.calendar = calendar

    def openings(self, center: Center, day: date, closed: frozenset[date] = frozenset()) -> list[Opening]:
        if day in closed or not center.hours:
            return []
        every = tuple(w.number for w in center.windows)
        found: list[tuple[Period, tuple[int, ...], str]] = []
        if self.calendar.is_workday(day):
            found += [(p, every, "") for p in center.hours]
            found += [(p, s.windows, s.name) for s in center.shifts if s.days == "workdays" for p in s.periods]
        elif self.calendar.is_ordinary_weekend(day):
            found += [(p, s.windows, s.name) for s in center.shifts if s.days == "weekends" for p in s.periods]
        return sorted((Opening(_at(day, p.start), _at(day, p.end), windows, name) for p, windows, name in found),
                      key=lambda o: o.start)

    def next_open(self, center: Center, now: datetime, closed: frozenset[date] = frozenset()) -> datetime | None:
        """The next moment the center opens (now itself when it is open); None if not within a month."""
        for offset in range(LOOK_AHEAD_DAYS):
            day = now.date() + timedelta(days=offset)
            for o in self.openings(center, day, closed):
                if o.start <= now < o.end:
                    return now
                if o.start > now:
                    return o.start
        return None

    def closes_at(self, center: Center, now: datetime) -> datetime | None:
        """When the period open now ends, lunch breaks counted (contiguous periods joined)."""
        end = None
        for o in self.openings(center, now.date()):
            if o.start <= now < o.end or (end is not None and o.start <= end):
                end = max(end or o.end, o.end)
        return end

    def slots(self, center: Center, windows: tuple[int, ...], day: date, minutes: int,
              closed: frozenset[date] = frozenset()) -> list[tuple[datetime, tuple[int, ...]]]:
        """Start times on `day` and, for each, the windows among `windows` staffed then."""
        out: dict[datetime, set[int]] = {}
        for o in self.openings(center, day, closed):
            staffed = [w for w in o.windows if w in windows]
            if not staffed:
                continue
            start = o.start
            while start + timedelta(minutes=minutes) <= o.end:
                out.setdefault(start, set()).update(staffed)
                start += timedelta(minutes=minutes)
        return [(start, tuple(sorted(ws))) for start, ws in sorted(out.items())]


def _at(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=TZ)


def hours_lines(center: Center) -> list[str]:
    """The published hours as a clerk would read them out, one line each."""
    lines = ["法定工作日 " + "，".join(p.label() for p in center.hours)]
    for shift in center.shifts:
        when = "法定工作日" if shift.days == "workdays" else "周六、周日（法定节假日除外）"
        numbers = "、".join(str(n) for n in shift.windows)
        lines.append(f"{shift.name}：{when} {'，'.join(p.label() for p in shift.periods)}（{numbers}号窗口）")
    return lines


def day_label(day: date, today: date) -> str:
    days = (day - today).days
    rel = {0: "今天", 1: "明天", 2: "后天"}.get(days, "")
    return f"{day.month}月{day.day}日 周{WEEKDAY_NAMES[day.isoweekday() - 1]}" + (f"（{rel}）" if rel else "")


def when_label(moment: datetime, now: datetime) -> str:
    """今天/明天/周X plus the time, as a clerk would say it."""
    days = (moment.date() - now.date()).days
    day = {0: "今天", 1: "明天", 2: "后天"}.get(days, f"周{WEEKDAY_NAMES[moment.isoweekday() - 1]}（{moment:%m月%d日}）")
    part = "上午" if moment.hour < 12 else "下午"
    return f"{day}{part}{moment:%H:%M}"
