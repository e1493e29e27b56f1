"""check-kb names file:line for every kind of mistake a person editing a guide can make."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.errors import KnowledgeError
from bot.knowledge.loader import load_knowledge

SAMPLE = PROJECT_ROOT / "knowledge" / "guides" / "老年人优待证办理.toml"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    (tmp_path / "guides").mkdir()
    shutil.copy(SAMPLE, tmp_path / "guides" / SAMPLE.name)
    shutil.copy(PROJECT_ROOT / "knowledge" / "intents.toml", tmp_path / "intents.toml")
    (tmp_path / "synonyms.toml").write_text('[synonyms]\n"老人证" = "老年人优待证"\n', encoding="utf-8")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def _problems(kb: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as e:
        load_knowledge(kb)
    return e.value.problems


def test_bundled_knowledge_base_is_valid():
    knowledge = load_knowledge(PROJECT_ROOT / "knowledge")
    assert len(knowledge.guides) >= 10
    for guide in knowledge.guides.values():
        assert guide.materials and guide.conditions and guide.process and guide.faq


def test_unknown_key_is_named_with_its_line(kb):
    guide = kb / "guides" / SAMPLE.name
    _edit(guide, 'fee = "不收费"', 'fee = "不收费"\nfees = "0"')
    [problem] = _problems(kb)
    assert problem.startswith(f"{guide}:{_line_of(guide, 'fees = ')}:") and "unknown key `fees`" in problem


def test_missing_required_key(kb):
    guide = kb / "guides" / SAMPLE.name
    _edit(guide, 'case_type = "承诺件"\n', "")
    [problem] = _problems(kb)
    assert "missing required key `case_type`" in problem


def test_wrong_type_and_enum(kb):
    guide = kb / "guides" / SAMPLE.name
    _edit(guide, "promised_days = 5", 'promised_days = "5天"')
    _edit(guide, 'item_type = "公共服务"', 'item_type = "服务"')
    problems = _problems(kb)
    assert any(f":{_line_of(guide, 'promised_days')}:" in p and "must be an integer" in p for p in problems)


def test_bad_material_is_named_at_its_line(kb):
    guide = kb / "guides" / SAMPLE.name
    _edit(guide, 'form = "原件"\ncopies = 2', 'form = "扫描件"\ncopies = 2')
    [problem] = _problems(kb)
    assert f":{_line_of(guide, '扫描件')}:" in problem and "`form` must be one of" in problem


def test_syntax_error_names_the_line(kb):
    guide = kb / "guides" / SAMPLE.name
    _edit(guide, 'fee = "不收费"', 'fee = "不收费')
    [problem] = _problems(kb)
    assert f"{guide}:{_line_of(guide, 'fee = ')}:" in problem and "not valid TOML" in problem


def test_duplicate_name_and_alias_claimed_twice(kb):
    twin = kb / "guides" / "老年人优待证补办.toml"
    shutil.copy(SAMPLE, twin)
    _edit(twin, 'name = "老年人优待证办理"', 'name = "老年人优待证补办"')
    problems = _problems(kb)
    assert any("alias '老年证' is also claimed by 老年人优待证办理" in p and str(twin) in p for p in problems)
    _edit(twin, 'name = "老年人优待证补办"', 'name = "老年人优待证办理"')
    problems = _problems(kb)
    assert any("differs from the file name" in p for p in problems)


def test_synonym_mapping_to_itself(kb):
    (kb / "synonyms.toml").write_text('[synonyms]\n"老年证" = "老年证"\n', encoding="utf-8")
    [problem] = _problems(kb)
    assert problem.startswith(f"{kb / 'synonyms.toml'}:2:") and "maps to itself" in problem


def test_check_kb_command_exits_1_with_file_line(kb):
    guide = kb / "guides" / SAMPLE.name
    _edit(guide, 'fee = "不收费"', 'fee = "不收费"\ncolour = "red"')
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-kb", str(kb)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"{guide}:{_line_of(guide, 'colour')}: unknown key `colour`" in result.stderr
    ok = subprocess.run([sys.executable, "-m", "bot.cli", "check-kb", str(PROJECT_ROOT / "knowledge")],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr


def test_centers_file_errors_are_named(kb):
    (kb / "centers.toml").write_text(
        '[[center]]\nid = "county"\nname = "县中心"\nlevel = "县（区）"\n\n'
        '[[center]]\nid = "town"\nname = "镇中心"\nlevel = "镇（街道）"\nparent = "nowhere"\n\n'
        '[[center]]\nid = "town"\nname = "重复"\nlevel = "镇（街道）"\nparent = "county"\n', encoding="utf-8")
    problems = _problems(kb)
    assert any(":13:" in p and "duplicate center id 'town'" in p for p in problems)
    assert any(":10:" in p and "parent 'nowhere'" in p for p in problems)


def test_bundled_centers_form_a_county_tree():
    centers = load_knowledge(PROJECT_ROOT / "knowledge").centers
    towns = [c for c in centers.by_id.values() if c.level == "镇（街道）"]
    villages = [c for c in centers.by_id.values() if c.level == "村（社区）"]
    assert len(towns) >= 3 and len(villages) >= 12
    assert set(centers.below("shiqiao")) == {"shiqiao", "shiqiao-dongling", "shiqiao-hexi", "shiqiao-xinmin",
                                             "shiqiao-liujia"}


def test_center_hours_windows_and_services_are_checked_with_lines(kb):
    text = ('[[center]]\nid = "county"\nname = "县中心"\nlevel = "县（区）"\n\n'
            '[[center]]\nid = "town"\nname = "镇中心"\nlevel = "镇（街道）"\nparent = "county"\n'
            'address = "人民路1号"\nphone = "0579-1"\nlat = 29.9\nlon = 120.0\n'
            'accepts = ["*", "没有这个事项"]\n'                      # line 15
            'hours = ["08:30-12:00", "11:00-17:30"]\n\n'             # line 16: overlapping
            '[[center.window]]\nnumber = 1\nname = "综合窗口"\n\n'    # no departments: line 18
            '[[center.shift]]\nname = "午间"\ndays = "holidays"\nperiods = ["12:00-14:00"]\nwindows = [9]\n')
    (kb / "centers.toml").write_text(text, encoding="utf-8")
    problems = _problems(kb)
    path = kb / "centers.toml"
    assert f"{path}:15: `accepts`: no guide named '没有这个事项'" in problems
    assert any(p.startswith(f"{path}:16:") and "overlap" in p for p in problems)
    assert any(p.startswith(f"{path}:18:") and "needs `departments` or `services`" in p for p in problems)
    assert any(p.startswith(f"{path}:24:") and "`days` must be one of workdays, weekends" in p for p in problems)
    assert any(p.startswith(f"{path}:26:") and "[9] are not windows of 'town'" in p for p in problems)


def test_a_center_residents_visit_must_say_where_and_when(kb):
    (kb / "centers.toml").write_text(
        '[[center]]\nid = "county"\nname = "县中心"\nlevel = "县（区）"\n\n'
        '[[center]]\nid = "v"\nname = "村站"\nlevel = "县（区）"\nparent = "county"\n', encoding="utf-8")
    problems = _problems(kb)
    for key in ("address", "phone", "lat", "lon", "hours", "window"):
        assert any(f"needs `{key}`" in p for p in problems), key


def test_bundled_centers_publish_hours_windows_and_what_they_handle():
    knowledge = load_knowledge(PROJECT_ROOT / "knowledge")
    centers = knowledge.centers
    for c in centers.by_id.values():
        assert c.address and c.phone and c.hours and c.windows, c.id
        for name in c.accepts:
            assert c.windows_for(knowledge.guide(name)), (c.id, name)
    town = centers.get("town-center")
    assert {s.days for s in town.shifts} == {"workdays", "weekends"}   # 8+4 错时服务
    card = knowledge.guide("社会保障卡申领")
    assert town.windows_for(card) == (1, 2, 6)


def test_unknown_time_limit_unit_is_named_with_its_line(kb):
    guide = kb / "guides" / SAMPLE.name
    _edit(guide, "promised_days = 5", 'promised_days = 5\npromised_days_unit = "自然日"')
    [problem] = _problems(kb)
    assert problem.startswith(f"{guide}:{_line_of(guide, 'promised_days_unit')}:")
    assert "`promised_days_unit` must be one of working, calendar" in problem


def test_a_promise_in_working_days_is_weighed_against_a_legal_limit_in_calendar_days(kb):
    guide = kb / "guides" / SAMPLE.name
    text = guide.read_text(encoding="utf-8")
    legal = next(line for line in text.splitlines() if line.startswith("legal_days = "))
    _edit(guide, legal, 'legal_days = 15\nlegal_days_unit = "calendar"')
    _edit(guide, "promised_days = 5", "promised_days = 10")
    assert load_knowledge(kb).guides[SAMPLE.stem].legal_days_unit == "calendar"  # 10 个工作日 ≤ 15 日
    _edit(guide, "promised_days = 10", "promised_days = 12")
    [problem] = _problems(kb)
    assert f":{_line_of(guide, 'promised_days = ')}:" in problem and "promised_days exceeds legal_days" in problem
