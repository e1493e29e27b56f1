"""Published opening hours: whether a center is open now and when it next opens.

Statutory holidays and make-up working days arrive with the centers and the Chinese calendar;
until then the configured weekdays and periods are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta


@dataclass(frozen=True)
class Period:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "Period":
        a, b = text.split("-")
        return cls(time.fromisoformat(a), time.fromisoformat(b))

    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Hours:
    workdays: tuple[int, ...]   # ISO weekdays, 1 = Monday
    periods: tuple[Period, ...]

    @classmethod
    def from_config(cls, workdays: list[int], periods: list[str]) -> "Hours":
        return cls(tuple(workdays), tuple(sorted((Period.parse(p) for p in periods), key=lambda p: p.start)))

    def is_open(self, now: datetime) -> bool:
        if now.isoweekday() not in self.workdays:
            return False
        return any(p.start <= now.time() < p.end for p in self.periods)

    def next_open(self, now: datetime) -> datetime:
        """The next moment the center opens (now itself when it is open)."""
        if self.is_open(now):
            return now
        day = now
        for _ in range(15):
            if day.isoweekday() in self.workdays:
                for p in self.periods:
                    start = day.replace(hour=p.start.hour, minute=p.start.minute, second=0, microsecond=0)
                    if start > now:
                        return start
            day = (day + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return now

    def weekday_label(self) -> str:
        names = "一二三四五六日"
        days = sorted(self.workdays)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            return f"周{names[days[0] - 1]}至周{names[days[-1] - 1]}"
        return "、".join(f"周{names[d - 1]}" for d in days)

    def label(self) -> str:
        return f"{self.weekday_label()} " + "，".join(p.label() for p in self.periods)


WEEKDAY_NAMES = "一二三四五六日"


def when_label(moment: datetime, now: datetime) -> str:
    """今天/明天/周X plus the time, as a clerk would say it."""
    days = (moment.date() - now.date()).days
    day = {0: "今天", 1: "明天", 2: "后天"}.get(days, f"周{WEEKDAY_NAMES[moment.isoweekday() - 1]}（{moment:%m月%d日}）")
    part = "上午" if moment.hour < 12 else "下午"
    return f"{day}{part}{moment:%H:%M}"
