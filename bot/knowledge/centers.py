"""The county's centers: 区/县 → 镇（街道）便民服务中心 → 村（社区）便民服务站.

Each center publishes where it is, how to call it, what it accepts (受理) and what it decides
(办理/审批), its windows (counters) and the services each handles, and its hours: the regular
periods on working days of the national calendar, plus the staggered shifts of 8+4 错时服务
(an early or late hour, a lunch-time window, a weekend morning) staffed by some windows only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from bot.knowledge.model import LEVELS

if TYPE_CHECKING:
    from bot.knowledge.model import Guide

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

    def handles(self, guide: "Guide") -> bool:
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

    def windows_for(self, guide: "Guide") -> tuple[int, ...]:
        return tuple(w.number for w in self.windows if w.handles(guide))

    def window(self, number: int) -> Window | None:
        return next((w for w in self.windows if w.number == number), None)

    def can_book(self, guide: "Guide") -> bool:
        return guide.name in self.accepts and bool(self.windows_for(guide)) and bool(self.hours)


@dataclass(frozen=True)
class Centers:
    """The county's centers as a tree: county → towns (streets) → villages (communities)."""

    by_id: dict[str, Center] = field(default_factory=dict)

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


# -- loading ---------------------------------------------------------------------------------

_STR, _STRS, _INTS, _NUM = "a string", "a list of strings", "a list of window numbers", "a number"

CENTER_KEYS: dict[str, tuple[str, bool]] = {
    "id": (_STR, True), "name": (_STR, True), "level": (_STR, True), "parent": (_STR, False),
    "aliases": (_STRS, False), "address": (_STR, False), "phone": (_STR, False),
    "lat": (_NUM, False), "lon": (_NUM, False), "accepts": (_STRS, False), "accepts_not": (_STRS, False),
    "decides": (_STRS, False), "hours": (_STRS, False),
    "window": ("an array of [[center.window]] tables", False),
    "shift": ("an array of [[center.shift]] tables", False),
}
WINDOW_KEYS = {"number": ("a positive integer", True), "name": (_STR, True),
               "departments": (_STRS, False), "services": (_STRS, False)}
SHIFT_KEYS = {"name": (_STR, True), "days": (_STR, True), "periods": (_STRS, True), "windows": (_INTS, True)}
# Below the county, a center residents can visit must say where it is and when it opens.
PUBLISHED = ("address", "phone", "lat", "lon", "hours", "window")


def _ok(value: Any, expected: str) -> bool:
    if expected == _STR:
        return isinstance(value, str) and value.strip() != ""
    if expected == _STRS:
        return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    if expected == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected in (_INTS,):
        return isinstance(value, list) and value != [] and all(isinstance(v, int) and v > 0 for v in value)
    if expected == "a positive integer":
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


class _Problems:
    def __init__(self, path: Path, lines: Any, problems: list[str]):
        self.path, self.lines, self.problems = path, lines, problems

    def add(self, where: tuple[Any, ...], message: str) -> None:
        self.problems.append(f"{self.path}:{self.lines.of(*where)}: {message}")

    def table(self, data: dict[str, Any], spec: dict[str, tuple[str, bool]], where: tuple[Any, ...]) -> bool:
        ok = True
        for key in data:
            if key not in spec:
                self.add(where + (key,), f"unknown key `{key}`; known keys are {', '.join(spec)}")
                ok = False
        for key, (expected, required) in spec.items():
            if key not in data:
                if required:
                    self.add(where, f"missing required key `{key}` ({expected})")
                    ok = False
            elif not _ok(data[key], expected):
                self.add(where + (key,), f"`{key}` must be {expected}")
                ok = False
        return ok


def _periods(texts: Iterable[str], where: tuple[Any, ...], key: str, p: _Problems) -> tuple[Period, ...]:
    out = []
    for text in texts:
        try:
            out.append(Period.parse(text))
        except ValueError:
            p.add(where + (key,), f"`{key}`: {text!r} is not a period like \"08:30-12:00\"")
    out.sort(key=lambda x: x.start)
    for a, b in zip(out, out[1:]):
        if b.start < a.end:
            p.add(where + (key,), f"`{key}`: {a.label()} and {b.label()} overlap")
    return tuple(out)


def _services(names: list[str], level: str, which: str, guides: dict[str, "Guide"],
              where: tuple[Any, ...], p: _Problems) -> frozenset[str]:
    """Resolve a list of guide names; "*" stands for every guide this level may accept (or
    decide). A named guide must exist and allow this level."""
    out: set[str] = set()
    for name in names:
        if name == "*":
            out |= {g.name for g in guides.values()
                    if (level in g.accept_levels if which == "accepts" else g.decide_level == level)}
        elif name not in guides:
            p.add(where + (which,), f"`{which}`: no guide named {name!r}")
        else:
            g = guides[name]
            if which == "accepts" and level not in g.accept_levels:
                p.add(where + (which,), f"`{which}`: {name} cannot be accepted at level {level} "
                                        f"(its guide says {', '.join(g.accept_levels)})")
            out.add(name)
    return frozenset(out)


def load_centers(path: Path, guides: dict[str, "Guide"], problems: list[str], read) -> Centers:
    if not path.exists():
        return Centers()
    got = read(path, problems)
    if got is None:
        return Centers()
    data, lines = got
    p = _Problems(path, lines, problems)
    for key in data:
        if key != "center":
            p.add((key,), f"unknown table `{key}`; only [[center]] belongs here")
    by_id: dict[str, Center] = {}
    position: dict[str, int] = {}
    window_index = shift_index = 0   # [[center.window]] tables are counted across the file
    for i, item in enumerate(data.get("center", [])):
        where = ("center", i)
        windows_raw = item.get("window", []) if isinstance(item.get("window", []), list) else []
        shifts_raw = item.get("shift", []) if isinstance(item.get("shift", []), list) else []
        first_window, first_shift = window_index, shift_index
        window_index += len(windows_raw)
        shift_index += len(shifts_raw)
        if not p.table(item, CENTER_KEYS, where):
            continue
        cid, level = item["id"], item["level"]
        if cid in by_id:
            p.add(where + ("id",), f"duplicate center id {cid!r}")
            continue
        if level not in LEVELS:
            p.add(where + ("level",), f"`level` must be one of {', '.join(LEVELS)}")
            continue
        if "parent" in item:
            for key in PUBLISHED:
                if key not in item:
                    p.add(where, f"center {cid!r} needs `{key}`: residents are told where and when it opens")
        for key, lo, hi in (("lat", 3.0, 54.0), ("lon", 73.0, 136.0)):
            if key in item and _ok(item[key], _NUM) and not lo <= item[key] <= hi:
                p.add(where + (key,), f"`{key}` {item[key]} is outside China ({lo} … {hi})")
        windows: list[Window] = []
        for j, w in enumerate(windows_raw):
            wwhere = ("center.window", first_window + j)
            if not p.table(w, WINDOW_KEYS, wwhere):
                continue
            if not w.get("departments") and not w.get("services"):
                p.add(wwhere, "a window needs `departments` or `services`")
            if any(x.number == w["number"] for x in windows):
                p.add(wwhere + ("number",), f"window {w['number']} appears twice in {cid!r}")
            windows.append(Window(number=w["number"], name=w["name"], departments=tuple(w.get("departments", ())),
                                  services=tuple(_services(w.get("services", []), level, "services", guides,
                                                           wwhere, p))))
        numbers = {w.number for w in windows}
        shifts: list[Shift] = []
        for j, s in enumerate(shifts_raw):
            swhere = ("center.shift", first_shift + j)
            if not p.table(s, SHIFT_KEYS, swhere):
                continue
            if s["days"] not in SHIFT_DAYS:
                p.add(swhere + ("days",), f"`days` must be one of {', '.join(SHIFT_DAYS)}")
            unknown = [n for n in s["windows"] if n not in numbers]
            if unknown:
                p.add(swhere + ("windows",), f"`windows`: {unknown} are not windows of {cid!r}")
            shifts.append(Shift(name=s["name"], days=s["days"], periods=_periods(s["periods"], swhere, "periods", p),
                                windows=tuple(s["windows"])))
        hours = _periods(item.get("hours", []), where, "hours", p)
        for shift in shifts:
            if shift.days == "workdays":
                for a in shift.periods:
                    if any(a.start < b.end and b.start < a.end for b in hours):
                        p.add(where + ("hours",), f"shift {shift.name!r} {a.label()} overlaps the regular hours")
        accepts = _services(item.get("accepts", []), level, "accepts", guides, where, p)
        accepts -= _services(item.get("accepts_not", []), level, "accepts_not", guides, where, p)
        decides = _services(item.get("decides", []), level, "decides", guides, where, p)
        by_id[cid] = Center(
            id=cid, name=item["name"], level=level, parent=item.get("parent"), aliases=tuple(item.get("aliases", ())),
            address=item.get("address", ""), phone=item.get("phone", ""), lat=item.get("lat"), lon=item.get("lon"),
            accepts=accepts, decides=decides, hours=hours, windows=tuple(windows), shifts=tuple(shifts))
        position[cid] = i
    for center in by_id.values():
        where = ("center", position[center.id], "parent")
        if center.parent is not None and center.parent not in by_id:
            p.add(where, f"parent {center.parent!r} of {center.id!r} is not a center here")
        elif center.parent is not None and LEVELS.index(by_id[center.parent].level) <= LEVELS.index(center.level):
            p.add(where, f"{center.id!r} must sit below its parent")
        for name in center.accepts:
            if not center.windows_for(guides[name]) and center.windows:
                p.add(("center", position[center.id], "accepts"),
                      f"{center.id!r} accepts {name} but none of its windows handles it")
    return Centers(by_id=by_id)
