"""The county's centers (centers.toml): each center's level, parent, windows, shifts and hours,
and the guides it accepts and decides — checked against the guides it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.knowledge.guides import _INTS, _NUM, _POS, _STR, _STRS, check_table, not_one_of
from bot.knowledge.model import LEVELS, SHIFT_DAYS, Center, Centers, Guide, Period, Shift, Window
from bot.knowledge.problems import FileReport, Report, Where, read_optional_toml

CENTER_KEYS: dict[str, tuple[str, bool]] = {
    "id": (_STR, True), "name": (_STR, True), "level": (_STR, True), "parent": (_STR, False),
    "aliases": (_STRS, False), "address": (_STR, False), "phone": (_STR, False),
    "lat": (_NUM, False), "lon": (_NUM, False), "accepts": (_STRS, False), "accepts_not": (_STRS, False),
    "decides": (_STRS, False), "hours": (_STRS, False),
    "window": ("an array of [[center.window]] tables", False),
    "shift": ("an array of [[center.shift]] tables", False),
}
WINDOW_KEYS = {"number": (_POS, True), "name": (_STR, True), "departments": (_STRS, False),
               "services": (_STRS, False)}
SHIFT_KEYS = {"name": (_STR, True), "days": (_STR, True), "periods": (_STRS, True), "windows": (_INTS, True)}
# Below the county, a center residents can visit must say where it is and when it opens.
PUBLISHED = ("address", "phone", "lat", "lon", "hours", "window")


def _periods(texts: list[str], where: Where, key: str, p: Report) -> tuple[Period, ...]:
    out = []
    for text in texts:
        try:
            out.append(Period.parse(text))
        except ValueError:
            p.add(where + (key,), "bad_period", {"key": key, "text": text},
                  f"`{key}`: {text!r} is not a period like \"08:30-12:00\"")
    out.sort(key=lambda x: x.start)
    for a, b in zip(out, out[1:]):
        if b.start < a.end:
            p.add(where + (key,), "periods_overlap", {"key": key, "a": a.label(), "b": b.label()},
                  f"`{key}`: {a.label()} and {b.label()} overlap")
    return tuple(out)


def _services(names: list[str], level: str, which: str, guides: dict[str, Guide],
              where: Where, p: Report) -> frozenset[str]:
    """Resolve a list of guide names; "*" stands for every guide this level may accept (or
    decide). A named guide must exist and allow this level."""
    out: set[str] = set()
    for name in names:
        if name == "*":
            out |= {g.name for g in guides.values()
                    if (level in g.accept_levels if which == "accepts" else g.decide_level == level)}
        elif name not in guides:
            p.add(where + (which,), "no_guide", {"key": which, "name": name}, f"`{which}`: no guide named {name!r}")
        else:
            g = guides[name]
            if which == "accepts" and level not in g.accept_levels:
                p.add(where + (which,), "not_accepted_at_level",
                      {"key": which, "name": name, "level": level, "levels": list(g.accept_levels)},
                      f"`{which}`: {name} cannot be accepted at level {level} "
                      f"(its guide says {', '.join(g.accept_levels)})")
            out.add(name)
    return frozenset(out)


def load_centers(path: Path, guides: dict[str, Guide], problems: list[str]) -> Centers:
    got = read_optional_toml(path, problems)
    if got is None:
        return Centers()
    data, lines = got
    return check_centers(data, guides, FileReport(path, lines, problems, data))


def check_centers(data: dict[str, Any], guides: dict[str, Guide], p: Report) -> Centers:
    """The centers of centers.toml's `data`; they keep their tables, so a guide edited later is
    checked against them again (bot/knowledge/documents.py)."""
    for key in data:
        if key != "center":
            p.add((key,), "unknown_table", {"key": key}, f"unknown table `{key}`; only [[center]] belongs here")
    by_id: dict[str, Center] = {}
    position: dict[str, int] = {}
    for i, item in enumerate(data.get("center", [])):
        where = ("center", i)
        windows_raw = item.get("window", []) if isinstance(item.get("window", []), list) else []
        shifts_raw = item.get("shift", []) if isinstance(item.get("shift", []), list) else []
        if not check_table(item, CENTER_KEYS, where, p):
            continue
        cid, level = item["id"], item["level"]
        if cid in by_id:
            p.add(where + ("id",), "duplicate_center", {"id": cid}, f"duplicate center id {cid!r}")
            continue
        if level not in LEVELS:
            not_one_of(p, where + ("level",), "level", LEVELS)
            continue
        if "parent" in item:
            for key in PUBLISHED:
                if key not in item:
                    p.add(where, "center_unpublished", {"id": cid, "key": key},
                          f"center {cid!r} needs `{key}`: residents are told where and when it opens")
        for key, lo, hi in (("lat", 3.0, 54.0), ("lon", 73.0, 136.0)):
            if key in item and not lo <= item[key] <= hi:
                p.add(where + (key,), "outside_china", {"key": key, "value": item[key]},
                      f"`{key}` {item[key]} is outside China ({lo} … {hi})")
        windows: list[Window] = []
        for j, w in enumerate(windows_raw):
            wwhere = (*where, "window", j)
            if not check_table(w, WINDOW_KEYS, wwhere, p):
                continue
            if not w.get("departments") and not w.get("services"):
                p.add(wwhere, "window_serves_nothing", {}, "a window needs `departments` or `services`")
            if any(x.number == w["number"] for x in windows):
                p.add(wwhere + ("number",), "window_twice", {"number": w["number"], "id": cid},
                      f"window {w['number']} appears twice in {cid!r}")
            windows.append(Window(number=w["number"], name=w["name"], departments=tuple(w.get("departments", ())),
                                  services=tuple(_services(w.get("services", []), level, "services", guides,
                                                           wwhere, p))))
        numbers = {w.number for w in windows}
        shifts: list[Shift] = []
        for j, s in enumerate(shifts_raw):
            swhere = (*where, "shift", j)
            if not check_table(s, SHIFT_KEYS, swhere, p):
                continue
            if s["days"] not in SHIFT_DAYS:
                not_one_of(p, swhere + ("days",), "days", SHIFT_DAYS)
            unknown = [n for n in s["windows"] if n not in numbers]
            if unknown:
                p.add(swhere + ("windows",), "no_such_window", {"windows": unknown, "id": cid},
                      f"`windows`: {unknown} are not windows of {cid!r}")
            shifts.append(Shift(name=s["name"], days=s["days"], periods=_periods(s["periods"], swhere, "periods", p),
                                windows=tuple(s["windows"])))
        hours = _periods(item.get("hours", []), where, "hours", p)
        for shift in shifts:
            if shift.days == "workdays":
                for a in shift.periods:
                    if any(a.start < b.end and b.start < a.end for b in hours):
                        p.add(where + ("hours",), "shift_overlaps_hours", {"shift": shift.name, "period": a.label()},
                              f"shift {shift.name!r} {a.label()} overlaps the regular hours")
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
            p.add(where, "no_parent", {"parent": center.parent, "id": center.id},
                  f"parent {center.parent!r} of {center.id!r} is not a center here")
        elif center.parent is not None and LEVELS.index(by_id[center.parent].level) <= LEVELS.index(center.level):
            p.add(where, "not_below_parent", {"id": center.id}, f"{center.id!r} must sit below its parent")
        for name in center.accepts:
            if not center.windows_for(guides[name]) and center.windows:
                p.add(("center", position[center.id], "accepts"), "no_window_for",
                      {"id": center.id, "name": name},
                      f"{center.id!r} accepts {name} but none of its windows handles it")
    return Centers(by_id=by_id, tables=data)
