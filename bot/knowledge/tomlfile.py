"""Write a guide or life event as the TOML file a person would write: the keys in the order of
the format (knowledge/README.md), short lists on one line, conditions, process and local_check
one item a line, then the arrays of tables; the same document always gives the same bytes."""

from __future__ import annotations

import json
import math
from typing import Any

# the order of the keys in a file; a key not named here follows, in the order of its name
ORDER = {
    "": ("name", "department", "item_type", "case_type", "summary", "aliases", "keywords", "accept_levels",
         "decide_level", "accepting_unit", "deciding_unit", "conditions", "process", "legal_days",
         "legal_days_unit", "promised_days", "promised_days_unit", "fee", "fee_basis", "online", "online_hint",
         "bookable", "proxy", "proxy_note", "home_visit", "delivery", "visits", "basis", "local_check",
         "steps", "materials", "faq", "situations"),
    "situations": ("name", "aliases", "keywords", "note", "visits", "legal_days", "legal_days_unit",
                   "promised_days", "promised_days_unit", "case_type", "conditions", "process", "fee", "fee_basis",
                   "materials"),
    "materials": ("name", "form", "copies", "required", "note"),
    "faq": ("q", "a"),
    "steps": ("guide", "name", "where", "note"),
}
ONE_A_LINE = ("conditions", "process", "local_check")


def _string(text: str) -> str:
    # JSON's escapes are TOML's; TOML wants DEL escaped too
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")) if not math.isfinite(value) \
            else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"{type(value).__name__} has no TOML form")


def _key(key: str) -> str:
    bare = key != "" and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else _string(key)


def _ordered(table: dict[str, Any], order: tuple[str, ...]) -> list[str]:
    return [k for k in order if k in table] + sorted(k for k in table if k not in order)


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and value != [] and all(isinstance(v, dict) for v in value)


def _table(table: dict[str, Any], path: str, lines: list[str]) -> None:
    keys = _ordered(table, ORDER.get(path.rsplit(".", 1)[-1], ()))
    for key in keys:
        value = table[key]
        if _is_tables(value):
            continue
        if key in ONE_A_LINE and isinstance(value, list) and value:
            lines += [f"{_key(key)} = ["] + [f"  {_value(v)}," for v in value] + ["]"]
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key in keys:
        if _is_tables(table[key]):
            name = f"{path}.{_key(key)}" if path else _key(key)
            for item in table[key]:
                lines += ["", f"[[{name}]]"]
                _table(item, name, lines)


def dumps(document: dict[str, Any], header: str = "") -> str:
    """The TOML text of `document`, after `header` as comment lines."""
    lines = [f"# {line}" if line else "#" for line in header.split("\n")] if header else []
    _table(document, "", lines)
    return "\n".join(lines) + "\n"


def header(text: str) -> str:
    """The comment lines a TOML text begins with, without their `#`: what `dumps` writes back."""
    out = []
    for line in text.split("\n"):
        if not line.startswith("#"):
            break
        out.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(out)
