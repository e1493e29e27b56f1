"""Where a problem of the knowledge base is told: at `file:line` for check-kb and the files, at a
field (`materials[2].form`) for a document edited in the console or sent to the API.

The checks of a guide or a bundle name what they are about by its path in the document —
`("situations", 0, "materials", 1, "form")` — with a code and its parameters (for a message in
Chinese) and the English wording check-kb prints; a report turns the path into a line of the
file or a field name. TOML parsers do not keep line numbers, so `KeyLines` reads them off the
text: good enough to point a person at the right line for a missing, unknown or wrong key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

Where = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    """One problem of a document: `field` a path such as `fee`, `materials[2].form`,
    `situations[0].aliases`, `examples[3]` ("" for the document as a whole); `code` and `params`
    what it is, for a message of our own; `text` the wording check-kb prints."""

    field: str
    code: str
    params: dict = field(default_factory=dict)
    text: str = ""


class Report(Protocol):
    def add(self, where: Where, code: str, params: dict, text: str) -> None: ...


def field_path(where: Where) -> str:
    """("situations", 0, "materials", 1, "form") → "situations[0].materials[1].form"."""
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class DocumentReport:
    """The problems of one document, each at its field."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: Where, code: str, params: dict, text: str) -> None:
        self.problems.append(Problem(field_path(where), code, dict(params), text))


class Counted:
    """A report that counts what passes through it."""

    def __init__(self, report: Report):
        self.report, self.count = report, 0

    def add(self, where: Where, code: str, params: dict, text: str) -> None:
        self.count += 1
        self.report.add(where, code, params, text)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")
_KEY = re.compile(r'^\s*("[^"]+"|[A-Za-z0-9_\-]+)\s*=')


class KeyLines:
    """Line numbers of keys and tables in one TOML text. An array of tables nested in another
    (`[[situations.materials]]`) is counted across the file, as its headers are."""

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


def _tables(value: Any) -> list:
    return value if isinstance(value, list) and all(isinstance(v, dict) for v in value) else []


def line_path(data: dict[str, Any], where: Where) -> Where:
    """A document path as `KeyLines` counts: ("situations", 1, "materials", 0, "form") →
    ("situations.materials", <its number among all [[situations.materials]]>, "form")."""
    if len(where) < 4 or not isinstance(where[1], int) or not isinstance(where[3], int):
        return where
    table, i, sub, j = where[:4]
    before = sum(len(_tables(t.get(sub))) for t in _tables(data.get(table))[:i])
    return (f"{table}.{sub}", before + j, *where[4:])


class FileReport:
    """The problems of one TOML file, each at the line of the key it is about."""

    def __init__(self, path: Path | str, lines: KeyLines, problems: list[str], data: dict[str, Any] | None = None):
        self.path, self.lines, self.problems, self.data = path, lines, problems, data or {}

    def line(self, where: Where) -> int:
        return self.lines.of(*line_path(self.data, where))

    def add(self, where: Where, code: str, params: dict, text: str) -> None:
        self.problems.append(f"{self.path}:{self.line(where)}: {text}")


def read_toml(path: Path, problems: list[str]) -> tuple[dict[str, Any], KeyLines] | None:
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
    return data, KeyLines(text)


def read_optional_toml(path: Path, problems: list[str]) -> tuple[dict[str, Any], KeyLines] | None:
    """A file the knowledge base may do without: None when it is absent (nothing to say) or
    unreadable (the problem noted)."""
    return read_toml(path, problems) if path.exists() else None
