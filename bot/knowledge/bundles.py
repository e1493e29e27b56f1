"""Life events (高效办成一件事): the services one event in a resident's life needs, in order.

```
knowledge/bundles/<name>.toml
  name = "新生儿出生一件事"          ends in 一件事; also the file name
  summary = "…"
  aliases = ["孩子出生办手续", …]
  keywords = [...]                  optional, everyday words as for a guide
  local_check = [...]               optional
  [[steps]]  guide = "出生登记"       a guide of ours …
             note = "…"             … with an optional note for this event
  [[steps]]  name = "出生医学证明"    … or a step handled elsewhere, told as text:
             where = "孩子出生的医院"   where it is done
             note = "…"             what to know about it
```

A bundle is a target of the matcher like a guide (its name is the candidate's name). Its answer
tells every step in order, one material list without repeats (a material several steps need is
listed once, with those steps), and it can be handed to the station as one 代办 request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bot.knowledge.model import Guide

SUFFIX = "一件事"
BUNDLE_KEYS = ("name", "summary", "aliases", "keywords", "local_check", "steps")
STEP_KEYS = ("guide", "name", "where", "note")


@dataclass(frozen=True)
class Step:
    """One service of a life event: a guide of ours (`guide`), or one handled elsewhere (`name`,
    `where`)."""

    name: str
    guide: bool          # a guide of ours, by its name
    where: str = ""
    note: str = ""


@dataclass(frozen=True)
class Bundle:
    name: str
    summary: str
    aliases: tuple[str, ...]
    steps: tuple[Step, ...]
    keywords: tuple[str, ...] = ()
    local_check: tuple[str, ...] = ()
    source: str = ""
    # what the matcher reads of a guide and a bundle has not
    faq: tuple = ()
    conditions: tuple[str, ...] = ()

    @property
    def services(self) -> tuple[str, ...]:
        """Our guides among the steps, in order: the lines of one 代办 request."""
        return tuple(s.name for s in self.steps if s.guide)

    @property
    def elsewhere(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if not s.guide)


@dataclass(frozen=True)
class Needed:
    """A material of the bundle's merged list: named once, with every step that needs it."""

    name: str
    form: str
    required: bool
    steps: tuple[str, ...]
    from_step: str = ""   # an earlier step that gives it (出生医学证明 from the hospital)
    note: str = ""


def merged_materials(bundle: Bundle, guides: dict[str, Guide]) -> list[Needed]:
    """Every material of the bundle's guides in step order, each name once: the steps that need
    it listed with it, required if one of them requires it, and the step that gives it named."""
    done: set[str] = set()   # the steps before this one: a material one of them gives is not brought from home
    found: dict[str, Needed] = {}
    for step in bundle.steps:
        guide = guides.get(step.name) if step.guide else None
        done.add(step.name)
        if guide is None:
            continue
        for m in guide.materials:
            seen = found.get(m.name)
            if seen is None:
                found[m.name] = Needed(name=m.name, form=m.form, required=m.required, steps=(guide.name,),
                                       from_step=m.name if m.name in done else "", note=m.note)
            elif guide.name not in seen.steps:
                found[m.name] = Needed(name=m.name, form=seen.form, required=seen.required or m.required,
                                       steps=(*seen.steps, guide.name), from_step=seen.from_step, note=seen.note)
    return list(found.values())


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def load_bundle(path: Path, guides: dict[str, Guide], problems: list[str], read_toml: Callable,
                claimed: dict[str, str] | None = None) -> Bundle | None:
    """One life event; `claimed`: names and aliases already taken (term → whose)."""
    read = read_toml(path, problems)
    if read is None:
        return None
    data, lines = read
    before = len(problems)
    for key in data:
        if key not in BUNDLE_KEYS:
            problems.append(f"{path}:{lines.of(key)}: unknown key `{key}`; known keys are {', '.join(BUNDLE_KEYS)}")
    for key in ("name", "summary"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(f"{path}:{lines.of(key)}: `{key}` must be a string (not empty)")
    for key in ("aliases", "keywords", "local_check"):
        if key in data and not _strings(data[key]):
            problems.append(f"{path}:{lines.of(key)}: `{key}` must be a list of strings")
    if problems[before:]:
        return None
    name = data["name"].strip()
    if not name.endswith(SUFFIX) or name == SUFFIX:
        problems.append(f"{path}:{lines.of('name')}: a life event's name ends in {SUFFIX} (高效办成一件事), "
                        f"not {name!r}")
    elif name != path.stem:
        problems.append(f"{path}:{lines.of('name')}: name {name!r} differs from the file name")
    claimed = claimed or {}
    for key, terms in (("name", [name]), ("aliases", data.get("aliases", []))):
        for term in terms:
            if term in claimed:
                problems.append(f"{path}:{lines.of(key)}: {term!r} already names {claimed[term]}")
    steps = _steps(path, data.get("steps"), lines, guides, problems)
    if len(problems) > before:
        return None
    return Bundle(name=name, summary=data["summary"].strip(), aliases=tuple(data.get("aliases", ())),
                  steps=steps, keywords=tuple(data.get("keywords", ())),
                  local_check=tuple(data.get("local_check", ())), source=str(path))


def _steps(path: Path, tables: object, lines, guides: dict[str, Guide], problems: list[str]) -> tuple[Step, ...]:
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        problems.append(f"{path}:{lines.of('steps')}: a life event needs its [[steps]], in order")
        return ()
    steps: list[Step] = []
    seen: dict[str, int] = {}
    for n, table in enumerate(tables):
        line = lines.of("steps", n)
        bad = [k for k in table if k not in STEP_KEYS]
        texts = all(isinstance(table.get(k, ""), str) for k in STEP_KEYS)
        if bad or not texts or ("guide" in table) == ("name" in table):
            problems.append(f"{path}:{line}: a step is either `guide = \"<one of our guides>\"` or `name` and "
                            f"`where` of a step handled elsewhere, with an optional `note`"
                            + (f"; unknown {', '.join(bad)}" if bad else ""))
            continue
        if "guide" in table:
            name = table["guide"].strip()
            if name not in guides:
                problems.append(f"{path}:{lines.of('steps', n, 'guide')}: no guide named {name!r} in guides/")
                continue
            step = Step(name=name, guide=True, note=table.get("note", "").strip())
        else:
            name, where = table["name"].strip(), table.get("where", "").strip()
            if not name or not where:
                problems.append(f"{path}:{line}: a step handled elsewhere needs its `name` and `where`")
                continue
            if name in guides:
                problems.append(f"{path}:{lines.of('steps', n, 'name')}: {name!r} is one of our guides: "
                                f"write guide = {name!r}")
                continue
            step = Step(name=name, guide=False, where=where, note=table.get("note", "").strip())
        if step.name in seen:
            problems.append(f"{path}:{line}: {step.name!r} is already step {seen[step.name]}")
            continue
        seen[step.name] = n + 1
        steps.append(step)
    return tuple(steps)


def load_bundles(folder: Path, guides: dict[str, Guide], problems: list[str], read_toml: Callable) -> dict[str, Bundle]:
    """The life events of `folder` (none when it is absent). A bundle's name or alias may not be a
    guide's name or alias, nor another bundle's: a question names one thing."""
    if not folder.is_dir():
        return {}
    claimed = {n: g.name for g in guides.values() for n in (g.name, *g.aliases)}
    bundles: dict[str, Bundle] = {}
    for path in sorted(folder.glob("*.toml")):
        bundle = load_bundle(path, guides, problems, read_toml, claimed)
        if bundle is not None:
            claimed.update({n: bundle.name for n in (bundle.name, *bundle.aliases)})
            bundles[bundle.name] = bundle
    return bundles
