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

from bot.knowledge.model import Guide
from bot.knowledge.problems import Counted, FileReport, Report, read_toml

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


def check_bundle(data: dict, guides: dict[str, Guide], report: Report, claimed: dict[str, str] | None = None,
                 stem: str | None = None, source: str = "") -> Bundle | None:
    """The life event `data` describes, or None with its problems reported; `claimed`: names and
    aliases already taken (term → whose); `stem`: the name of its file, which its name must be."""
    problems = Counted(report)
    for key in data:
        if key not in BUNDLE_KEYS:
            problems.add((key,), "unknown_key", {"key": key, "known": list(BUNDLE_KEYS)},
                         f"unknown key `{key}`; known keys are {', '.join(BUNDLE_KEYS)}")
    for key in ("name", "summary"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.add((key,), "wrong_type", {"key": key, "expected": "a string"},
                         f"`{key}` must be a string (not empty)")
    for key in ("aliases", "keywords", "local_check"):
        if key in data and not _strings(data[key]):
            problems.add((key,), "wrong_type", {"key": key, "expected": "a list of strings"},
                         f"`{key}` must be a list of strings")
    if problems.count:
        return None
    name = data["name"].strip()
    if not name.endswith(SUFFIX) or name == SUFFIX:
        problems.add(("name",), "bundle_name", {"name": name, "suffix": SUFFIX},
                     f"a life event's name ends in {SUFFIX} (高效办成一件事), not {name!r}")
    elif stem is not None and name != stem:
        problems.add(("name",), "name_differs", {"name": name}, f"name {name!r} differs from the file name")
    claimed = claimed or {}
    for key, terms in (("name", [name]), ("aliases", data.get("aliases", []))):
        for term in terms:
            if term in claimed:
                problems.add((key,), "already_names", {"term": term, "other": claimed[term]},
                             f"{term!r} already names {claimed[term]}")
    steps = _steps(data.get("steps"), guides, problems)
    if problems.count:
        return None
    return Bundle(name=name, summary=data["summary"].strip(), aliases=tuple(data.get("aliases", ())),
                  steps=steps, keywords=tuple(data.get("keywords", ())),
                  local_check=tuple(data.get("local_check", ())), source=source)


def _steps(tables: object, guides: dict[str, Guide], report: Report) -> tuple[Step, ...]:
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        report.add(("steps",), "no_steps", {}, "a life event needs its [[steps]], in order")
        return ()
    steps: list[Step] = []
    seen: dict[str, int] = {}
    for n, table in enumerate(tables):
        where = ("steps", n)
        bad = [k for k in table if k not in STEP_KEYS]
        texts = all(isinstance(table.get(k, ""), str) for k in STEP_KEYS)
        if bad or not texts or ("guide" in table) == ("name" in table):
            report.add(where, "bad_step", {"unknown": bad},
                       "a step is either `guide = \"<one of our guides>\"` or `name` and "
                       "`where` of a step handled elsewhere, with an optional `note`"
                       + (f"; unknown {', '.join(bad)}" if bad else ""))
            continue
        if "guide" in table:
            name = table["guide"].strip()
            if name not in guides:
                report.add((*where, "guide"), "no_guide", {"name": name}, f"no guide named {name!r} in guides/")
                continue
            step = Step(name=name, guide=True, note=table.get("note", "").strip())
        else:
            name, place = table["name"].strip(), table.get("where", "").strip()
            if not name or not place:
                report.add(where, "step_needs_where", {}, "a step handled elsewhere needs its `name` and `where`")
                continue
            if name in guides:
                report.add((*where, "name"), "step_is_guide", {"name": name},
                           f"{name!r} is one of our guides: write guide = {name!r}")
                continue
            step = Step(name=name, guide=False, where=place, note=table.get("note", "").strip())
        if step.name in seen:
            report.add(where, "step_twice", {"name": step.name, "step": seen[step.name]},
                       f"{step.name!r} is already step {seen[step.name]}")
            continue
        seen[step.name] = n + 1
        steps.append(step)
    return tuple(steps)


def claimed_by_guides(guides: dict[str, Guide]) -> dict[str, str]:
    """Every guide's name and aliases: what a life event may not be called."""
    return {n: g.name for g in guides.values() for n in (g.name, *g.aliases)}


def load_bundles(folder: Path, guides: dict[str, Guide], problems: list[str]) -> dict[str, Bundle]:
    """The life events of `folder` (none when it is absent). A bundle's name or alias may not be a
    guide's name or alias, nor another bundle's: a question names one thing."""
    if not folder.is_dir():
        return {}
    claimed = claimed_by_guides(guides)
    bundles: dict[str, Bundle] = {}
    for path in sorted(folder.glob("*.toml")):
        read = read_toml(path, problems)
        if read is None:
            continue
        data, lines = read
        bundle = check_bundle(data, guides, FileReport(path, lines, problems, data), claimed, path.stem, str(path))
        if bundle is not None:
            claimed.update({n: bundle.name for n in (bundle.name, *bundle.aliases)})
            bundles[bundle.name] = bundle
    return bundles
