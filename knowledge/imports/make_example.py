"""Write 省事项清单示例.xlsx from 省事项清单示例.json, the way a provincial platform exports its
事项清单: a title row, then a header of GB/T 39046 element names; the items on sheet 事项清单,
their materials on sheet 申请材料, linked by 事项编码.

    python knowledge/imports/make_example.py      (needs openpyxl)
"""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
SOURCE, TARGET = HERE / "省事项清单示例.json", HERE / "省事项清单示例.xlsx"


def main() -> None:
    items = json.loads(SOURCE.read_text(encoding="utf-8"))["事项清单"]
    book = Workbook()
    sheet = book.active
    sheet.title = "事项清单"
    columns = [k for k in items[0] if k != "申请材料"]
    sheet.append(["某省政务服务事项清单（示例，内容为虚构）"])
    sheet.append(columns)
    for item in items:
        sheet.append([item.get(c, "") for c in columns])
    materials = book.create_sheet("申请材料")
    material_columns = ["事项编码"] + list(dict.fromkeys(k for i in items for m in i["申请材料"] for k in m))
    materials.append(material_columns)
    for item in items:
        for m in item["申请材料"]:
            materials.append([item["事项编码"]] + [m.get(c, "") for c in material_columns[1:]])
    book.save(TARGET)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
