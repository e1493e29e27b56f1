"""Life events (高效办成一件事): check-kb names every mistake in a bundle file with its line, and
`frontdesk match` reports a bundle by its name for a question about the whole event while a
question about one of its services still goes to that service."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.errors import KnowledgeError
from bot.knowledge.bundles import merged_materials
from bot.knowledge.loader import load_knowledge

KB = PROJECT_ROOT / "knowledge"
GUIDES = ("出生登记.toml", "城乡居民基本医疗保险参保登记.toml", "社会保障卡申领.toml")
NEWBORN = """name = "新生儿出生一件事"
summary = "孩子出生后要办的几件事。"
aliases = ["出生一件事"]

[[steps]]
name = "出生医学证明"
where = "孩子出生的医院"

[[steps]]
guide = "出生登记"

[[steps]]
guide = "城乡居民基本医疗保险参保登记"

[[steps]]
guide = "社会保障卡申领"
"""


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    (tmp_path / "guides").mkdir()
    for name in GUIDES:
        shutil.copy(KB / "guides" / name, tmp_path / "guides" / name)
    shutil.copy(KB / "intents.toml", tmp_path / "intents.toml")
    (tmp_path / "bundles").mkdir()
    (tmp_path / "bundles" / "新生儿出生一件事.toml").write_text(NEWBORN, encoding="utf-8")
    return tmp_path


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[nth - 1]


def _problems(kb: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as e:
        load_knowledge(kb)
    return e.value.problems


def test_a_valid_bundle_loads_with_its_steps_in_order(kb):
    bundle = load_knowledge(kb).bundle("新生儿出生一件事")
    assert [s.name for s in bundle.steps] == ["出生医学证明", "出生登记", "城乡居民基本医疗保险参保登记", "社会保障卡申领"]
    assert bundle.services == ("出生登记", "城乡居民基本医疗保险参保登记", "社会保障卡申领")
    assert [s.where for s in bundle.elsewhere] == ["孩子出生的医院"]


def test_an_unknown_guide_is_named_at_its_line(kb):
    path = kb / "bundles" / "新生儿出生一件事.toml"
    path.write_text(NEWBORN.replace('guide = "社会保障卡申领"', 'guide = "社保卡办理"'), encoding="utf-8")
    [problem] = _problems(kb)
    assert problem.startswith(f"{path}:{_line_of(path, '社保卡办理')}:") and "no guide named '社保卡办理'" in problem


def test_a_step_given_twice_is_named_at_its_line(kb):
    path = kb / "bundles" / "新生儿出生一件事.toml"
    path.write_text(NEWBORN + '\n[[steps]]\nguide = "出生登记"\n', encoding="utf-8")
    [problem] = _problems(kb)
    assert problem.startswith(f"{path}:{_line_of(path, '[[steps]]', nth=5)}:") and "already step 2" in problem


def test_a_name_that_is_not_a_life_event_is_refused(kb):
    path = kb / "bundles" / "新生儿出生一件事.toml"
    path.write_text(NEWBORN.replace('name = "新生儿出生一件事"', 'name = "新生儿出生"'), encoding="utf-8")
    [problem] = _problems(kb)
    assert problem.startswith(f"{path}:1:") and "ends in 一件事" in problem


def test_a_step_elsewhere_needs_where_and_a_guide_alias_is_not_a_bundle_alias(kb):
    path = kb / "bundles" / "新生儿出生一件事.toml"
    text = NEWBORN.replace('where = "孩子出生的医院"\n', "").replace('["出生一件事"]', '["出生一件事", "报户口"]')
    path.write_text(text, encoding="utf-8")
    problems = _problems(kb)
    assert any(p.startswith(f"{path}:{_line_of(path, 'aliases')}:") and "'报户口' already names 出生登记" in p
               for p in problems), problems
    assert any(p.startswith(f"{path}:{_line_of(path, '[[steps]]')}:") and "needs its `name` and `where`" in p
               for p in problems), problems


def test_check_kb_exits_1_naming_the_bundle_file_and_line(kb):
    path = kb / "bundles" / "新生儿出生一件事.toml"
    path.write_text(NEWBORN.replace('guide = "出生登记"', 'guide = "出生证登记"'), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-kb", str(kb)], capture_output=True, text=True,
                            cwd=PROJECT_ROOT)
    assert result.returncode == 1
    assert f"{path}:{_line_of(path, '出生证登记')}:" in result.stdout + result.stderr


def test_examples_of_a_bundle_the_knowledge_base_lacks_are_refused(kb):
    (kb / "examples" / "bundles").mkdir(parents=True)
    wrong = kb / "examples" / "bundles" / "开店一件事.txt"
    wrong.write_text("开个店要办啥\n", encoding="utf-8")
    [problem] = _problems(kb)
    assert problem.startswith(f"{wrong}:1:") and "'开店一件事' is not a known guide" in problem


def test_the_merged_list_names_each_material_once_with_the_steps_that_need_it(kb):
    knowledge = load_knowledge(kb)
    merged = merged_materials(knowledge.bundle("新生儿出生一件事"), knowledge.guides)
    names = [m.name for m in merged]
    assert len(names) == len(set(names))
    birth = next(m for m in merged if m.name == "出生医学证明")
    assert birth.steps == ("出生登记", "城乡居民基本医疗保险参保登记") and birth.from_step == "出生医学证明"
    every = {m.name for g in knowledge.guides.values() for m in g.materials}
    assert set(names) == every


def test_the_bundled_life_events_are_the_five_national_ones():
    knowledge = load_knowledge(KB)
    assert set(knowledge.bundles) == {"新生儿出生一件事", "身后一件事", "退休一件事", "残疾人服务一件事", "开办小餐饮店一件事"}
    for bundle in knowledge.bundles.values():
        assert bundle.services and all(name in knowledge.guides for name in bundle.services)


def test_frontdesk_match_reports_the_bundle_for_the_event_and_the_guide_for_one_service():
    questions = ["孩子刚出生要办哪些手续", "出生登记要带什么"]
    result = subprocess.run([sys.executable, "-m", "bot.cli", "match", "--kb", str(KB)], input="\n".join(questions),
                            capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(m["q"], m["decision"], m["candidates"][0]["name"]) for m in lines] == [
        ("孩子刚出生要办哪些手续", "answer", "新生儿出生一件事"), ("出生登记要带什么", "answer", "出生登记")]
