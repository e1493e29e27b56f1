"""A provincial 事项清单 (.xlsx or .json, GB/T 39046 column names) becomes guide documents that the
knowledge base accepts as they are; what the list lacks is a point for the editor, and what cannot
be imported is said with its row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from bot.config import PROJECT_ROOT
from bot.errors import KnowledgeError
from bot.knowledge.itemlist import over_published, read_item_list
from bot.knowledge.loader import load_guide, load_knowledge
from bot.knowledge.tomlfile import dumps

IMPORTS = PROJECT_ROOT / "knowledge" / "imports"
EXAMPLE_JSON = IMPORTS / "省事项清单示例.json"
EXAMPLE_XLSX = IMPORTS / "省事项清单示例.xlsx"


# ---- a guide document as a TOML file, the way an editor would save it --------------------------

def write_guide(document: dict, folder: Path) -> Path:
    """guides/<name>.toml and examples/guides/<name>.txt of one document."""
    name = document["name"]
    guide = {k: v for k, v in document.items() if k != "examples"}
    path = folder / "guides" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(guide), encoding="utf-8")
    examples = folder / "examples" / "guides" / f"{name}.txt"
    examples.parent.mkdir(parents=True, exist_ok=True)
    examples.write_text("\n".join(document["examples"]) + "\n", encoding="utf-8")
    return path


# ---- lists made for one test -------------------------------------------------------------------

ITEM = {"事项名称": "高龄津贴申领", "事项编码": "T-1", "事项类型": "行政给付", "实施主体": "县民政局",
        "行使层级": "县级、镇（乡、街道）级、村（社区）级", "办件类型": "承诺件", "法定办结时限": "无",
        "承诺办结时限": "15个工作日", "是否收费": "否", "收费依据": "", "申请条件": "年满80周岁；具有本县户籍。",
        "办理流程": "申请；初审；审核；发放", "是否支持预约办理": "是", "是否支持物流快递": "否",
        "到办事现场次数": "1",
        "申请材料": [{"材料名称": "老人居民身份证", "材料形式": "原件", "份数": 1, "是否必备": "是", "所属情形": ""}]}


def _json_list(tmp_path: Path, *items: dict, name: str = "清单.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"事项清单": list(items)}, ensure_ascii=False), encoding="utf-8")
    return path


def _item(**changes: Any) -> dict:
    return {**json.loads(json.dumps(ITEM, ensure_ascii=False)), **changes}


def _workbook(tmp_path: Path, items: list[list], materials: list[list] | None) -> Path:
    book = Workbook()
    book.active.title = "事项清单"
    for row in items:
        book.active.append(row)
    if materials is not None:
        sheet = book.create_sheet("申请材料")
        for row in materials:
            sheet.append(row)
    path = tmp_path / "清单.xlsx"
    book.save(path)
    return path


def _refused(path: Path) -> str:
    with pytest.raises(KnowledgeError) as e:
        read_item_list(path)
    return str(e.value)


# ---- the example files -------------------------------------------------------------------------

def test_the_example_list_becomes_one_guide_per_item_as_the_list_says():
    listed = read_item_list(EXAMPLE_JSON)
    by_name = {d["name"]: d for d in listed.documents}
    assert list(by_name) == ["城乡居民基本养老保险参保登记", "老年人优待证办理", "居住证申领", "社会保障卡挂失与补换"]
    assert listed.unknown_columns == ["权力来源"]

    pension, elderly, residence, card = by_name.values()
    # 时限: 即办 and 无 are on the spot; 15日 counts calendar days, 10个工作日 working days
    assert (pension["legal_days"], pension["promised_days"], pension["case_type"]) == (0, 0, "即办件")
    assert (residence["legal_days"], residence["legal_days_unit"]) == (15, "calendar")
    assert (residence["promised_days"], residence["promised_days_unit"]) == (10, "working")
    assert (elderly["promised_days"], elderly["promised_days_unit"]) == (5, "working")
    # 行使层级 → where it is accepted and decided; 实施主体 → the deciding unit and its department
    assert (elderly["accept_levels"], elderly["decide_level"]) == (["村（社区）", "镇（街道）"], "镇（街道）")
    assert (residence["accept_levels"], residence["decide_level"]) == (["县（区）"], "县（区）")
    assert (pension["department"], pension["deciding_unit"]) == ("人社", "县人力资源和社会保障局")
    assert residence["department"] == "公安" and elderly["department"] == "民政"
    # 是/否, 到办事现场次数, 申请条件 and 办理流程 split into sentences and steps
    assert (elderly["bookable"], elderly["delivery"], elderly["visits"]) == (True, True, 1)
    assert (pension["delivery"], pension["visits"], pension["fee"]) == (False, 0, "不收费")
    assert elderly["conditions"] == ["年满60周岁。", "具有本县户籍。"]
    assert pension["process"][1] == "窗口核对身份，查询有无重复参保，当场办结。" and len(pension["process"]) == 3
    assert [step[:2] for step in elderly["process"]] == ["申请", "受理", "审核", "领证"]
    # 材料形式 as the guides write it: 纸质 is the original, 纸质或电子 either, 原件及复印件 both
    forms = {m["name"]: (m["form"], m["copies"], m["required"]) for d in listed.documents for m in d["materials"]}
    assert forms["近期一寸免冠彩色照片"] == ("原件", 2, True)
    assert forms["近期免冠彩色照片或数码照片回执"] == ("原件或电子件", 1, True)
    assert forms["居住地住址证明"] == ("原件和复印件", 1, True)
    assert forms["困难群体身份证明"] == ("复印件", 1, False)
    # 所属情形 → situations, each with the materials for all and its own
    situations = {s["name"]: [m["name"] for m in s["materials"]] for s in card["situations"]}
    assert situations == {"换卡": ["居民身份证", "原社会保障卡", "近期免冠白底彩色证件照", "委托书和代办人身份证"],
                          "补卡": ["居民身份证", "近期免冠白底彩色证件照", "委托书和代办人身份证"],
                          "挂失": ["居民身份证", "委托书和代办人身份证"]}
    old_card = next(m for m in card["materials"] if m["name"] == "原社会保障卡")
    assert old_card["required"] is False and "“换卡”时需要" in old_card["note"]
    assert all("situations" not in d for d in (pension, elderly, residence))


def test_phone_numbers_are_reported_and_kept_out_of_the_guides():
    listed = read_item_list(EXAMPLE_JSON)
    assert not any("12333" in json.dumps(d, ensure_ascii=False) for d in listed.documents)
    [pension] = [p for p in listed.problems if "城乡居民基本养老保险参保登记" in p]
    assert "item 1" in pension and "咨询电话 12333" in pension and "centers" in pension


def test_the_example_spreadsheet_yields_what_the_json_yields():
    """The spreadsheet is made from the JSON by make_example.py: both say the same."""
    from_xlsx, from_json = read_item_list(EXAMPLE_XLSX), read_item_list(EXAMPLE_JSON)
    assert from_xlsx.documents == from_json.documents
    assert from_xlsx.unknown_columns == ["权力来源"]
    assert "sheet 事项清单 row 3" in from_xlsx.problems[0]   # under the title row and the header


def test_what_the_list_lacks_is_a_safe_default_and_a_point_for_the_editor():
    elderly = read_item_list(EXAMPLE_JSON).documents[1]
    assert (elderly["online"], elderly["proxy"], elderly["home_visit"]) == (False, False, False)
    assert elderly["aliases"] == ["老年人优待证办理"] and elderly["faq"] == []
    checks = elderly["local_check"]
    assert all(c.startswith("导入自省事项清单：") for c in checks)
    for lacking in ("别名", "简介", "网上办", "代办", "上门", "设定依据", "常见问题", "受理单位"):
        assert any(lacking in c for c in checks), lacking
    assert elderly["examples"] == ["老年人优待证办理要带什么材料", "老年人优待证办理在哪里办", "老年人优待证办理要多久"]


def test_every_imported_guide_passes_the_knowledge_base_checks(tmp_path):
    documents = read_item_list(EXAMPLE_XLSX).documents
    for document in documents:
        problems: list[str] = []
        guide = load_guide(write_guide(document, tmp_path / "alone"), problems)
        assert problems == [] and guide is not None
    # and in place of the county's own guides of those names, beside everything else
    kb = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", kb)
    for document in documents:
        write_guide(document, kb)
    knowledge = load_knowledge(kb)
    card = knowledge.guides["社会保障卡挂失与补换"]
    assert [s.name for s in card.situations] == ["换卡", "补卡", "挂失"]
    assert knowledge.guides["居住证申领"].legal_days_unit == "calendar"


def test_an_item_the_county_already_publishes_takes_the_lists_facts_and_keeps_the_countys_words(tmp_path):
    import tomllib

    items = read_item_list(EXAMPLE_JSON)
    kb = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", kb)
    merged_names = []
    for document in items.documents:
        path = kb / "guides" / f"{document['name']}.toml"
        if not path.exists():
            continue
        ours = tomllib.loads(path.read_text(encoding="utf-8"))
        said = (kb / "examples" / "guides" / f"{document['name']}.txt").read_text(encoding="utf-8").splitlines()
        ours["examples"] = [q for q in said if q.strip() and not q.startswith("#")]
        merged = over_published(document, items.given[document["name"]], ours)
        # what residents call it, the summary, FAQ and 代办 stay as the county wrote them
        for kept in ("aliases", "summary", "faq", "proxy", "home_visit", "online", "accepting_unit", "department",
                     "examples"):
            assert merged.get(kept) == ours.get(kept), kept
        # the list's materials and time limits are what the draft now says
        assert merged["materials"] == document["materials"]
        if "legal_days" in items.given[document["name"]]:
            assert (merged["legal_days"], merged.get("legal_days_unit")) == (document["legal_days"],
                                                                              document["legal_days_unit"])
        assert set(ours.get("local_check", [])) <= set(merged["local_check"])
        assert document["basis"][0] in merged["basis"] and set(ours["basis"]) <= set(merged["basis"])
        write_guide(merged, kb)
        merged_names.append(document["name"])
    assert "社会保障卡挂失与补换" in merged_names
    knowledge = load_knowledge(kb)   # the drafts pass the checks beside every other guide
    card = knowledge.guides["社会保障卡挂失与补换"]
    ours_card = tomllib.loads((PROJECT_ROOT / "knowledge" / "guides" / "社会保障卡挂失与补换.toml").read_text("utf-8"))
    ours_aliases = {s["name"]: s["aliases"] for s in ours_card["situations"]}
    assert all(s.aliases == tuple(ours_aliases[s.name]) for s in card.situations if s.name in ours_aliases)


def test_the_imports_folder_is_not_read_as_guides():
    assert "imports" not in {p.name for p in (PROJECT_ROOT / "knowledge" / "guides").iterdir()}
    assert len(load_knowledge(PROJECT_ROOT / "knowledge").guides) == len(
        list((PROJECT_ROOT / "knowledge" / "guides").glob("*.toml")))


# ---- values as provincial lists write them -----------------------------------------------------

@pytest.mark.parametrize("legal, promised, expected", [
    ("20个工作日", "10个工作日", (20, "working", 10, "working")),
    ("15日", "15天", (15, "calendar", 15, "calendar")),
    ("60 个自然日", "即办", (60, "calendar", 0, "working")),
    ("无", "当场办结", (0, "working", 0, "working")),
    ("30日", "无", (30, "calendar", 30, "calendar")),
])
def test_time_limits_are_read_with_their_units(tmp_path, legal, promised, expected):
    [doc] = read_item_list(_json_list(tmp_path, _item(法定办结时限=legal, 承诺办结时限=promised))).documents
    assert (doc["legal_days"], doc["legal_days_unit"], doc["promised_days"], doc["promised_days_unit"]) == expected


def test_a_bare_number_is_taken_as_working_days_for_the_editor_to_check(tmp_path):
    [doc] = read_item_list(_json_list(tmp_path, _item(法定办结时限=20, 承诺办结时限=""))).documents
    assert (doc["legal_days"], doc["legal_days_unit"], doc["promised_days"]) == (20, "working", 20)
    assert any("只写了“20”" in c for c in doc["local_check"])
    assert any("未写承诺办结时限" in c for c in doc["local_check"])


@pytest.mark.parametrize("changes, why", [
    ({"承诺办结时限": "3个月"}, "承诺办结时限 '3个月' is not a time limit"),
    ({"法定办结时限": "15日", "承诺办结时限": "15个工作日"}, "is longer than 法定办结时限"),
    ({"事项类型": "行政处罚"}, "事项类型 '行政处罚' is none of"),
    ({"实施主体": ""}, "no 实施主体"),
    ({"行使层级": "省级"}, "lies above 市"),
    ({"申请材料": []}, "no 申请材料"),
    ({"事项名称": "高龄津贴/申领"}, "file name"),
])
def test_an_item_that_cannot_be_a_guide_is_left_out_and_named(tmp_path, changes, why):
    other = _item(事项名称="临时救助申请", 事项编码="T-2")
    listed = read_item_list(_json_list(tmp_path, _item(**changes), other))
    assert [d["name"] for d in listed.documents] == ["临时救助申请"]
    [problem] = [p for p in listed.problems if "item 1" in p]
    assert why in problem and problem.endswith("item not imported")


def test_situations_need_two_a_single_one_goes_into_the_materials(tmp_path):
    materials = [{"材料名称": "居民身份证", "材料形式": "原件", "份数": 1, "是否必备": "是", "所属情形": ""},
                 {"材料名称": "原证件", "材料形式": "原件", "份数": 1, "是否必备": "是", "所属情形": "换领"}]
    [doc] = read_item_list(_json_list(tmp_path, _item(申请材料=materials))).documents
    assert "situations" not in doc
    assert [m["name"] for m in doc["materials"]] == ["居民身份证", "原证件"]
    assert "“换领”时需要" in doc["materials"][1]["note"]
    assert any("只列了一个情形“换领”" in c for c in doc["local_check"])


def test_unreadable_values_get_a_default_the_editor_is_asked_to_check(tmp_path):
    materials = [{"材料名称": "居民身份证", "材料形式": "拓印件", "份数": "若干", "是否必备": "视情况"}]
    item = _item(办件类型="", 是否支持预约办理="", 到办事现场次数="视情况", 实施主体="某某服务中心", 申请材料=materials)
    [doc] = read_item_list(_json_list(tmp_path, item)).documents
    assert doc["materials"] == [{"name": "居民身份证", "form": "原件", "copies": 1, "required": True}]
    assert (doc["case_type"], doc["bookable"], doc["visits"], doc["department"]) == ("承诺件", False, 1, "某某服务中心")
    for said in ("拓印件", "份数为“若干”", "是否必备为“视情况”", "办件类型为“空”", "是否支持预约办理为“空”",
                 "到办事现场次数为“视情况”", "实施主体“某某服务中心”"):
        assert any(said in c for c in doc["local_check"]), said
    problems: list[str] = []
    assert load_guide(write_guide(doc, tmp_path / "kb"), problems) is not None and problems == []


def test_rows_without_a_name_and_materials_of_no_item_are_reported_with_their_row(tmp_path):
    header = ["事项名称", "事项编码", "事项类型", "实施主体", "行使层级", "法定办结时限", "承诺办结时限", "是否收费",
              "申请条件", "办理流程", "到办事现场次数", "办理地点说明"]
    items = [header,
             ["高龄津贴申领", "T-1", "行政给付", "县民政局", "县级", "无", "15个工作日", "否", "年满80周岁。", "申请；审核", 1, "x"],
             ["", "T-9", "行政给付", "县民政局", "县级", "无", "15个工作日", "否", "", "", 1, ""]]
    materials = [["事项编码", "材料名称", "材料形式", "份数", "是否必备", "材料来源"],
                 ["T-1", "老人居民身份证", "原件", 1, "是", "申请人自备"],
                 ["T-7", "户口簿", "原件", 1, "否", ""]]
    listed = read_item_list(_workbook(tmp_path, items, materials))
    assert [d["name"] for d in listed.documents] == ["高龄津贴申领"]
    assert listed.unknown_columns == ["办理地点说明", "申请材料.材料来源"]
    assert any("sheet 事项清单 row 3: no 事项名称" in p for p in listed.problems)
    assert any("sheet 申请材料 row 3: material '户口簿': 事项编码 'T-7' matches no item" in p for p in listed.problems)


def test_two_items_of_one_code_are_reported_and_the_materials_go_to_the_first(tmp_path):
    header = ["事项名称", "事项编码", "事项类型", "实施主体", "行使层级", "承诺办结时限", "是否收费"]
    items = [header, ["高龄津贴申领", "T-1", "行政给付", "县民政局", "县级", "15个工作日", "否"],
             ["临时救助申请", "T-1", "行政给付", "县民政局", "县级", "15个工作日", "否"]]
    materials = [["事项编码", "材料名称"], ["T-1", "老人居民身份证"]]
    listed = read_item_list(_workbook(tmp_path, items, materials))
    assert [d["name"] for d in listed.documents] == ["高龄津贴申领"]
    assert any("row 3: 事项编码 'T-1' is also '高龄津贴申领'" in p for p in listed.problems)
    assert any("row 3: 临时救助申请: no 申请材料" in p for p in listed.problems)


# ---- files that are not a list: refused whole ---------------------------------------------------

def test_a_file_of_another_kind_is_refused(tmp_path):
    path = tmp_path / "清单.csv"
    path.write_text("事项名称\n高龄津贴申领\n", encoding="utf-8")
    assert "expected .xlsx or .json" in _refused(path)


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "清单.xlsx"
    path.write_text("事项名称,事项编码\n", encoding="utf-8")
    assert "cannot read as an .xlsx workbook" in _refused(path)


def test_a_workbook_without_the_materials_sheet_is_refused(tmp_path):
    path = _workbook(tmp_path, [["事项名称"], ["高龄津贴申领"]], None)
    assert "no 申请材料 sheet" in _refused(path)


def test_a_sheet_without_the_element_names_is_refused(tmp_path):
    path = _workbook(tmp_path, [["名称", "编码"], ["高龄津贴申领", "T-1"]], [["事项编码", "材料名称"]])
    assert "sheet 事项清单: no header row with a 事项名称 column" in _refused(path)


def test_broken_json_is_refused_with_its_line(tmp_path):
    path = tmp_path / "清单.json"
    path.write_text('{"事项清单": [\n  {"事项名称": "高龄津贴申领",}\n]}', encoding="utf-8")
    assert _refused(path).startswith(f"{path}:2: not valid JSON")


@pytest.mark.parametrize("data", [{"items": []}, ["高龄津贴申领"], {"事项清单": [{"事项名称": "x", "申请材料": "身份证"}]}])
def test_json_of_another_shape_is_refused(tmp_path, data):
    path = tmp_path / "清单.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    message = _refused(path)
    assert "expected {\"事项清单\"" in message or "申请材料 must be a list of objects" in message


def test_a_list_without_a_named_item_is_refused(tmp_path):
    assert "no items" in _refused(_json_list(tmp_path, _item(事项名称="")))
