"""A service guide's keys and their checks, the same for a guide file (check-kb) and a guide
document (the console, the API, an import): keys, types, enums, time limits within the law,
materials, FAQ and situations. Problems go to a report (bot/knowledge/problems.py) at the path
of what they are about."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Collection

from bot.knowledge.lexical import normalise
from bot.knowledge.model import CASE_TYPES, DAY_UNITS, ITEM_TYPES, LEVELS, MATERIAL_FORMS, Faq, Guide, Material, Situation
from bot.knowledge.problems import Counted, Report, Where
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


def type_ok(value: Any, expected: str) -> bool:
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
        return isinstance(value, list) and value != [] and all(type_ok(v, _POS) for v in value)
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def check_table(data: dict[str, Any], spec: dict[str, tuple[str, bool]], where: Where, report: Report) -> bool:
    """Unknown keys, missing required keys and values of the wrong type; True when none."""
    ok = True
    for key in data:
        if key not in spec:
            report.add((*where, key), "unknown_key", {"key": key, "known": list(spec)},
                       f"unknown key `{key}`; known keys are {', '.join(spec)}")
            ok = False
    for key, (expected, required) in spec.items():
        if key not in data:
            if required:
                report.add((*where, key), "missing_key", {"key": key, "expected": expected},
                           f"missing required key `{key}` ({expected})")
                ok = False
            continue
        if not type_ok(data[key], expected):
            report.add((*where, key), "wrong_type", {"key": key, "expected": expected},
                       f"`{key}` must be {expected} (not empty)")
            ok = False
    return ok


def not_one_of(report: Report, where: Where, key: str, allowed: tuple[str, ...]) -> None:
    report.add(where, "not_one_of", {"key": key, "allowed": list(allowed)},
               f"`{key}` must be one of {', '.join(allowed)}")


def empty(report: Report, where: Where, key: str) -> None:
    report.add(where, "empty", {"key": key}, f"`{key}` must not be empty")


def longer_than_the_law(data: dict[str, Any]) -> bool:
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


def _beyond_the_law(report: Report, where: Where) -> None:
    report.add(where, "beyond_legal_days", {}, "promised_days exceeds legal_days")


def check_guide(data: dict[str, Any], report: Report, stem: str | None = None, source: str = "") -> Guide | None:
    """The guide `data` describes, or None with its problems reported; `stem`: the name of the
    file it is read from, which its name must be."""
    problems = Counted(report)
    if not check_table(data, GUIDE_KEYS, (), problems):
        return None
    for key, allowed in ENUMS.items():
        if key in data and data[key] not in allowed:
            not_one_of(problems, (key,), key, allowed)
    for level in data["accept_levels"]:
        if level not in LEVELS:
            problems.add(("accept_levels",), "unknown_level", {"level": level, "levels": list(LEVELS)},
                         f"unknown level {level!r}; use {', '.join(LEVELS)}")
    for key in NONEMPTY_LISTS:
        if not data[key]:
            empty(problems, (key,), key)
    if stem is not None and data["name"] != stem:
        problems.add(("name",), "name_differs", {"name": data["name"]},
                     f"name {data['name']!r} differs from the file name")
    if longer_than_the_law(data):
        _beyond_the_law(problems, ("promised_days",))
    materials = _materials(data["materials"], ("materials",), problems)
    faqs = []
    for i, item in enumerate(data["faq"]):
        if check_table(item, FAQ_KEYS, ("faq", i), problems):
            faqs.append(Faq(**item))
    situations = _situations(data.get("situations", []), data, problems)
    if problems.count:
        return None
    values = {k: kept(k, v) for k, v in data.items() if k not in ("materials", "faq", "situations")}
    return Guide(**values, materials=tuple(materials), faq=tuple(faqs), situations=situations, source=source)


_TUPLES = {f.name for f in fields(Guide) if str(f.type).startswith("tuple[str")}


def kept(key: str, value: Any) -> Any:
    """A guide's value as the Guide holds it: lists of strings as tuples."""
    return tuple(value) if key in _TUPLES else value


def _materials(items: list[dict], where: Where, report: Report) -> tuple[Material, ...]:
    out = []
    for i, item in enumerate(items):
        if check_table(item, MATERIAL_KEYS, (*where, i), report):
            if item["form"] not in MATERIAL_FORMS:
                not_one_of(report, (*where, i, "form"), "form", MATERIAL_FORMS)
            out.append(Material(**item))
    return tuple(out)


def _situations(items: list[dict], guide: dict[str, Any], report: Report) -> tuple[Situation, ...]:
    """[[situations]] tables: at least two, names unique, no word naming two of them; each one's
    time limits in their units (its own, else the guide's) within the law."""
    if len(items) == 1:
        report.add(("situations", 0), "one_situation", {}, "a guide with situations needs at least two")
    out: list[Situation] = []
    position: list[int] = []   # of each situation in `items`
    for i, item in enumerate(items):
        where = ("situations", i)
        raw = item.get("materials", [])
        raw = raw if isinstance(raw, list) and all(isinstance(m, dict) for m in raw) else []
        materials = _materials(raw, (*where, "materials"), report)
        if not check_table(item, SITUATION_KEYS, where, report):
            continue
        for key in ("aliases", "conditions", "materials"):
            if not item[key]:
                empty(report, (*where, key), key)
        units = {k: item.get(k, guide.get(k, "working")) for k in ("legal_days_unit", "promised_days_unit")}
        if longer_than_the_law({**item, **units}):
            _beyond_the_law(report, (*where, "promised_days"))
        for key, allowed in (("case_type", CASE_TYPES), ("legal_days_unit", DAY_UNITS), ("promised_days_unit", DAY_UNITS)):
            if key in item and item[key] not in allowed:
                not_one_of(report, (*where, key), key, allowed)
        if any(s.name == item["name"] for s in out):
            report.add((*where, "name"), "situation_twice", {"name": item["name"]},
                       f"situation {item['name']!r} appears twice")
        own = {k: kept(k, v) for k, v in item.items() if k not in SITUATION_OWN and k != "materials"}
        out.append(Situation(name=item["name"], aliases=tuple(item["aliases"]), keywords=tuple(item.get("keywords", ())),
                             note=item.get("note", ""), fields=tuple(sorted(own.items())) + (("materials", materials),)))
        position.append(i)
    for situation, word, other in shared_words(tuple(out)):
        i = position[out.index(situation)]
        key = next((k for k in ("aliases", "keywords") if word in map(normalise, items[i].get(k, []))), "name")
        report.add(("situations", i, key), "situation_word", {"word": word, "situation": situation.name, "other": other.name},
                   f"situation word {word!r} of {situation.name!r} also names {other.name!r}")
    return tuple(out)


def check_unique(guides: list[Guide], report_of: Callable[[Guide], Report], settled: Collection[str] = ()) -> None:
    """No two guides of one name; no alias of one guide naming another (the first claims it: the
    guides named in `settled` before the others)."""
    guides = sorted(guides, key=lambda g: g.name not in settled)   # stable: otherwise as given
    owner: dict[str, str] = {}
    for guide in guides:
        if guide.name in owner:
            report_of(guide).add(("name",), "duplicate_name", {"name": guide.name, "other": owner[guide.name]},
                                 f"duplicate name {guide.name!r} (also {owner[guide.name]})")
        owner.setdefault(guide.name, guide.source)
    claimed: dict[str, str] = {g.name: g.name for g in guides}
    for guide in guides:
        for alias in guide.aliases:
            other = claimed.get(alias)
            if other is not None and other != guide.name:
                alias_claimed(report_of(guide), alias, other)
            claimed.setdefault(alias, guide.name)


def alias_claimed(report: Report, alias: str, other: str) -> None:
    report.add(("aliases",), "alias_claimed", {"alias": alias, "other": other},
               f"alias {alias!r} is also claimed by {other}")
