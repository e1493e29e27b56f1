"""The knowledge base in memory: service guides, synonyms, intent phrases, and the county's
centers: 区/县 → 镇（街道）便民服务中心 → 村（社区）便民服务站.

Each center publishes where it is, how to call it, what it accepts (受理) and what it decides
(办理/审批), its windows (counters) and the services each handles, and its hours: the regular
periods on working days of the national calendar, plus the staggered shifts of 8+4 错时服务
(an early or late hour, a lunch-time window, a weekend morning) staffed by some windows only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import time
from typing import Any

LEVELS = ("村（社区）", "镇（街道）", "县（区）", "市")
ITEM_TYPES = ("行政许可", "行政给付", "行政确认", "行政裁决", "行政征收", "行政奖励", "行政检查",
              "其他行政权力", "公共服务")
CASE_TYPES = ("即办件", "承诺件", "联办件", "上报件")
MATERIAL_FORMS = ("原件", "复印件", "原件和复印件", "电子件", "原件或电子件")
DAY_UNITS = ("working", "calendar")  # a time limit in 工作日, or in 日 as the law writes it (自然日)
INTENTS = ("booking", "proxy", "status", "complaint", "rating", "handoff", "greeting", "centers",
           "withdraw", "materials_reply", "home_visit", "my_bookings", "cancel_booking", "reschedule", "bind")


@dataclass(frozen=True)
class Material:
    name: str
    form: str
    copies: int
    required: bool
    note: str = ""


@dataclass(frozen=True)
class Faq:
    q: str
    a: str


@dataclass(frozen=True)
class Situation:
    """One of the situations (情形) a guide covers — 结婚登记 or 离婚登记 — with the words that name
    it in a question and what differs for it: `fields` holds the guide's keys it sets itself
    (materials, visits, legal_days, promised_days, conditions …); the rest it shares with the guide."""

    name: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    note: str = ""
    fields: tuple[tuple[str, Any], ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases, *self.keywords)


@dataclass(frozen=True)
class Guide:
    name: str
    department: str
    item_type: str
    case_type: str
    summary: str
    aliases: tuple[str, ...]
    accept_levels: tuple[str, ...]
    decide_level: str
    accepting_unit: str
    deciding_unit: str
    conditions: tuple[str, ...]
    process: tuple[str, ...]
    legal_days: int
    promised_days: int
    fee: str
    fee_basis: str
    online: bool
    bookable: bool
    proxy: bool
    home_visit: bool
    delivery: bool
    visits: int
    basis: tuple[str, ...]
    materials: tuple[Material, ...]
    faq: tuple[Faq, ...]
    online_hint: str = ""
    proxy_note: str = ""
    local_check: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    legal_days_unit: str = "working"
    promised_days_unit: str = "working"
    source: str = ""  # file it was loaded from
    situations: tuple[Situation, ...] = ()
    situation: str = ""          # set on the guide as told for one of its situations (`in_situation`)
    situation_note: str = ""

    @property
    def title(self) -> str:
        """The name residents are told: the guide's, with the situation when one is told."""
        return f"{self.name}·{self.situation}" if self.situation else self.name

    def in_situation(self, name: str) -> "Guide":
        """The guide as told for its situation `name`: that situation's materials, visits, time
        limits and conditions, the guide's own values where the situation sets none."""
        found = next((s for s in self.situations if s.name == name), None)
        if found is None:
            return self
        return replace(self, **dict(found.fields), situation=found.name, situation_note=found.note)

    @property
    def is_on_the_spot(self) -> bool:
        return self.promised_days == 0

    @property
    def free(self) -> bool:
        return self.fee.strip() in ("不收费", "免费", "无")


SHIFT_DAYS = ("workdays", "weekends")  # weekends: ordinary Saturdays and Sundays, never holidays


@dataclass(frozen=True)
class Period:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "Period":
        a, b = text.split("-")
        period = cls(time.fromisoformat(a.strip()), time.fromisoformat(b.strip()))
        if period.end <= period.start:
            raise ValueError(text)
        return period

    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Window:
    number: int
    name: str
    departments: tuple[str, ...] = ()   # "*" handles every department
    services: tuple[str, ...] = ()      # guide names handled besides the departments

    def handles(self, guide: Guide) -> bool:
        return "*" in self.departments or guide.department in self.departments or guide.name in self.services


@dataclass(frozen=True)
class Shift:
    """An 8+4 shift: extra periods staffed by some windows only."""

    name: str
    days: str
    periods: tuple[Period, ...]
    windows: tuple[int, ...]


@dataclass(frozen=True)
class Center:
    id: str
    name: str
    level: str
    parent: str | None = None
    aliases: tuple[str, ...] = ()
    address: str = ""
    phone: str = ""
    lat: float | None = None
    lon: float | None = None
    accepts: frozenset[str] = field(default=frozenset(), repr=False)   # guide names, from the file's lists
    decides: frozenset[str] = field(default=frozenset(), repr=False)
    hours: tuple[Period, ...] = ()
    windows: tuple[Window, ...] = ()
    shifts: tuple[Shift, ...] = ()

    @property
    def is_village(self) -> bool:
        return self.level == LEVELS[0]

    def windows_for(self, guide: Guide) -> tuple[int, ...]:
        """Windows handling the service: its own counters first, the general ones ("*") last."""
        own = sorted((w for w in self.windows if w.handles(guide)), key=lambda w: "*" in w.departments)
        return tuple(w.number for w in own)

    def window(self, number: int) -> Window | None:
        return next((w for w in self.windows if w.number == number), None)

    def can_book(self, guide: Guide) -> bool:
        return guide.name in self.accepts and bool(self.windows_for(guide)) and bool(self.hours)


@dataclass(frozen=True)
class Centers:
    """The county's centers as a tree: county → towns (streets) → villages (communities)."""

    by_id: dict[str, Center] = field(default_factory=dict)
    tables: dict = field(default_factory=dict, repr=False, compare=False)   # centers.toml as read

    def below(self, center_id: str) -> list[str]:
        """`center_id` and every center under it (a town center and its villages)."""
        found = [center_id]
        for c in self.by_id.values():
            if c.parent == center_id:
                found += self.below(c.id)
        return found

    def get(self, center_id: str | None) -> Center | None:
        return self.by_id.get(center_id or "")

    def chain(self, center_id: str | None) -> list[Center]:
        """The center and those above it, nearest first: station → town center → county."""
        out, center = [], self.get(center_id)
        while center is not None:
            out.append(center)
            center = self.get(center.parent)
        return out

    def villages(self) -> list[Center]:
        return [c for c in self.by_id.values() if c.is_village]

    def find(self, text: str) -> list[Center]:
        """Centers a resident's words name: by full name, alias or a distinctive part of it."""
        text = text.strip()
        if not text:
            return []
        exact = [c for c in self.by_id.values() if text in (c.name, *c.aliases)]
        if exact:
            return exact
        return [c for c in self.by_id.values()
                if any(len(alias) >= 2 and alias in text for alias in c.aliases) or text in c.name]

    def nearest(self, lat: float, lon: float, limit: int = 5) -> list[tuple[Center, float]]:
        placed = [(c, distance_km(lat, lon, c.lat, c.lon)) for c in self.by_id.values()
                  if c.lat is not None and c.lon is not None]
        return sorted(placed, key=lambda p: p[1])[:limit]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) on a sphere of the Earth's mean radius."""
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(min(1.0, a)))


@dataclass(frozen=True)
class Target:
    """What a resident's message is about: a guide, an intent (booking, handoff …), a matter
    handled elsewhere (a referral), or none of them (`none`: chit-chat, unrelated)."""

    kind: str   # guide, intent, referral, none
    name: str


NONE = Target("none", "")


@dataclass(frozen=True)
class Example:
    """A question residents ask (相似问), the target it means, and where it is written."""

    question: str
    target: Target
    source: str   # file:line


@dataclass(frozen=True)
class Referral:
    """A matter a village or town front desk does not handle (首问负责): who does, and how to reach them."""

    name: str
    handled_by: str
    contact: str
    how: str
    local_check: tuple[str, ...] = ()


@dataclass(frozen=True)
class Knowledge:
    guides: dict[str, Guide]
    synonyms: dict[str, str] = field(default_factory=dict)
    intents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    aspects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    menu: dict[str, str] = field(default_factory=dict)  # menu CLICK key → intent name
    centers: Centers = field(default_factory=Centers)
    referrals: dict[str, Referral] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()
    bundles: dict = field(default_factory=dict)   # life events (高效办成一件事), bot/knowledge/bundles.py

    def guide(self, name: str) -> Guide | None:
        return self.guides.get(name)

    def bundle(self, name: str):
        """The life event of that name (bot.knowledge.bundles.Bundle), or None."""
        return self.bundles.get(name)

    @cached_property
    def situation_words(self) -> dict[int, tuple[Situation, tuple[str, ...]]]:
        """id of each situation of the guides → (the situation, the words naming it normalised
        with this knowledge's synonyms): read once, not for every question that may name one."""
        from bot.knowledge.situations import situation_words   # it reads questions as the matcher does
        return {id(situation): (situation, situation_words(situation, self.synonyms))
                for guide in self.guides.values() for situation in guide.situations}

    @property
    def targets(self) -> dict:
        """What a question may be about by name: the guides and the life events."""
        return {**self.guides, **self.bundles}

