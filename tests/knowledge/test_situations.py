"""Situations (情形) of a guide: what check-kb refuses, with file:line, and what a guide told
for one situation holds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.errors import KnowledgeError
from bot.knowledge.loader import load_knowledge
from bot.knowledge.situations import named_situation

SAMPLE = PROJECT_ROOT / "knowledge" / "guides" / "老年人优待证办理.toml"

FIRST_AND_SECOND = '''
[[situations]]
name = "首次办理"
aliases = ["第一次办", "新办"]
visits = 1
legal_days = 0
promised_days = 5
conditions = ["年满60周岁、还没有办过的。"]

[[situations.materials]]
name = "居民身份证"
form = "原件"
copies = 1
required = true

[[situations]]
name = "遗失补办"
aliases = ["补办", "丢了"]
visits = 1
legal_days = 0
promised_days = 5
conditions = ["证件遗失的。"]

[[situations.materials]]
name = "居民身份证"
form = "原件"
copies = 1
required = true

[[situations.materials]]
name = "遗失声明"
form = "原件"
copies = 1
required = true
'''


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    (tmp_path / "guides").mkdir()
    shutil.copy(PROJECT_ROOT / "knowledge" / "intents.toml", tmp_path / "intents.toml")
    guide = tmp_path / "guides" / SAMPLE.name
    guide.write_text(SAMPLE.read_text(encoding="utf-8") + FIRST_AND_SECOND, encoding="utf-8")
    return tmp_path


def _guide(kb: Path) -> Path:
    return kb / "guides" / SAMPLE.name


def _edit(kb: Path, old: str, new: str, count: int = 1) -> None:
    path = _guide(kb)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _line_of(kb: Path, needle: str, nth: int = 1) -> int:
    found = [number for number, line in enumerate(_guide(kb).read_text(encoding="utf-8").splitlines(), start=1)
             if needle in line]
    return found[nth - 1]


def _problems(kb: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as e:
        load_knowledge(kb)
    return e.value.problems


def test_a_situation_tells_its_own_list_and_shares_the_rest_of_the_guide(kb):
    guide = load_knowledge(kb).guide("老年人优待证办理")
    told = guide.in_situation("遗失补办")
    assert [m.name for m in told.materials] == ["居民身份证", "遗失声明"]
    assert told.conditions == ("证件遗失的。",) and told.title == "老年人优待证办理·遗失补办"
    assert (told.fee, told.process, told.accepting_unit) == (guide.fee, guide.process, guide.accepting_unit)
    assert guide.in_situation("没有这种情形") is guide


def test_a_question_names_the_situation_by_its_words_or_none(kb):
    guide = load_knowledge(kb).guide("老年人优待证办理")
    assert named_situation(guide, "老年證丟了怎麼補辦").name == "遗失补办"     # Traditional, as residents type
    assert named_situation(guide, "第一次办老年证要带什么").name == "首次办理"
    assert named_situation(guide, "laonianzheng diule zenme buban").name == "遗失补办"   # typed in pinyin
    assert named_situation(guide, "老年证怎么办") is None


def test_a_missing_key_is_named_at_the_situation(kb):
    _edit(kb, "visits = 1\nlegal_days = 0\npromised_days = 5\nconditions = [\"证件遗失的。\"]",
          "legal_days = 0\npromised_days = 5\nconditions = [\"证件遗失的。\"]")
    [problem] = _problems(kb)
    assert problem.startswith(f"{_guide(kb)}:{_line_of(kb, '[[situations]]', 2)}:")
    assert "missing required key `visits`" in problem


def test_an_unknown_key_and_a_bad_material_are_named_at_their_lines(kb):
    _edit(kb, 'name = "遗失声明"\nform = "原件"', 'name = "遗失声明"\nform = "扫描件"')
    _edit(kb, 'aliases = ["补办", "丢了"]', 'aliases = ["补办", "丢了"]\nhome = true')
    _edit(kb, 'aliases = ["第一次办", "新办"]', 'aliases = ["第一次办", "新办"]\ncase_type = "马上办"')
    problems = _problems(kb)
    assert f"{_guide(kb)}:{_line_of(kb, '马上办')}: `case_type` must be one of 即办件, 承诺件, 联办件, 上报件" \
        in problems
    form, home = _line_of(kb, 'form = "扫描件"'), _line_of(kb, "home = true")
    assert f"{_guide(kb)}:{form}: `form` must be one of 原件, 复印件, 原件和复印件, 电子件, 原件或电子件" in problems
    assert any(p.startswith(f"{_guide(kb)}:{home}: unknown key `home`") for p in problems)


def test_two_situations_of_one_name_and_a_word_naming_both_are_refused(kb):
    _edit(kb, 'name = "遗失补办"\naliases = ["补办", "丢了"]', 'name = "首次办理"\naliases = ["补办", "新办"]')
    problems = _problems(kb)
    name, aliases = _line_of(kb, 'name = "首次办理"', 2), _line_of(kb, 'aliases = ["补办", "新办"]')
    assert f"{_guide(kb)}:{name}: situation '首次办理' appears twice" in problems
    assert f"{_guide(kb)}:{aliases}: situation word '新办' of '首次办理' also names '首次办理'" in problems


def test_a_single_situation_and_an_empty_list_are_refused(kb):
    text = _guide(kb).read_text(encoding="utf-8")
    _guide(kb).write_text(text[:text.index("\n[[situations]]\nname = \"遗失补办\"")], encoding="utf-8")
    _edit(kb, 'conditions = ["年满60周岁、还没有办过的。"]', "conditions = []")
    problems = _problems(kb)
    assert f"{_guide(kb)}:{_line_of(kb, '[[situations]]')}: a guide with situations needs at least two" in problems
    assert f"{_guide(kb)}:{_line_of(kb, 'conditions = []')}: `conditions` must not be empty" in problems


def test_check_kb_names_the_line_of_a_bad_situation(kb):
    _edit(kb, "promised_days = 5\nconditions = [\"证件遗失的。\"]", "promised_days = 30\nlegal_days_x = 1\n"
          "conditions = [\"证件遗失的。\"]")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-kb", str(kb)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"{_guide(kb)}:{_line_of(kb, 'legal_days_x')}: unknown key `legal_days_x`" in result.stderr


def test_the_bundled_guides_with_situations_tell_each_one_whole():
    knowledge = load_knowledge(PROJECT_ROOT / "knowledge")
    marriage = knowledge.guide("婚姻登记")
    divorce = marriage.in_situation("离婚登记")
    assert divorce.visits == 2 and all(m.required for m in divorce.materials if m.name in ("结婚证", "离婚协议书"))
    wedding = marriage.in_situation("结婚登记")
    assert any("签字声明" in m.name and m.required for m in wedding.materials)
    assert not any("户口簿" in m.name for m in wedding.materials + divorce.materials)
    for name in ("婚姻登记", "残疾人证办理", "户口迁移", "社会保障卡挂失与补换"):
        assert len(knowledge.guide(name).situations) >= 2, name


def test_a_situations_time_limits_are_checked_in_their_units(kb):
    # the law's 15 日 holds a promise of 10 working days, not of 12; the unit comes from the
    # situation, else from the guide
    _edit(kb, "legal_days = 0\npromised_days = 5\nconditions = [\"证件遗失的。\"]",
          "legal_days = 15\nlegal_days_unit = \"calendar\"\npromised_days = 10\nconditions = [\"证件遗失的。\"]")
    load_knowledge(kb)
    _edit(kb, "promised_days = 10\n", "promised_days = 12\n")
    [problem] = _problems(kb)
    assert problem == f"{_guide(kb)}:{_line_of(kb, 'promised_days = 12')}: promised_days exceeds legal_days"
    _edit(kb, "promised_days = 12\n", "promised_days = 10\npromised_days_unit = \"weeks\"\n")
    [problem] = _problems(kb)
    assert problem == (f"{_guide(kb)}:{_line_of(kb, 'weeks')}: `promised_days_unit` must be one of "
                       "working, calendar")
