"""Guides and life events as documents: a folder read and written back changes nothing, and a
document edited in the console is checked as check-kb checks its file, each problem naming the
field an editor has to correct."""

from __future__ import annotations

import copy
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest

from bot.config import PROJECT_ROOT
from bot.errors import KnowledgeError
from bot.knowledge.documents import check_document, load_knowledge, read_folder, write_folder

KNOWLEDGE = PROJECT_ROOT / "knowledge"
KEPT_IN_FILES = ("centers.toml", "synonyms.toml", "intents.toml", "referrals.toml", "examples/intents",
                 "examples/referrals", "examples/out_of_scope.txt")


@pytest.fixture(scope="module")
def documents() -> list[tuple[str, dict]]:
    return read_folder(KNOWLEDGE)


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(KNOWLEDGE)


def _folder(documents: list[tuple[str, dict]], directory: Path, rest: Path = KNOWLEDGE) -> Path:
    """A knowledge folder: the documents written, the rest copied from `rest`."""
    write_folder(documents, directory)
    for part in KEPT_IN_FILES:
        source, target = rest / part, directory / part
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy(source, target)
    return directory


def _served(knowledge) -> tuple:
    """What residents are answered from, wherever it was read."""
    return (sorted((n, replace(g, source="")) for n, g in knowledge.guides.items()),
            sorted((n, replace(b, source="")) for n, b in knowledge.bundles.items()),
            sorted((e.question, e.target.kind, e.target.name) for e in knowledge.examples),
            knowledge.centers, knowledge.referrals, knowledge.synonyms, knowledge.intents)


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_a_folder_exported_and_imported_again_changes_nothing(documents, tmp_path):
    exported = _folder(documents, tmp_path / "a")
    again = read_folder(exported)
    assert again == documents
    write_folder(again, tmp_path / "b")
    written = _files(tmp_path / "b")
    assert written and all(_files(exported)[name] == data for name, data in written.items())
    assert _served(load_knowledge(exported)) == _served(load_knowledge(KNOWLEDGE))


def test_the_knowledge_loaded_from_documents_is_the_folders(documents):
    assert _served(load_knowledge(KNOWLEDGE, documents)) == _served(load_knowledge(KNOWLEDGE))


def test_a_life_events_sources_stay_at_the_top_of_its_file(documents, tmp_path):
    kind, event = next((k, d) for k, d in documents if d["name"] == "身后一件事")
    original = (KNOWLEDGE / "bundles" / "身后一件事.toml").read_text(encoding="utf-8")
    sources = original[:original.index("\nname = ")]
    assert kind == "bundle" and "国发〔2024〕3号" in event["notes"]
    write_folder([(kind, event)], tmp_path)
    assert (tmp_path / "bundles" / "身后一件事.toml").read_text(encoding="utf-8").startswith(sources + "\nname = ")


def test_every_bundled_document_passes_its_check(documents, knowledge):
    assert {d["name"]: check_document(k, d, knowledge) for k, d in documents} == {d["name"]: [] for _, d in documents}


def _set(path: tuple, value: Any) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        node = document
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return edit


def _append(key: str, value: Any) -> Callable[[dict], None]:
    return lambda document: document[key].append(value)


CASES = [   # (document, edit, the field named, what it says)
    ("婚姻登记", _set(("materials", 2, "form"), "扫描件"), "materials[2].form", "`form` must be one of 原件"),
    ("婚姻登记", lambda d: d.pop("fee"), "fee", "missing required key `fee`"),
    ("婚姻登记", _set(("case_type",), "当场办"), "case_type", "`case_type` must be one of 即办件"),
    ("婚姻登记", _set(("situations", 1, "materials", 0, "copies"), "两份"), "situations[1].materials[0].copies",
     "`copies` must be an integer"),
    ("婚姻登记", lambda d: d["situations"][1]["aliases"].append("结婚"), "situations[1].aliases",
     "situation word '结婚' of '离婚登记' also names '结婚登记'"),
    ("婚姻登记", _append("aliases", "老年证"), "aliases", "alias '老年证' is also claimed by 老年人优待证办理"),
    ("婚姻登记", _append("aliases", "身后事"), "aliases", "alias '身后事' is also claimed by 身后一件事"),
    ("居住证申领", _set(("promised_days",), 20), "promised_days", "promised_days exceeds legal_days"),
    ("婚姻登记", _append("examples", "老年证办好要几天"), "examples[{last}]",
     "the same question is an example of guide 老年人优待证办理"),
    ("婚姻登记", _append("examples", "结婚\n离婚"), "examples[{last}]", "an example is one line"),
    ("婚姻登记", lambda d: d.update(name="身后一件事", aliases=["新名字"], examples=[]), "name",
     "'身后一件事' already names 身后一件事"),
    ("身后一件事", _set(("steps", 1, "guide"), "户口注消"), "steps[1].guide", "no guide named '户口注消'"),
    ("身后一件事", _append("aliases", "结婚证"), "aliases", "'结婚证' already names 婚姻登记"),
    ("身后一件事", lambda d: d.update(name="身后", aliases=[], examples=[]), "name",
     "a life event's name ends in 一件事"),
]


@pytest.mark.parametrize("name, edit, field, says", CASES, ids=[c[2] + ": " + c[3][:24] for c in CASES])
def test_a_problem_names_its_field(documents, knowledge, name, edit, field, says):
    kind, document = next((k, copy.deepcopy(d)) for k, d in documents if d["name"] == name)
    edit(document)
    problems = check_document(kind, document, knowledge)
    field = field.format(last=len(document.get("examples", [])) - 1)
    assert [p.field for p in problems] == [field], problems
    assert says in problems[0].text and problems[0].code


def test_a_guide_no_longer_accepted_where_a_center_takes_it_names_its_levels(documents, tmp_path):
    """A village station that names the guide among what it accepts: narrowing the guide's levels
    to the town would leave the station accepting what its level may not."""
    kb = _folder(documents, tmp_path / "kb")
    centers = kb / "centers.toml"
    text = centers.read_text(encoding="utf-8")
    station = text.index('id = "qinghe-xicun"')
    at = text.index('accepts = ["*"]', station)
    centers.write_text(text[:at] + 'accepts = ["老年人优待证办理"]' + text[at + len('accepts = ["*"]'):],
                       encoding="utf-8")
    knowledge = load_knowledge(kb)
    kind, guide = next((k, copy.deepcopy(d)) for k, d in documents if d["name"] == "老年人优待证办理")
    guide["accept_levels"] = ["镇（街道）"]
    [problem] = check_document(kind, guide, knowledge)
    assert problem.field == "accept_levels" and "cannot be accepted at level 村（社区）" in problem.text
    assert problem.params["center"].startswith("center[")


def test_documents_that_do_not_load_are_named_by_document_and_field(documents):
    broken = [(k, {**d, "visits": "一次"}) if d["name"] == "婚姻登记" else (k, d) for k, d in documents]
    with pytest.raises(KnowledgeError) as e:
        load_knowledge(KNOWLEDGE, broken)
    assert any(p.startswith("guide 婚姻登记: visits: `visits` must be an integer") for p in e.value.problems)
