"""The clock handlers read, injectable so tests can stand on any day."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    """Wall-clock time in Asia/Shanghai."""

    def now(self) -> datetime:
        return datetime.now(TZ)

    def timestamp(self) -> float:
        return time.time()


@dataclass
class FixedClock(Clock):
    """A clock that stands still until moved; for tests and the simulator."""

    at: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 10, 0, tzinfo=TZ))

    def now(self) -> datetime:
        return self.at

    def timestamp(self) -> float:
        return self.at.timestamp()

    def advance(self, **delta: float) -> None:
        self.at = self.at + timedelta(**delta)
