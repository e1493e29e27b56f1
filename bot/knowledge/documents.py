"""Documents: one guide's or one life event's content as a JSON-able dict, as the store keeps it
(bot/store/guides.py), the console edits it and the API sends it.

A guide document has exactly the keys of a guide file (knowledge/guides/<name>.toml), a life
event's those of a bundle file (knowledge/bundles/<name>.toml), and both

- `examples`: the example questions (相似问) of examples/guides/<name>.txt (examples/bundles/ for
  a life event), one a line, in file order;
- `notes` (optional): the comment lines the file begins with — the editors' notes, such as the
  sources a life event was read from. Residents never see them.

A folder becomes documents (`read_folder`) and documents a folder (`write_folder`): writing what
was read changes nothing a load sees, and writing twice gives the same bytes. Comments elsewhere
in a file (between tables, in an examples file) are not kept.

`check_document` says everything check-kb says of one file — keys, types, enums, time limits,
situations — and what concerns it against the rest of the knowledge base being served: an alias
another guide or life event claims, a life event's step naming no guide, an example question
already meaning something else, a center that accepts the guide at a level it no longer allows.
Each problem names its field (`materials[2].form`).
"""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from bot.knowledge.bundles import check_bundle
from bot.knowledge.centers import check_centers
from bot.knowledge.examples import check_example, label_of
from bot.knowledge.guides import _STRS, alias_claimed, check_guide
from bot.knowledge.loader import KINDS, file_part, load_knowledge
from bot.knowledge.lexical import normalise
from bot.knowledge.model import Guide, Knowledge, Target
from bot.knowledge.problems import DocumentReport, Problem
from bot.knowledge.tomlfile import dumps, header

__all__ = ["KINDS", "Problem", "check_document", "load_knowledge", "read_folder", "write_folder"]

FOLDERS = {"guide": "guides", "bundle": "bundles"}
TAUGHT = "taught:"   # the source of an example staff taught (bot/knowledge/library.py)
# what a center's problem with an edited guide is about, in the guide
CENTER_FIELDS = {"not_accepted_at_level": "accept_levels", "no_window_for": "department"}


def read_folder(directory: Path | str, check: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """The documents of a knowledge folder, guides then life events, each by name; the folder
    must load (KnowledgeError with every `file:line` problem otherwise; `check=False` for one
    just loaded)."""
    directory = Path(directory)
    if check:
        load_knowledge(directory)
    out = []
    for kind, folder in FOLDERS.items():
        for path in sorted((directory / folder).glob("*.toml")):
            text = path.read_text(encoding="utf-8")
            document = tomllib.loads(text)
            document["examples"] = _questions(directory / "examples" / folder / f"{path.stem}.txt")
            if notes := header(text):
                document["notes"] = notes
            out.append((kind, document))
    return out


def _questions(path: Path) -> list[str]:
    """The questions of an examples file, as check-kb reads them."""
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def write_folder(documents: list[tuple[str, dict[str, Any]]], directory: Path | str) -> list[Path]:
    """Write each document as its file and its examples file under `directory`; the files
    written."""
    directory = Path(directory)
    written = []
    for kind, document in sorted(documents, key=lambda d: (d[0], d[1]["name"])):
        name, folder = document["name"], FOLDERS[kind]
        path = directory / folder / f"{name}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(file_part(document), document.get("notes", "")), encoding="utf-8")
        written.append(path)
        examples = directory / "examples" / folder / f"{name}.txt"
        if document.get("examples"):
            examples.parent.mkdir(parents=True, exist_ok=True)
            examples.write_text("".join(f"{q}\n" for q in document["examples"]), encoding="utf-8")
            written.append(examples)
        elif examples.exists():
            examples.unlink()
    return written


def check_document(kind: str, document: Any, knowledge: Knowledge) -> list[Problem]:
    """The problems of `document` (a `kind` document), each naming its field; none when it may
    be saved and published into `knowledge`, the knowledge base being served."""
    report = DocumentReport()
    if kind not in KINDS:
        report.add((), "unknown_kind", {"kind": kind}, f"a document is a guide or a bundle, not {kind!r}")
        return report.problems
    if not isinstance(document, dict):
        report.add((), "not_a_document", {}, "a document is a table of keys and values")
        return report.problems
    data = file_part(document)
    name = data.get("name")
    if isinstance(name, str) and not _file_name(name):
        report.add(("name",), "bad_name", {"name": name}, f"name {name!r} cannot be the name of a file")
    if kind == "guide":
        found: Any = check_guide(data, report)
    else:
        found = check_bundle(data, knowledge.guides, report, _claimed(knowledge, bundle=name))
    examples = _extras(document, report)
    if found is not None and not report.problems:
        if isinstance(found, Guide):
            _against_the_rest(found, knowledge, report)
        _clashes(found.name, examples, knowledge, report)
    return report.problems


def _file_name(name: str) -> bool:
    return (name == name.strip() and not name.startswith(".") and not any(c in name for c in "/\\")
            and all(c.isprintable() for c in name))


def _extras(document: dict[str, Any], report: DocumentReport) -> list[tuple[int, str]]:
    """`examples` and `notes`; the examples that are sound, with their places."""
    notes = document.get("notes", "")
    if not isinstance(notes, str) or any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in notes):
        report.add(("notes",), "wrong_type", {"key": "notes", "expected": "a string"},
                   "`notes` must be lines of text (no control characters)")
    examples = document.get("examples", [])
    if not isinstance(examples, list):
        report.add(("examples",), "wrong_type", {"key": "examples", "expected": _STRS}, f"`examples` must be {_STRS}")
        return []
    return [(i, q) for i, q in enumerate(examples) if check_example(q, ("examples", i), report)]


def _claimed(knowledge: Knowledge, guide: Any = None, bundle: Any = None) -> dict[str, str]:
    """Every name and alias of the guides and life events but the `guide` or `bundle` of that
    name (the one being edited): term → whose."""
    claimed: dict[str, str] = {}
    targets = [*(g for g in knowledge.guides.values() if g.name != guide),
               *(b for b in knowledge.bundles.values() if b.name != bundle)]
    for target in targets:
        for term in (target.name, *target.aliases):
            claimed.setdefault(term, target.name)
    return claimed


def _against_the_rest(guide: Guide, knowledge: Knowledge, report: DocumentReport) -> None:
    claimed = _claimed(knowledge, guide=guide.name)
    claimed.update({r: f"referral {r}" for r in knowledge.referrals})
    if guide.name in claimed:
        report.add(("name",), "already_names", {"term": guide.name, "other": claimed[guide.name]},
                   f"{guide.name!r} already names {claimed[guide.name]}")
    for alias in guide.aliases:
        if alias in claimed:
            alias_claimed(report, alias, claimed[alias])
    for bundle in knowledge.bundles.values():
        if any(step.name == guide.name for step in bundle.elsewhere):
            report.add(("name",), "step_elsewhere", {"name": guide.name, "bundle": bundle.name},
                       f"{guide.name!r} is a step of {bundle.name} handled elsewhere")
    if knowledge.centers.tables:
        _centers(guide, knowledge, report)


def _centers(guide: Guide, knowledge: Knowledge, report: DocumentReport) -> None:
    """The centers that name the guide, checked again with it as edited."""
    now = DocumentReport()
    check_centers(knowledge.centers.tables, {**knowledge.guides, guide.name: guide}, now)
    if not now.problems:
        return
    before = DocumentReport()
    check_centers(knowledge.centers.tables, knowledge.guides, before)
    for p in now.problems:
        if p not in before.problems:
            report.problems.append(Problem(CENTER_FIELDS.get(p.code, ""), p.code, {**p.params, "center": p.field},
                                           f"centers.toml {p.field}: {p.text}"))


def _clashes(name: str, examples: list[tuple[int, str]], knowledge: Knowledge, report: DocumentReport) -> None:
    """An example question already meaning another guide, intent or referral, or no words at all."""
    target = Target("guide", name)
    first: dict[str, Any] = {}
    for example in knowledge.examples:
        if example.target != target and not example.source.startswith(TAUGHT):
            first.setdefault(normalise(example.question, knowledge.synonyms), example)
    for i, question in examples:
        key = normalise(question, knowledge.synonyms)
        if not key:
            report.add(("examples", i), "no_words", {}, "this example has no words the matcher can read")
        elif (seen := first.get(key)) is not None:
            report.add(("examples", i), "example_clash", {"other": label_of(seen.target), "at": seen.source},
                       f"the same question is an example of {label_of(seen.target)} at {seen.source}, "
                       f"so it cannot also mean {label_of(target)}")
