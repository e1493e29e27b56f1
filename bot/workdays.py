"""Working days of the Chinese calendar: statutory holidays off, make-up working days (调休) on.

Deadlines (限时办结) are counted in working days, or in calendar days where the law says 日. The `chinesecalendar` library knows each
year once the State Council has published it; for a year it does not cover yet, Monday to
Friday are counted and a warning is logged, so a deadline is never missing, only less exact.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger(__name__)

# Statutory holidays on fixed solar dates (元旦, 劳动节, 国庆节: 全国年节及纪念日放假办法). For a
# year the library does not cover yet these are still known; the lunar ones and the make-up
# working days are not, until the State Council publishes the year's arrangement.
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


class WorkCalendar:
    def __init__(self) -> None:
        self._warned: set[int] = set()

    def is_workday(self, day: date) -> bool:
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning("no statutory holiday data for %d: counting Monday to Friday as working days, "
                            "fixed-date holidays off; update chinesecalendar once the year is published",
                            day.year)
            return day.isoweekday() <= 5 and (day.month, day.day) not in FIXED_HOLIDAYS

    def is_ordinary_weekend(self, day: date) -> bool:
        """A Saturday or Sunday off that is not a statutory holiday (weekend 8+4 shifts open)."""
        if day.isoweekday() < 6 or self.is_workday(day):
            return False
        try:
            _, holiday = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return (day.month, day.day) not in FIXED_HOLIDAYS
        return holiday is None

    def holiday(self, day: date) -> str | None:
        """The statutory holiday `day` falls in, by the library's name ("National Day"), or None."""
        if self.is_workday(day):
            return None
        try:
            _, holiday = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return "National Day" if (day.month, day.day) in FIXED_HOLIDAYS and day.month == 10 else None
        return holiday

    def add_workdays(self, start: date, days: int) -> date:
        """The day on which `days` working days after `start` have passed (`start` itself not
        counted): a case accepted on a Friday with 1 working day is due the next Monday."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        while days:
            day += timedelta(days=1)
            if self.is_workday(day):
                days -= 1
        return day

    def add_days(self, start: date, days: int) -> date:
        """The last day of a limit the law writes in 日 (calendar days), `start` not counted; a
        last day that falls on a day off moves to the next working day (《民法典》第二百零一条、
        第二百零三条)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start + timedelta(days=days)
        while days and not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def due(self, start: date, days: int, unit: str) -> date:
        """The deadline `days` after `start` in a guide's unit: "working" or "calendar"."""
        return self.add_days(start, days) if unit == "calendar" else self.add_workdays(start, days)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (negative when `end` is earlier)."""
        if end < start:
            return -self.workdays_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count
