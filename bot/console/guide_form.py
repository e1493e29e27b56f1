"""A guide's (or a life event's) document as a plain HTML form and back: every field of the
knowledge format, lists one item a line, materials, FAQ, situations (each with its materials)
and steps as rows that can be added and removed without script.

Form names follow the document: `fee`, `materials.2.form`, `situations.0.materials.1.copies`;
a row is dropped when its `….remove` box is ticked or every field of it is left empty. What a
field holds is converted by the knowledge format's spec (bot/knowledge/loader.py) and left as
typed when it does not convert, so the check names it (`copies` 两份 → “份数” must be a number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from bot.knowledge.bundles import BUNDLE_KEYS, STEP_KEYS
from bot.knowledge.guides import ENUMS, FAQ_KEYS, GUIDE_KEYS, MATERIAL_KEYS, SITUATION_KEYS
from bot.knowledge.model import LEVELS, MATERIAL_FORMS

STR, INT, BOOL, LINES = "a string", "an integer", "true or false", "a list of strings"
NOTES = "notes"   # the editors' notes a file begins with: free text, residents never see it
Spec = dict[str, tuple[Any, bool]]   # key → (a type above, or the spec of a table's rows; required)

MATERIALS: Spec = {k: (t, r) for k, (t, r) in MATERIAL_KEYS.items()}
SITUATION: Spec = {**{k: (t, r) for k, (t, r) in SITUATION_KEYS.items() if k != "materials"},
                   "materials": (MATERIALS, True)}
GUIDE: Spec = {**{k: (t, r) for k, (t, r) in GUIDE_KEYS.items() if k not in ("materials", "faq", "situations")},
               "materials": (MATERIALS, True), "situations": (SITUATION, False), "faq": (dict(FAQ_KEYS), True),
               "notes": (NOTES, False)}
BUNDLE: Spec = {"name": (STR, True), "summary": (STR, True), "aliases": (LINES, True), "keywords": (LINES, False),
                "local_check": (LINES, False), "steps": ({k: (STR, False) for k in STEP_KEYS}, True),
                "notes": (NOTES, False)}
assert set(BUNDLE) == {*BUNDLE_KEYS, "notes"}
SPECS = {"guide": GUIDE, "bundle": BUNDLE}
CHOICES = {**ENUMS, "form": MATERIAL_FORMS}
LEVEL_CHOICES = LEVELS        # accept_levels: boxes to tick


@dataclass
class Field:
    name: str                 # the form's name: materials.2.form
    key: str                  # form
    path: str                 # the document's path, as a check names it: materials[2].form
    type: str                 # str int bool lines levels
    value: Any                # what the input shows
    required: bool
    choices: tuple[str, ...] = ()


@dataclass
class Table:
    name: str                 # materials, situations.0.materials
    key: str
    path: str
    rows: list[list["Field | Table"]] = field(default_factory=list)


def _shown(value: Any, kind: Any) -> Any:
    if value is None:
        return ""
    if kind == LINES:
        return "\n".join(value) if isinstance(value, list) else str(value)
    if kind == BOOL:
        return "true" if value is True else "false" if value is False else str(value)
    return str(value) if not isinstance(value, str) else value


def fields(kind: str, document: Mapping[str, Any], *, extra_rows: tuple[str, ...] = ()) -> list[Field | Table]:
    """The form of a document; `extra_rows` names tables (`materials`, `situations.0.materials`)
    that get one more empty row."""
    return _fields(SPECS[kind], document, "", "", extra_rows)


def _fields(spec: Spec, document: Mapping[str, Any], prefix: str, path: str,
            extra_rows: tuple[str, ...]) -> list[Field | Table]:
    out: list[Field | Table] = []
    for key, (kind, required) in spec.items():
        name, where = prefix + key, path + key
        value = document.get(key)
        if isinstance(kind, dict):
            items = value if isinstance(value, list) else []
            if name in extra_rows:
                items = [*items, {}]
            out.append(Table(name=name, key=key, path=where, rows=[
                _fields(kind, item if isinstance(item, dict) else {}, f"{name}.{i}.", f"{where}[{i}].", extra_rows)
                for i, item in enumerate(items)]))
        elif key == "accept_levels":
            out.append(Field(name, key, where, "levels", list(value) if isinstance(value, list) else [], required,
                             LEVEL_CHOICES))
        else:
            type_ = {STR: "str", INT: "int", BOOL: "bool", LINES: "lines", NOTES: "notes"}.get(kind, "str")
            out.append(Field(name, key, where, type_, _shown(value, kind), required, tuple(CHOICES.get(key, ()))))
    return out


def examples_of(document: Mapping[str, Any]) -> str:
    return "\n".join(document.get("examples") or [])


# -- back from the form ---------------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _value(text: str, kind: Any, required: bool) -> tuple[bool, Any]:
    """(present, value) of one field as typed."""
    if kind == NOTES:
        text = text.replace("\r\n", "\n")
        return bool(text.strip()), text
    text = text.strip() if kind != LINES else text
    if kind == LINES:
        lines = _lines(text)
        return (bool(lines) or required), lines
    if text == "":
        return required, "" if kind == STR else text
    if kind == INT:
        return True, int(text) if re.fullmatch(r"\d+", text) else text
    if kind == BOOL:
        return True, {"true": True, "false": False}.get(text, text)
    return True, text


def _rows(form: Mapping[str, Any], name: str) -> list[int]:
    marks = re.compile(re.escape(name) + r"\.(\d+)\.")
    return sorted({int(m.group(1)) for key in form if (m := marks.match(key))})


def _read(spec: Spec, form: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (kind, required) in spec.items():
        name = prefix + key
        if isinstance(kind, dict):
            rows = []
            for i in _rows(form, name):
                row = f"{name}.{i}."
                if form.get(row + "remove"):
                    continue
                item = _read(kind, form, row)
                if any(v not in ("", [], None) for v in _plain(item)):
                    rows.append(item)
            if rows or required:
                out[key] = rows
        elif key == "accept_levels":
            out[key] = [v for v in form.getall(name, [])] if hasattr(form, "getall") else list(form.get(name) or [])
        else:
            present, value = _value(str(form.get(name, "")), kind, required)
            if present:
                out[key] = value
    return out


def _plain(item: dict[str, Any]) -> list[Any]:
    """An item's own values (not its rows): a row whose fields are all empty is no row."""
    return [v for v in item.values() if not (isinstance(v, list) and v and isinstance(v[0], dict))]


def read_form(kind: str, name: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """The document the form describes; its name is the guide's, whatever was posted."""
    document = _read(SPECS[kind], form, "")
    document["name"] = name
    document["examples"] = _lines(str(form.get("examples", "")))
    return document


def nearest(items: list[Field | Table], path: str) -> str:
    """The path of the field (or table) a problem at `path` is shown beside: the deepest one
    holding it; `examples` for an example; "" when the form has no such field."""
    if path == "examples" or path.startswith("examples["):
        return "examples"
    for item in items:
        if path == item.path or path.startswith(item.path + ".") or path.startswith(item.path + "["):
            if isinstance(item, Table):
                for row in item.rows:
                    if found := nearest(row, path):
                        return found
            return item.path
    return ""
