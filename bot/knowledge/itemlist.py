"""Import a provincial 事项清单 (a spreadsheet or JSON whose columns are GB/T 39046 element names)
as guide documents: one per item, with exactly the keys of a guide TOML file plus `examples`.

```
.xlsx  sheet 事项清单 (or the first): one row per item, a header row of element names
       sheet 申请材料 (or the second): one row per material, linked to its item by 事项编码
.json  {"事项清单": [{"事项名称": …, …, "申请材料": [{"材料名称": …}, …]}, …]} (or the bare list)
```

What the list says becomes the guide's (时限 texts → days and units, 是/否 → true/false, 行使层级
→ where it is accepted and decided, a material's 所属情形 → the guide's situations); what it
lacks (aliases, summary, FAQ, 代办, 上门, 网上办 …) gets a safe default, and each default is
written into `local_check` so the editor sees what to fill in. Phone numbers are not taken:
they live on the centers, and `problems` says so.

A file that cannot be read as a list raises KnowledgeError and yields nothing; an item that
cannot become a guide (no name, an unknown 事项类型, a time limit that is not one …) is left
out and named in `problems` with its row.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import KnowledgeError
from bot.knowledge.guides import longer_than_the_law
from bot.knowledge.loader import GUIDE_KEYS
from bot.knowledge.model import CASE_TYPES, ITEM_TYPES, LEVELS

ITEM_COLUMNS = ("事项名称", "事项编码", "事项类型", "实施主体", "行使层级", "办件类型", "法定办结时限",
                "承诺办结时限", "是否收费", "收费依据", "申请条件", "办理流程", "咨询电话", "监督投诉电话",
                "是否支持预约办理", "是否支持物流快递", "到办事现场次数")
MATERIAL_COLUMNS = ("事项编码", "材料名称", "材料形式", "份数", "是否必备", "所属情形", "备注")
ITEMS, MATERIALS = "事项清单", "申请材料"   # sheet names; in JSON the list and each item's materials
IMPORTED = "导入自省事项清单："              # opens every local_check point the importer writes


@dataclass(frozen=True)
class ItemList:
    documents: list[dict]          # guide documents, in the list's order
    unknown_columns: list[str]     # columns not taken; a materials column as 申请材料.<name>
    problems: list[str]            # items left out and data not taken, each with its row
    given: dict[str, tuple[str, ...]] = field(default_factory=dict)   # name → the guide keys the list itself gave


@dataclass
class _Row:
    where: str                     # "<file>: 事项清单 row 5", for problems
    values: dict[str, str]
    materials: list["_Row"] = field(default_factory=list)


class _Skip(Exception):
    """The item cannot become a guide; the message says why."""


def read_item_list(path: Path) -> ItemList:
    """The guide documents of a 事项清单 file (.xlsx or .json); KnowledgeError when the file
    cannot be read as one."""
    path = Path(path)
    problems: list[str] = []
    unknown: list[str] = []
    if path.suffix.lower() == ".xlsx":
        rows = _read_workbook(path, unknown, problems)
    elif path.suffix.lower() == ".json":
        rows = _read_json(path, unknown, problems)
    else:
        raise KnowledgeError([f"{path}: not a 事项清单 file: expected .xlsx or .json"])
    if not rows:
        raise KnowledgeError([f"{path}: no items: no row has a 事项名称"] + problems)
    documents: list[dict] = []
    given: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()
    for row in rows:
        name = row.values.get("事项名称", "")
        try:
            if name in seen:
                raise _Skip("named twice in the list")
            documents.append(_document(row, problems))
            given[name] = _given(row)
            seen.add(name)
        except _Skip as e:
            problems.append(f"{row.where}: {name}: {e}; item not imported")
    return ItemList(documents=documents, unknown_columns=unknown, problems=problems, given=given)


# The guide keys each column decides, when the list fills it in.
_DECIDES = {"事项类型": ("item_type",), "实施主体": ("deciding_unit",), "行使层级": ("accept_levels", "decide_level"),
            "办件类型": ("case_type",), "法定办结时限": ("legal_days", "legal_days_unit"),
            "承诺办结时限": ("promised_days", "promised_days_unit"), "申请条件": ("conditions",),
            "办理流程": ("process",), "收费依据": ("fee_basis",), "是否支持预约办理": ("bookable",),
            "是否支持物流快递": ("delivery",), "到办事现场次数": ("visits",)}


def _given(row: _Row) -> tuple[str, ...]:
    """The keys of the item's guide that the list itself gave (not a default the importer chose)."""
    v = row.values
    keys = [k for column, ks in _DECIDES.items() if v.get(column, "").strip() for k in ks]
    if _yes_no(v.get("是否收费", "")) is not None:
        keys.append("fee")
    if row.materials:
        keys += ["materials", "situations"]
    return tuple(keys)


def over_published(imported: dict, given: tuple[str, ...], published: dict) -> dict:
    """An item of the list for a guide the county already publishes: what the list gives (its
    time limits, materials, conditions …) replaces ours, and everything it cannot say (aliases,
    summary, FAQ, examples, 代办 and 上门, the county's own notes) stays as the county wrote it. A
    charge the list only says exists (收费，以窗口公示为准) does not replace a fee ours states; a
    situation the list names as ours does keeps our words for it."""
    merged = dict(published)
    for key in given:
        if key == "situations" and "situations" not in imported:
            merged.pop("situations", None)
            continue
        if key == "fee" and imported["fee"] != "不收费" and published.get("fee", "不收费") != "不收费":
            continue
        if key in imported:
            merged[key] = imported[key]
    ours = {s["name"]: s for s in published.get("situations", [])}
    if "situations" in merged and merged is not published:
        merged["situations"] = [{**{k: v for k, v in ours.get(s["name"], {}).items()
                                    if k in ("aliases", "keywords", "note")}, **s,
                                 **({"aliases": ours[s["name"]]["aliases"]} if s["name"] in ours else {})}
                                for s in merged["situations"]]
    basis = imported["basis"][0]
    merged["basis"] = list(published.get("basis", [])) + ([basis] if basis not in published.get("basis", []) else [])
    changed = [k for k in GUIDE_KEYS if merged.get(k) != published.get(k) and k not in ("basis", "local_check")]
    if changed:
        merged["local_check"] = list(published.get("local_check", [])) + [
            f"{IMPORTED}已按省清单更新了{'、'.join(changed)}，其余沿用本县原有内容，请核对后发布。"]
    return {k: merged[k] for k in (*GUIDE_KEYS, "examples") if k in merged}


# ---- reading the file -------------------------------------------------------------------------

def _text(value: Any) -> str:
    """A cell or JSON value as text: numbers without a trailing .0, true/false as 是/否."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _note_unknown(columns: list[str], known: tuple[str, ...], prefix: str, unknown: list[str]) -> None:
    for column in columns:
        name = prefix + column
        if column and column not in known and name not in unknown:
            unknown.append(name)


def _link(items: list[_Row], materials: list[_Row], problems: list[str]) -> list[_Row]:
    """Give each material of a materials sheet to the item of its 事项编码; an item without a
    name is left out."""
    named = []
    for row in items:
        if not row.values.get("事项名称"):
            problems.append(f"{row.where}: no 事项名称; row skipped")
        else:
            named.append(row)
    by_code: dict[str, _Row] = {}
    for row in named:
        code = row.values.get("事项编码", "")
        if code and code in by_code and materials:
            problems.append(f"{row.where}: 事项编码 {code!r} is also {by_code[code].values['事项名称']!r}'s; "
                            f"materials of that code go to the first")
        by_code.setdefault(code, row)
    for material in materials:
        code = material.values.get("事项编码", "")
        if code and code in by_code:
            by_code[code].materials.append(material)
        else:
            problems.append(f"{material.where}: material {material.values.get('材料名称', '')!r}: "
                            f"事项编码 {code!r} matches no item; material skipped")
    return named


def _read_workbook(path: Path, unknown: list[str], problems: list[str]) -> list[_Row]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise KnowledgeError([f"{path}: cannot read as an .xlsx workbook: {e}"]) from e
    try:
        sheets = book.sheetnames
        if len(sheets) < 2:
            raise KnowledgeError([f"{path}: no {MATERIALS} sheet: the items go on the first sheet "
                                  f"({ITEMS}), their materials on a second ({MATERIALS})"])
        items_sheet = ITEMS if ITEMS in sheets else sheets[0]
        materials_sheet = MATERIALS if MATERIALS in sheets else sheets[1]
        items = _sheet_rows(path, book[items_sheet], "事项名称", ITEM_COLUMNS, "", unknown)
        materials = _sheet_rows(path, book[materials_sheet], "材料名称", MATERIAL_COLUMNS,
                                MATERIALS + ".", unknown)
    finally:
        book.close()
    return _link(items, materials, problems)


def _sheet_rows(path: Path, sheet: Any, needed: str, known: tuple[str, ...], prefix: str,
                unknown: list[str]) -> list[_Row]:
    """The rows under the sheet's header row (the first of its first ten rows that holds
    `needed`: a title row above it is common); blank rows skipped."""
    rows = sheet.iter_rows(values_only=True)
    header: list[str] = []
    number = 0
    for number, cells in enumerate(rows, start=1):
        texts = [_text(c) for c in cells]
        if needed in texts:
            header = texts
            break
        if number >= 10:
            break
    if not header:
        raise KnowledgeError([f"{path}: sheet {sheet.title}: no header row with a {needed} column"])
    _note_unknown(header, known, prefix, unknown)
    out = []
    for number, cells in enumerate(rows, start=number + 1):
        values = {h: _text(c) for h, c in zip(header, cells) if h}
        if any(values.values()):
            out.append(_Row(where=f"{path}: sheet {sheet.title} row {number}", values=values))
    return out


def _read_json(path: Path, unknown: list[str], problems: list[str]) -> list[_Row]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise KnowledgeError([f"{path}:{e.lineno}: not valid JSON: {e.msg}"]) from e
    except (OSError, UnicodeDecodeError) as e:
        raise KnowledgeError([f"{path}: cannot read: {e}"]) from e
    items = data.get(ITEMS) if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise KnowledgeError([f"{path}: expected {{\"{ITEMS}\": [items …]}} or a list of items, "
                              f"each an object of GB/T 39046 element names"])
    rows: list[_Row] = []
    for i, item in enumerate(items, start=1):
        where = f"{path}: item {i}"
        _note_unknown([k for k in item if k != MATERIALS], ITEM_COLUMNS, "", unknown)
        row = _Row(where=where, values={k: _text(v) for k, v in item.items() if k != MATERIALS})
        listed = item.get(MATERIALS, [])
        if not isinstance(listed, list) or not all(isinstance(m, dict) for m in listed):
            raise KnowledgeError([f"{where}: {MATERIALS} must be a list of objects"])
        for j, material in enumerate(listed, start=1):
            _note_unknown(list(material), MATERIAL_COLUMNS, MATERIALS + ".", unknown)
            values = {k: _text(v) for k, v in material.items()}
            values.setdefault("事项编码", row.values.get("事项编码", ""))
            if values["事项编码"] != row.values.get("事项编码", ""):
                problems.append(f"{where} {MATERIALS} {j}: 事项编码 {values['事项编码']!r} differs from "
                                f"its item's; taken as the item's")
            row.materials.append(_Row(where=f"{where} {MATERIALS} {j}", values=values))
        rows.append(row)
    return _link(rows, [], problems)


# ---- one item → one guide document ------------------------------------------------------------

# What no 事项清单 says: a point for the editor in every imported guide.
LACKING = ["请补充群众常用的叫法（别名）和常见的说法（关键词）。",
           "请用一两句大白话写明这项服务是什么、谁能办（简介）。",
           "请确认能否网上办理（已按“不能网上办”导入），能的写明在哪里办。",
           "请确认村（社区）能否帮办代办（已按“不能代办”导入），并写明代办说明。",
           "请确认能否为行动不便的群众上门办理（已按“不能上门”导入）。",
           "请补充设定依据（法律、法规的名称和条款）。",
           "请补充几条群众常问的问题和回答（常见问题）。",
           "请补充群众会怎么问（相似问）。"]


def _document(row: _Row, problems: list[str]) -> dict:
    v = row.values
    name = v["事项名称"]
    if re.search(r"[/\\:*?\"<>|]", name) or name.startswith("."):
        raise _Skip("a 事项名称 is also a file name and may not hold / \\ : * ? \" < > |")
    checks: list[str] = []
    item_type = v.get("事项类型", "")
    if not item_type:
        item_type = "公共服务"
        checks.append("省清单未写事项类型，已按“公共服务”导入，请核对。")
    elif item_type not in ITEM_TYPES:
        raise _Skip(f"事项类型 {item_type!r} is none of {', '.join(ITEM_TYPES)}")
    unit = v.get("实施主体", "")
    if not unit:
        raise _Skip("no 实施主体: who decides it is not known")
    legal, legal_unit = _limit(v, "法定办结时限", checks) or (0, "working")
    promised, promised_unit = _limit(v, "承诺办结时限", checks) or (legal, legal_unit)
    if longer_than_the_law({"promised_days": promised, "promised_days_unit": promised_unit,
                            "legal_days": legal, "legal_days_unit": legal_unit}):
        raise _Skip(f"承诺办结时限 {v['承诺办结时限']!r} is longer than 法定办结时限 {v['法定办结时限']!r}")
    accept, decide = _levels(v.get("行使层级", ""), checks)
    department = _department(unit, checks)
    places = [{"村（社区）": "村（社区）便民服务站", "镇（街道）": "镇（街道）便民服务中心",
               "县（区）": "县（区）政务服务中心"}[level] for level in accept]
    place = "或".join(filter(None, ("、".join(places[:-1]), places[-1])))
    checks.append("请写明受理单位（哪个中心的哪个窗口受理）。")
    fee, fee_basis = _fee(v, checks)
    code = v.get("事项编码", "")
    materials, situations = _materials(row, checks)
    conditions = _parts(v.get("申请条件", "")) or ["具体申请条件请向受理窗口咨询。"]
    visits = _visits(v.get("到办事现场次数", ""), checks)
    for situation in situations:
        situation.update(visits=visits, legal_days=legal, promised_days=promised, conditions=conditions)
    doc: dict[str, Any] = {
        "name": name, "department": department, "item_type": item_type,
        "case_type": _case_type(v.get("办件类型", ""), promised, checks),
        "summary": f"{name}，由{unit}办理。", "aliases": [name],
        "accept_levels": accept, "decide_level": decide,
        "accepting_unit": f"{place}{department}窗口", "deciding_unit": unit,
        "conditions": conditions,
        "process": _parts(v.get("办理流程", "")) or ["到受理窗口提交申请材料，窗口受理后按规定办理。"],
        "legal_days": legal, "legal_days_unit": legal_unit,
        "promised_days": promised, "promised_days_unit": promised_unit,
        "fee": fee, "fee_basis": fee_basis,
        "online": False, "bookable": _flag(v, "是否支持预约办理", checks),
        "proxy": False, "home_visit": False, "delivery": _flag(v, "是否支持物流快递", checks),
        "visits": visits,
        "basis": [f"省政务服务事项清单（事项编码 {code}）" if code else "省政务服务事项清单"],
        "materials": materials, "faq": [],
    }
    if not v.get("申请条件"):
        checks.append("省清单未写申请条件，请补充（每条写成一句完整的话）。")
    if not v.get("办理流程"):
        checks.append("省清单未写办理流程，请按先后补充办理步骤。")
    checks += LACKING
    if situations:
        doc["situations"] = situations
    doc["local_check"] = [IMPORTED + c for c in checks]
    phones = [f"{c} {v[c]}" for c in ("咨询电话", "监督投诉电话") if v.get(c)]
    if phones:
        problems.append(f"{row.where}: {name}: {', '.join(phones)} not imported: phone numbers are "
                        f"kept on the centers (centers.toml), not in guides")
    ordered = {k: doc[k] for k in GUIDE_KEYS if k in doc}
    ordered["examples"] = [f"{name}要带什么材料", f"{name}在哪里办", f"{name}要多久"]
    return ordered


_INSTANT = ("即办", "即时办结", "当场办结", "立即办结", "当场", "即时", "当日办结")
_NONE = ("无", "无时限", "不限", "—", "-", "/")


def _limit(v: dict[str, str], column: str, checks: list[str]) -> tuple[int, str] | None:
    """A 时限 text as (days, unit): 20个工作日 → (20, working), 15日 or 15天 → (15, calendar),
    即办 → 0 (and 无 for the legal limit: none set by law); None when not given. A bare number is
    taken as working days, with a point to check."""
    text = re.sub(r"\s", "", v.get(column, ""))
    legal = column == "法定办结时限"
    if not text or (text in _NONE and not legal):
        checks.append("省清单未写法定办结时限，已按“法律未规定时限”导入，请核对。" if legal else
                      "省清单未写承诺办结时限，已按法定办结时限导入，请核对本县的承诺时限。")
        return None
    if text in _INSTANT or text == "0" or text in _NONE:
        return 0, "working"
    if m := re.fullmatch(r"(\d+)个?工作日", text):
        return int(m.group(1)), "working"
    if m := re.fullmatch(r"(\d+)个?(?:自然日|日|天)", text):
        return int(m.group(1)), "calendar"
    if text.isdigit():
        checks.append(f"省清单的{column}只写了“{text}”，未写单位，已按{text}个工作日导入，请核对。")
        return int(text), "working"
    raise _Skip(f"{column} {v[column]!r} is not a time limit such as 20个工作日, 15日 or 即办")


def _levels(text: str, checks: list[str]) -> tuple[list[str], str]:
    """行使层级 (县级、镇（乡、街道）级 …) as where it is accepted and where decided: decided at
    the highest level named, accepted at each level named up to the county."""
    found: set[str] = set()
    above = False
    for part in filter(None, re.split(r"[、，,；;/\s]+(?![^（(]*[）)])", text)):
        if "村" in part or "社区" in part:
            found.add("村（社区）")
        elif "镇" in part or "乡" in part or "街道" in part:
            found.add("镇（街道）")
        elif "设区的市" in part:
            found.add("市")
        elif "县" in part or "区" in part:
            found.add("县（区）")
        elif "市" in part:
            found.add("市")
        elif "省" in part or "国家" in part:
            above = True
    if not found:
        if above:
            raise _Skip(f"行使层级 {text!r} lies above 市, beyond what a county's guide says")
        checks.append(f"省清单的行使层级为“{text or '空'}”，已按镇（街道）受理、县（区）办理导入，请核对。")
        return ["镇（街道）"], "县（区）"
    decide = max(found, key=LEVELS.index)
    accept = [level for level in LEVELS[:3] if level in found] or ["县（区）"]
    checks.append(f"省清单的行使层级为“{text}”，已按{'、'.join(accept)}受理、{decide}办理导入：请核对本县哪一级能受理。")
    return accept, decide


_DEPARTMENTS = (("人力资源和社会保障", "人社"), ("人社", "人社"), ("社会保险", "人社"), ("医疗保障", "医保"),
                ("医保", "医保"), ("民政", "民政"), ("公安", "公安"), ("派出所", "公安"), ("卫生健康", "卫健"),
                ("卫健", "卫健"), ("司法", "司法"), ("市场监督管理", "市场监管"), ("市场监管", "市场监管"),
                ("残疾人联合会", "残联"), ("残联", "残联"), ("退役军人", "退役军人事务"), ("农业农村", "农业农村"),
                ("住房和城乡建设", "住房城乡建设"), ("住建", "住房城乡建设"), ("自然资源", "自然资源"),
                ("信访", "信访"))


def _department(unit: str, checks: list[str]) -> str:
    found = next((dept for word, dept in _DEPARTMENTS if word in unit), None)
    if found is None:
        checks.append(f"未能从实施主体“{unit}”看出主管部门，已按实施主体导入，请改为部门简称（民政、人社、医保……）。")
        return unit
    return found


def _case_type(text: str, promised: int, checks: list[str]) -> str:
    given = text if text.endswith("件") or not text else text + "件"
    if given in CASE_TYPES:
        return given
    default = "即办件" if promised == 0 else "承诺件"
    checks.append(f"省清单的办件类型为“{text or '空'}”，已按“{default}”导入，请核对。")
    return default


_YES = ("是", "支持", "有", "可以", "能", "y", "yes", "true", "√", "必备", "必要", "必须")
_NO = ("否", "不支持", "无", "不可以", "不能", "n", "no", "false", "×", "非必备", "非必要", "非必须", "容缺", "可选")


def _yes_no(text: str) -> bool | None:
    t = text.strip().lower()
    return True if t in _YES else False if t in _NO else None


def _flag(v: dict[str, str], column: str, checks: list[str]) -> bool:
    value = _yes_no(v.get(column, ""))
    if value is None:
        checks.append(f"省清单的{column}为“{v.get(column) or '空'}”，已按“否”导入，请核对。")
        return False
    return value


def _fee(v: dict[str, str], checks: list[str]) -> tuple[str, str]:
    charged, basis = _yes_no(v.get("是否收费", "")), v.get("收费依据", "")
    if charged is False:
        return "不收费", basis or "省政务服务事项清单载明本事项不收费。"
    checks.append("请写明收费标准（收多少钱、哪些人可以减免）。")
    if not basis:
        checks.append("省清单未写收费依据，请补充。")
    if charged is None:
        checks.append(f"省清单的是否收费为“{v.get('是否收费') or '空'}”，请核对是否收费。")
        return "是否收费以窗口告知为准", basis or "省政务服务事项清单未载明是否收费。"
    return "收费，收费标准以窗口公示为准", basis or "省政务服务事项清单载明本事项收费。"


_SMALL = {"零": 0, "〇": 0, "一": 1, "两": 2, "二": 2, "三": 3}


def _visits(text: str, checks: list[str]) -> int:
    m = re.fullmatch(r"(?:最多)?(?:跑)?(\d+|[零〇一两二三])次?", re.sub(r"\s", "", text))
    if m is None:
        checks.append(f"省清单的到办事现场次数为“{text or '空'}”，已按1次导入，请核对。")
        return 1
    return int(m.group(1)) if m.group(1).isdigit() else _SMALL[m.group(1)]


_ENUMERATOR = re.compile(r"(?:^|(?<=[\s。；;：:]))(?:\d{1,2}[.、．)）]|[（(]\d{1,2}[)）]|[一二三四五六七八九十]{1,3}、|"
                         r"第[一二三四五六七八九十\d]{1,3}步[：:、]?)(?!\d)")


def _parts(text: str) -> list[str]:
    """申请条件 or 办理流程 as a list, each ending in 。: split at numbered points (1. （1） 一、 第一步)
    and lines, or, when there are none, at 。 and ；."""
    pieces = [p for p in re.split(r"\n+", _ENUMERATOR.sub("\n", text)) if p.strip(" 　；;。")]
    if len(pieces) < 2:
        pieces = re.split(r"[；;]|(?<=。)", text)
    out = []
    for piece in pieces:
        piece = piece.strip(" 　\t；;，,")
        if piece.strip("。"):
            out.append(piece if piece[-1] in "。！？" else piece + "。")
    return out


# ---- materials and situations -----------------------------------------------------------------

_FORM_NOTE = "省清单的材料形式“{}”（{}）不是原件、复印件、原件和复印件、电子件、原件或电子件之一，已按原件导入，请核对。"


def _form(text: str, name: str, checks: list[str]) -> str:
    original = "原件" in text or ("纸质" in text and "复印" not in text)
    copy, electronic = "复印" in text, "电子" in text
    if electronic and original:
        return "原件或电子件"
    if electronic:
        return "电子件"
    if original and copy:
        return "原件和复印件"
    if copy:
        return "复印件"
    if original:
        return "原件"
    checks.append(_FORM_NOTE.format(text or "空", name))
    return "原件"


def _situation_names(text: str) -> list[str]:
    """所属情形: one or several, split at 、，；/ outside brackets (换卡（损坏、到期） is one)."""
    return [s.strip() for s in re.split(r"[、，,；;/](?![^（(]*[）)])", text) if s.strip()]


def _materials(row: _Row, checks: list[str]) -> tuple[list[dict], list[dict]]:
    """The guide's materials and, when the materials name two or more 情形, its situations."""
    common: list[dict] = []
    own: dict[str, list[dict]] = {}
    for m in row.materials:
        v = m.values
        name = v.get("材料名称", "")
        if not name:
            checks.append(f"省清单有一项申请材料没有材料名称（{m.where.split(': ', 1)[-1]}），未导入，请核对。")
            continue
        copies = re.fullmatch(r"(\d+)份?", v.get("份数", "").strip())
        if copies is None and v.get("份数"):
            checks.append(f"省清单的材料“{name}”份数为“{v['份数']}”，已按1份导入，请核对。")
        required = _yes_no(v.get("是否必备", ""))
        if required is None:
            checks.append(f"省清单的材料“{name}”是否必备为“{v.get('是否必备') or '空'}”，已按必备导入，请核对。")
        material = {"name": name, "form": _form(v.get("材料形式", ""), name, checks),
                    "copies": max(1, int(copies.group(1))) if copies else 1,
                    "required": required is not False}
        if v.get("备注"):
            material["note"] = v["备注"]
        situations = _situation_names(v.get("所属情形", ""))
        if not situations:
            common.append(material)
        for situation in situations:
            own.setdefault(situation, []).append(material)
    if not common and not own:
        raise _Skip(f"no {MATERIALS}: a guide tells every material to bring")
    if len(own) < 2:
        for situation, materials in own.items():
            checks.append(f"省清单只列了一个情形“{situation}”，其材料已并入事项的申请材料，请核对。")
            common += [_only_for(m, [situation]) for m in materials]
        return common, []
    guide_materials = list(common)
    for situation, materials in own.items():
        for m in materials:
            if not any(g["name"] == m["name"] for g in guide_materials):
                named = [s for s, ms in own.items() if any(x["name"] == m["name"] for x in ms)]
                guide_materials.append({**_only_for(m, named), "required": False})
    names = "".join(f"“{s}”" for s in own)
    checks.append(f"省清单列出的情形{names}已按各自的材料导入，其余（叫法、申请条件、时限、跑动次数）沿用整个事项的："
                  f"请为每个情形补充群众的叫法并核对。")
    return guide_materials, [{"name": s, "aliases": [s], "materials": common + ms} for s, ms in own.items()]


def _only_for(material: dict, situations: list[str]) -> dict:
    when = "".join(f"“{s}”" for s in situations) + "时需要。"
    note = material.get("note", "")
    return {**material, "note": f"{note.rstrip('。')}；{when}" if note else when}
