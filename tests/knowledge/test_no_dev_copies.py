"""The knowledge base is written from the guides and from how residents live, never from the
questions that measure it: a run of ten characters of a `shared/eval/dev.tsv` question (other than
a service's own name) found in a knowledge file means a question was copied, and the figures the
dev set gives would flatter the matcher."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared"
RUN = 10


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _lines(path: Path) -> list[str]:
    """A text file's lines; a spreadsheet's (an example 事项清单) one line per row of each sheet."""
    if path.suffix != ".xlsx":
        return path.read_text(encoding="utf-8").splitlines()
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        return [" ".join(str(c) for c in row if c is not None)
                for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def copied_runs(questions: list[str], names: list[str], root: Path) -> list[str]:
    """`file:line: run` for each line of the files under `root` holding a run of RUN characters of
    one of `questions`, runs that lie inside a service's name aside."""
    runs = {q[i:i + RUN] for q in questions for i in range(len(q) - RUN + 1)}
    runs = {r for r in runs if not any(r in name for name in names)}
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        for number, line in enumerate(_lines(path), 1):
            hit = next((line[i:i + RUN] for i in range(len(line) - RUN + 1) if line[i:i + RUN] in runs), None)
            if hit is not None:
                found.append(f"{path.relative_to(root)}:{number}: {hit}")
    return found


def test_the_check_finds_a_copied_question_and_lets_a_service_name_pass(tmp_path):
    name = "困难残疾人生活补贴和重度残疾人护理补贴申请"
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "a.toml").write_text(f'name = "{name}"\nq = "俺娘瘫在床上好几年了能领啥钱不"\n',
                                                encoding="utf-8")
    questions = [f"{name}去哪办", "俺娘瘫在床上好几年了能领啥钱不？"]
    assert copied_runs(questions, [name], tmp_path) == ["guides/a.toml:2: 俺娘瘫在床上好几年了"]
    assert copied_runs(questions[:1], [name], tmp_path) == []


def test_the_check_reads_the_cells_of_a_spreadsheet(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["事项名称", "申请条件"])
    book.active.append(["高龄津贴申领", "俺娘瘫在床上好几年了能领啥钱不"])
    book.save(tmp_path / "清单.xlsx")
    assert copied_runs(["俺娘瘫在床上好几年了能领啥钱不？"], [], tmp_path) == ["清单.xlsx:2: 俺娘瘫在床上好几年了"]


@pytest.mark.skipif(not (SHARED / "eval" / "dev.tsv").exists(), reason="shared/eval/dev.tsv is not beside the checkout")
def test_no_knowledge_file_holds_a_dev_question():
    questions = [row["question"] for row in _rows(SHARED / "eval" / "dev.tsv")]
    names = [row["name"] for row in _rows(SHARED / "catalog.tsv")]
    assert copied_runs(questions, names, PROJECT_ROOT / "knowledge") == []
