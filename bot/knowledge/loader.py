"""Load and validate the knowledge base; every problem is reported as `file:line: message`.

TOML parsers do not keep line numbers, so `_KeyLines` reads them off the text: good enough to
point a person at the right line for a missing, unknown or wrong key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from bot.errors import KnowledgeError
from bot.knowledge.bundles import load_bundles
from bot.knowledge.examples import check_clashes, load_examples, load_referrals
from bot.knowledge.matcher import normalise
from bot.knowledge.model import (
    CASE_TYPES,
    DAY_UNITS,
    SHIFT_DAYS,
    Center,
    Centers,
    INTENTS,
    ITEM_TYPES,
    LEVELS,
    MATERIAL_FORMS,
    Faq,
    Guide,
    Knowledge,
    Material,
    Period,
    Shift,
    Situation,
    Window,
)
from bot.knowledge.situations import shared_words

_STR, _INT, _BOOL, _STRS = "a string", "an integer", "true or false", "a list of strings"
_NUM, _POS, _INTS = "a number", "a positive integer", "a list of window numbers"

GUIDE_KEYS: dict[str, tuple[str, bool]] = {  # key → (expected, required)
    "name": (_STR, True), "department": (_STR, True), "item_type": (_STR, True),
    "case_type": (_STR, True), "summary": (_STR, True), "aliases": (_STRS, True),
    "accept_levels": (_STRS, True), "decide_level": (_STR, True), "accepting_unit": (_STR, True),
    "deciding_unit": (_STR, True), "conditions": (_STRS, True), "process": (_STRS, True),
    "legal_days": (_INT, True), "promised_days": (_INT, True), "fee": (_STR, True),
    "fee_basis": (_STR, True), "online": (_BOOL, True), "online_hint": (_STR, False),
    "bookable": (_BOOL, True), "proxy": (_BOOL, True), "proxy_note": (_STR, False),
    "home_visit": (_BOOL, True), "delivery": (_BOOL, True), "visits": (_INT, True),
    "basis": (_STRS, True), "local_check": (_STRS, False), "keywords": (_STRS, False),
    "legal_days_unit": (_STR, False), "promised_days_unit": (_STR, False),
    "materials": ("an array of [[materials]] tables", True), "faq": ("an array of [[faq]] tables", True),
    "situations": ("an array of [[situations]] tables", False),
}
MATERIAL_KEYS = {"name": (_STR, True), "form": (_STR, True), "copies": (_INT, True),
                 "required": (_BOOL, True), "note": (_STR, False)}
FAQ_KEYS = {"q": (_STR, True), "a": (_STR, True)}
# A situation (情形) states what differs for it; any other key of the guide it shares, the units
# of its time limits among them.
SITUATION_KEYS = {"name": (_STR, True), "aliases": (_STRS, True), "keywords": (_STRS, False), "note": (_STR, False),
                  "materials": ("an array of [[situations.materials]] tables", True), "visits": (_INT, True),
                  "legal_days": (_INT, True), "promised_days": (_INT, True), "conditions": (_STRS, True),
                  **{k: (GUIDE_KEYS[k][0], False) for k in ("process", "fee", "fee_basis", "case_type",
                                                            "legal_days_unit", "promised_days_unit")}}
SITUATION_OWN = ("name", "aliases", "keywords", "note")
ENUMS = {"item_type": ITEM_TYPES, "case_type": CASE_TYPES, "decide_level": LEVELS,
         "legal_days_unit": DAY_UNITS, "promised_days_unit": DAY_UNITS}
NONEMPTY_LISTS = ("aliases", "accept_levels", "conditions", "process", "basis", "materials")

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")
_KEY = re.compile(r'^\s*("[^"]+"|[A-Za-z0-9_\-]+)\s*=')


class _KeyLines:
    """Line numbers of keys and tables in one TOML text."""

    def __init__(self, text: str):
        self.lines: dict[tuple[Any, ...], int] = {}
        context: tuple[Any, ...] = ()
        counts: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if m := _HEADER.match(line):
                name = m.group(2).strip('"')
                if m.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    context = (name, index)
                else:
                    context = (name,)
                self.lines.setdefault(context, number)
            elif m := _KEY.match(line):
                self.lines.setdefault(context + (m.group(1).strip('"'),), number)

    def of(self, *path: Any) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1


def _type_ok(value: Any, expected: str) -> bool:
    if expected == _STR:
        return isinstance(value, str) and value.strip() != ""
    if expected == _INT:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if expected == _BOOL:
        return isinstance(value, bool)
    if expected == _STRS:
        return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    if expected == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == _POS:
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if expected == _INTS:
        return isinstance(value, list) and value != [] and all(_type_ok(v, _POS) for v in value)
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _read_toml(path: Path, problems: list[str]) -> tuple[dict[str, Any], _KeyLines] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.append(f"{path}:1: cannot read: {e}")
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = re.search(r"line (\d+)", str(e))
        problems.append(f"{path}:{line.group(1) if line else 1}: not valid TOML: {e}")
        return None
    return data, _KeyLines(text)


def _read_optional_toml(path: Path, problems: list[str]) -> tuple[dict[str, Any], _KeyLines] | None:
    """A file the knowledge base may do without: None when it is absent (nothing to say) or
    unreadable (the problem noted)."""
    return _read_toml(path, problems) if path.exists() else None


def _check_table(data: dict[str, Any], spec: dict[str, tuple[str, bool]], where: str,
                 lines: _KeyLines, prefix: tuple[Any, ...], problems: list[str]) -> bool:
    ok = True
    for key in data:
        if key not in spec:
            problems.append(f"{where}:{lines.of(*prefix, key)}: unknown key `{key}`; "
                            f"known keys are {', '.join(spec)}")
            ok = False
    for key, (expected, required) in spec.items():
        if key not in data:
            if required:
                problems.append(f"{where}:{lines.of(*prefix)}: missing required key `{key}` ({expected})")
                ok = False
            continue
        if not _type_ok(data[key], expected):
            problems.append(f"{where}:{lines.of(*prefix, key)}: `{key}` must be {expected} (not empty)")
            ok = False
    return ok


def _longer_than_the_law(data: dict[str, Any]) -> bool:
    """A promise beyond the legal limit; working days against calendar days (日) at five
    working days in seven, so 10 个工作日 fits within the law's 15 日 and 15 个工作日 does not."""
    promised, legal = data["promised_days"], data["legal_days"]
    if legal == 0:
        return False
    units = (data.get("promised_days_unit", "working"), data.get("legal_days_unit", "working"))
    if units == ("working", "calendar"):
        return promised * 7 > legal * 5
    if units == ("calendar", "working"):
        return promised * 5 > legal * 7
    return promised > legal


def load_guide(path: Path, problems: list[str]) -> Guide | None:
    read = _read_toml(path, problems)
    if read is None:
        return None
    data, lines = read
    before = len(problems)
    if not _check_table(data, GUIDE_KEYS, str(path), lines, (), problems):
        return None
    for key, allowed in ENUMS.items():
        if key in data and data[key] not in allowed:
            problems.append(f"{path}:{lines.of(key)}: `{key}` must be one of {', '.join(allowed)}")
    for level in data["accept_levels"]:
        if level not in LEVELS:
            problems.append(f"{path}:{lines.of('accept_levels')}: unknown level {level!r}; "
                            f"use {', '.join(LEVELS)}")
    for key in NONEMPTY_LISTS:
        if not data[key]:
            problems.append(f"{path}:{lines.of(key)}: `{key}` must not be empty")
    if data["name"] != path.stem:
        problems.append(f"{path}:{lines.of('name')}: name {data['name']!r} differs from the file name")
    if _longer_than_the_law(data):
        problems.append(f"{path}:{lines.of('promised_days')}: promised_days exceeds legal_days")
    materials = _materials(data["materials"], "materials", 0, path, lines, problems)
    faqs = []
    for i, item in enumerate(data["faq"]):
        if _check_table(item, FAQ_KEYS, str(path), lines, ("faq", i), problems):
            faqs.append(Faq(**item))
    situations = _situations(data.get("situations", []), data, path, lines, problems)
    if len(problems) > before:
        return None
    values = {k: _kept(k, v) for k, v in data.items() if k not in ("materials", "faq", "situations")}
    return Guide(**values, materials=tuple(materials), faq=tuple(faqs), situations=situations, source=str(path))


_TUPLES = {f.name for f in fields(Guide) if str(f.type).startswith("tuple[str")}


def _kept(key: str, value: Any) -> Any:
    """A guide's value as the Guide holds it: lists of strings as tuples."""
    return tuple(value) if key in _TUPLES else value


def _materials(items: list[dict], table: str, first: int, path: Path, lines: _KeyLines,
               problems: list[str]) -> tuple[Material, ...]:
    """[[materials]] tables; `first` is the index of the first in the file's count of `table`."""
    out = []
    for i, item in enumerate(items, start=first):
        if _check_table(item, MATERIAL_KEYS, str(path), lines, (table, i), problems):
            if item["form"] not in MATERIAL_FORMS:
                problems.append(f"{path}:{lines.of(table, i, 'form')}: `form` must be one of "
                                f"{', '.join(MATERIAL_FORMS)}")
            out.append(Material(**item))
    return tuple(out)


def _situations(items: list[dict], guide: dict[str, Any], path: Path, lines: _KeyLines,
                problems: list[str]) -> tuple[Situation, ...]:
    """[[situations]] tables: at least two, names unique, no word naming two of them; each one's
    time limits in their units (its own, else the guide's) within the law."""
    if len(items) == 1:
        problems.append(f"{path}:{lines.of('situations', 0)}: a guide with situations needs at least two")
    out: list[Situation] = []
    position: list[int] = []   # of each situation in `items`
    first_material = 0   # [[situations.materials]] tables are counted across the file
    for i, item in enumerate(items):
        where = ("situations", i)
        raw = item.get("materials", [])
        raw = raw if isinstance(raw, list) and all(isinstance(m, dict) for m in raw) else []
        materials = _materials(raw, "situations.materials", first_material, path, lines, problems)
        first_material += len(raw)
        if not _check_table(item, SITUATION_KEYS, str(path), lines, where, problems):
            continue
        for key in ("aliases", "conditions", "materials"):
            if not item[key]:
                problems.append(f"{path}:{lines.of(*where, key)}: `{key}` must not be empty")
        units = {k: item.get(k, guide.get(k, "working")) for k in ("legal_days_unit", "promised_days_unit")}
        if _longer_than_the_law({**item, **units}):
            problems.append(f"{path}:{lines.of(*where, 'promised_days')}: promised_days exceeds legal_days")
        for key, allowed in (("case_type", CASE_TYPES), ("legal_days_unit", DAY_UNITS), ("promised_days_unit", DAY_UNITS)):
            if key in item and item[key] not in allowed:
                problems.append(f"{path}:{lines.of(*where, key)}: `{key}` must be one of {', '.join(allowed)}")
        if any(s.name == item["name"] for s in out):
            problems.append(f"{path}:{lines.of(*where, 'name')}: situation {item['name']!r} appears twice")
        own = {k: _kept(k, v) for k, v in item.items() if k not in SITUATION_OWN and k != "materials"}
        out.append(Situation(name=item["name"], aliases=tuple(item["aliases"]), keywords=tuple(item.get("keywords", ())),
                             note=item.get("note", ""), fields=tuple(sorted(own.items())) + (("materials", materials),)))
        position.append(i)
    for situation, word, other in shared_words(tuple(out)):
        i = position[out.index(situation)]
        key = next((k for k in ("aliases", "keywords") if word in map(normalise, items[i].get(k, []))), "name")
        problems.append(f"{path}:{lines.of('situations', i, key)}: situation word {word!r} of {situation.name!r} "
                        f"also names {other.name!r}")
    return tuple(out)


def _check_unique(guides: list[Guide], problems: list[str]) -> None:
    owner: dict[str, str] = {}
    for guide in sorted(guides, key=lambda g: g.source):
        lines = _KeyLines(Path(guide.source).read_text(encoding="utf-8"))
        if guide.name in owner:
            problems.append(f"{guide.source}:{lines.of('name')}: duplicate name {guide.name!r} "
                            f"(also {owner[guide.name]})")
        owner.setdefault(guide.name, guide.source)
    claimed: dict[str, str] = {g.name: g.name for g in guides}
    for guide in sorted(guides, key=lambda g: g.source):
        lines = _KeyLines(Path(guide.source).read_text(encoding="utf-8"))
        for alias in guide.aliases:
            other = claimed.get(alias)
            if other is not None and other != guide.name:
                problems.append(f"{guide.source}:{lines.of('aliases')}: alias {alias!r} is also claimed by {other}")
            claimed.setdefault(alias, guide.name)


def _load_synonyms(path: Path, problems: list[str]) -> dict[str, str]:
    read = _read_optional_toml(path, problems)
    if read is None:
        return {}
    data, lines = read
    unknown = [k for k in data if k != "synonyms"]
    for key in unknown:
        problems.append(f"{path}:{lines.of(key)}: unknown table `{key}`; only [synonyms] belongs here")
    table = data.get("synonyms", {})
    out = {}
    for word, official in table.items():
        if not isinstance(official, str) or not official.strip():
            problems.append(f"{path}:{lines.of('synonyms', word)}: {word!r} must map to a non-empty string")
        elif official == word:
            problems.append(f"{path}:{lines.of('synonyms', word)}: {word!r} maps to itself")
        else:
            out[word] = official
    return out


def _load_intents(path: Path, problems: list[str]) -> tuple[dict, dict, dict]:
    if not path.exists():
        problems.append(f"{path}:1: missing: the intent phrases are required")
        return {}, {}, {}
    read = _read_toml(path, problems)
    if read is None:
        return {}, {}, {}
    data, lines = read
    intents, aspects, menu = {}, {}, {}
    for key, table in data.items():
        if key == "aspects":
            for aspect, phrases in table.items():
                if not _type_ok(phrases, _STRS):
                    problems.append(f"{path}:{lines.of('aspects', aspect)}: aspect `{aspect}` must be {_STRS}")
                else:
                    aspects[aspect] = tuple(phrases)
        elif key == "menu":
            for menu_key, intent in table.items():
                if intent not in INTENTS + ("guide",):
                    problems.append(f"{path}:{lines.of('menu', menu_key)}: menu key {menu_key!r} names "
                                    f"unknown intent {intent!r}")
                else:
                    menu[menu_key] = intent
        elif key in INTENTS:
            if set(table) - {"phrases"} or not _type_ok(table.get("phrases"), _STRS):
                problems.append(f"{path}:{lines.of(key)}: [{key}] needs exactly `phrases` ({_STRS})")
            else:
                intents[key] = tuple(table["phrases"])
        else:
            problems.append(f"{path}:{lines.of(key)}: unknown table [{key}]; expected one of "
                            f"{', '.join(INTENTS)}, aspects, menu")
    return intents, aspects, menu


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


class _Where:
    """Problems in one file, each at the line of the key it is about."""

    def __init__(self, path: Path, lines: _KeyLines, problems: list[str]):
        self.path, self.lines, self.problems = path, lines, problems

    def add(self, where: tuple[Any, ...], message: str) -> None:
        self.problems.append(f"{self.path}:{self.lines.of(*where)}: {message}")

    def table(self, data: dict[str, Any], spec: dict[str, tuple[str, bool]], where: tuple[Any, ...]) -> bool:
        return _check_table(data, spec, str(self.path), self.lines, where, self.problems)


def _periods(texts: list[str], where: tuple[Any, ...], key: str, p: _Where) -> tuple[Period, ...]:
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


def _services(names: list[str], level: str, which: str, guides: dict[str, Guide],
              where: tuple[Any, ...], p: _Where) -> frozenset[str]:
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


def _load_centers(path: Path, guides: dict[str, Guide], problems: list[str]) -> Centers:
    got = _read_optional_toml(path, problems)
    if got is None:
        return Centers()
    data, lines = got
    p = _Where(path, lines, problems)
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
            if key in item and not lo <= item[key] <= hi:
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


def load_knowledge(directory: Path | str) -> Knowledge:
    """Load everything under `directory`; raise KnowledgeError listing every problem."""
    directory = Path(directory)
    problems: list[str] = []
    guide_dir = directory / "guides"
    if not guide_dir.is_dir():
        raise KnowledgeError([f"{guide_dir}:1: no guides folder"])
    guides = [g for p in sorted(guide_dir.glob("*.toml")) if (g := load_guide(p, problems))]
    if not guides and not problems:
        problems.append(f"{guide_dir}:1: no guides found")
    _check_unique(guides, problems)
    synonyms = _load_synonyms(directory / "synonyms.toml", problems)
    intents, aspects, menu = _load_intents(directory / "intents.toml", problems)
    by_name = {g.name: g for g in guides}
    centers = _load_centers(directory / "centers.toml", by_name, problems)
    referrals = load_referrals(directory / "referrals.toml", by_name, problems, _read_optional_toml)
    bundles = load_bundles(directory / "bundles", by_name, problems, _read_toml)
    examples = check_clashes(load_examples(directory, by_name, referrals, problems, bundles),
                             lambda q: normalise(q, synonyms), problems)
    if problems:
        raise KnowledgeError(problems)
    return Knowledge(guides=by_name, synonyms=synonyms, intents=intents, aspects=aspects, menu=menu,
                     centers=centers, referrals=referrals, examples=tuple(examples), bundles=bundles)
