"""Load and validate the knowledge base: from a knowledge folder, every problem reported as
`file:line: message`; or with the guides and life events given as documents (kept in the store,
bot/knowledge/documents.py) and the rest from the folder, a document's problems at its fields.

The checks themselves live with what they check: guides (bot/knowledge/guides.py), life events
(bundles.py), centers (centers.py), examples and referrals (examples.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Collection, Iterable, Iterator

from bot.errors import KnowledgeError
from bot.knowledge.bundles import Bundle, check_bundle, claimed_by_guides, load_bundles
from bot.knowledge.centers import load_centers
from bot.knowledge.examples import check_clashes, check_example, load_examples, load_referrals, told_in
from bot.knowledge.guides import _STRS, GUIDE_KEYS, check_guide, check_unique, type_ok
from bot.knowledge.lexical import normalise
from bot.knowledge.model import INTENTS, Example, Guide, Knowledge, Target
from bot.knowledge.problems import FileReport, Report, Where, field_path, read_optional_toml, read_toml

__all__ = ["GUIDE_KEYS", "load_guide", "load_knowledge"]

KINDS = ("guide", "bundle")
EXTRA_KEYS = ("examples", "notes")   # of a document, besides its file's keys: its example questions, its editors' notes


def load_guide(path: Path, problems: list[str]) -> Guide | None:
    read = read_toml(path, problems)
    if read is None:
        return None
    data, lines = read
    return check_guide(data, FileReport(path, lines, problems, data), path.stem, str(path))


def _load_synonyms(path: Path, problems: list[str]) -> dict[str, str]:
    read = read_optional_toml(path, problems)
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
    read = read_toml(path, problems)
    if read is None:
        return {}, {}, {}
    data, lines = read
    intents, aspects, menu = {}, {}, {}
    for key, table in data.items():
        if key == "aspects":
            for aspect, phrases in table.items():
                if not type_ok(phrases, _STRS):
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
            if set(table) - {"phrases"} or not type_ok(table.get("phrases"), _STRS):
                problems.append(f"{path}:{lines.of(key)}: [{key}] needs exactly `phrases` ({_STRS})")
            else:
                intents[key] = tuple(table["phrases"])
        else:
            problems.append(f"{path}:{lines.of(key)}: unknown table [{key}]; expected one of "
                            f"{', '.join(INTENTS)}, aspects, menu")
    return intents, aspects, menu


class _Told:
    """The problems of a document loaded with others, as `guide 婚姻登记: materials[2].form: …`."""

    def __init__(self, label: str, problems: list[str]):
        self.label, self.problems = label, problems

    def add(self, where: Where, code: str, params: dict, text: str) -> None:
        at = field_path(where)
        self.problems.append(f"{self.label}: {at}: {text}" if at else f"{self.label}: {text}")


def file_part(document: dict[str, Any]) -> dict[str, Any]:
    """A document without what is not a key of its file (its examples, its notes)."""
    return {k: v for k, v in document.items() if k not in EXTRA_KEYS}


class _Source:
    """One guide or life event to load: its file's keys, where its problems go, and its examples."""

    def __init__(self, data: dict[str, Any], report: Report, stem: str | None, source: str,
                 examples: Any = None):
        self.data, self.report, self.stem, self.source, self.examples = data, report, stem, source, examples


def _from_files(folder: Path, problems: list[str]) -> Iterator[_Source]:
    """Each file read as it is checked, so its problems come in the order of the files."""
    for path in sorted(folder.glob("*.toml")):
        read = read_toml(path, problems)
        if read is not None:
            data, lines = read
            yield _Source(data, FileReport(path, lines, problems, data), path.stem, str(path))


def _from_documents(documents: Iterable[tuple[str, dict]], kind: str, problems: list[str]) -> list[_Source]:
    out = []
    for k, document in sorted(documents, key=lambda d: str(d[1].get("name", ""))):
        if k == kind:
            label = f"{kind} {document.get('name', '')}"
            out.append(_Source(file_part(document), _Told(label, problems), None, label,
                               document.get("examples", [])))
    return out


def _examples(sources: list[_Source], names: set[str], told: dict[str, tuple[Report, int]]) -> list[Example]:
    """The example questions of documents (those of files are read with the rest)."""
    out = []
    for s in sources:
        name = s.data.get("name")
        if name not in names:
            continue
        if not isinstance(s.examples, list):
            s.report.add(("examples",), "wrong_type", {"key": "examples", "expected": _STRS},
                         f"`examples` must be {_STRS}")
            continue
        for i, question in enumerate(s.examples):
            if check_example(question, ("examples", i), s.report):
                source = f"{s.source} examples[{i}]"
                told[source] = (s.report, i)
                out.append(Example(question=question, target=Target("guide", name), source=source))
    return out


def load_knowledge(directory: Path | str, documents: Iterable[tuple[str, dict]] | None = None, *,
                   settled: Collection[str] = ()) -> Knowledge:
    """Load everything under `directory`, or with `documents` ((kind, document) pairs) its guides
    and life events (and their examples) from those and the rest from `directory`; raise
    KnowledgeError listing every problem. The guides named in `settled` claim their names and
    aliases first: a clash is blamed on the other guide."""
    directory = Path(directory)
    problems: list[str] = []
    guide_dir = directory / "guides"
    if documents is None:
        if not guide_dir.is_dir():
            raise KnowledgeError([f"{guide_dir}:1: no guides folder"])
        guide_sources: Iterable[_Source] = _from_files(guide_dir, problems)
        bundle_sources = None
    else:
        documents = list(documents)
        guide_sources = _from_documents(documents, "guide", problems)
        bundle_sources = _from_documents(documents, "bundle", problems)
    guides: list[Guide] = []
    report_of: dict[int, Report] = {}
    for s in guide_sources:
        if (guide := check_guide(s.data, s.report, s.stem, s.source)) is not None:
            guides.append(guide)
            report_of[id(guide)] = s.report
    if not guides and not problems:
        problems.append(f"{guide_dir}:1: no guides found")
    check_unique(guides, lambda g: report_of[id(g)], settled)
    synonyms = _load_synonyms(directory / "synonyms.toml", problems)
    intents, aspects, menu = _load_intents(directory / "intents.toml", problems)
    by_name = {g.name: g for g in guides}
    centers = load_centers(directory / "centers.toml", by_name, problems)
    referrals = load_referrals(directory / "referrals.toml", by_name, problems, read_optional_toml)
    told: dict[str, tuple[Report, int]] = {}
    if bundle_sources is None:
        bundles = load_bundles(directory / "bundles", by_name, problems)
        documented: list[Example] = []
    else:
        bundles = _bundles(bundle_sources, by_name)
        documented = (_examples(bundle_sources, set(bundles), told)
                      + _examples(list(guide_sources), set(by_name), told))
    files = load_examples(directory, by_name, referrals, problems, bundles, documents=documents is not None)
    tell_file = told_in(problems)

    def tell(example: Example, code: str, params: dict, text: str) -> None:
        if example.source in told:
            report, i = told[example.source]
            report.add(("examples", i), code, params, text)
        else:
            tell_file(example, code, params, text)

    examples = check_clashes(documented + files, lambda q: normalise(q, synonyms), tell)
    if problems:
        raise KnowledgeError(problems)
    return Knowledge(guides=by_name, synonyms=synonyms, intents=intents, aspects=aspects, menu=menu,
                     centers=centers, referrals=referrals, examples=tuple(examples), bundles=bundles)


def _bundles(sources: list[_Source], guides: dict[str, Guide]) -> dict[str, Bundle]:
    claimed = claimed_by_guides(guides)
    bundles: dict[str, Bundle] = {}
    for s in sources:
        bundle = check_bundle(s.data, guides, s.report, claimed, None, s.source)
        if bundle is not None:
            claimed.update({n: bundle.name for n in (bundle.name, *bundle.aliases)})
            bundles[bundle.name] = bundle
    return bundles
