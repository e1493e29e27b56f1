"""Matcher speed and memory, on the real knowledge base and on a generated large one.

    .venv/bin/python bench/match_speed.py [--guides 5000] [--questions 2000]

Prints, for each knowledge base: load + index time (with the learned ranker trained and
calibrated on the examples), the memory it adds to the process, and the median and p99 time per
question over our held-out questions (repeated). The generated knowledge base copies the real
guides under invented names and aliases, each with 30 example questions made from the real
guide's examples and its new aliases, so its texts and term lengths look like the real ones.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.library import build  # noqa: E402

CHARS = "安保补办厂城承村镇街道区县证书卡金费税险医疗养老残疾低保婚育房地农机林渔水电气路桥学校企业个体" \
        "登记申请认定审批备案查询发放变更注销延续迁移换领补领复核评估鉴定许可核准奖励扶助救助慰问培训"


def _questions() -> list[str]:
    with (ROOT / "eval" / "heldout" / "questions.tsv").open(encoding="utf-8") as f:
        return [row["question"] for row in csv.DictReader(f, delimiter="\t")]


def _generate(target: Path, count: int) -> None:
    rng = random.Random(7)
    (target / "guides").mkdir(parents=True)
    for name in ("synonyms.toml", "intents.toml"):
        shutil.copy(ROOT / "knowledge" / name, target / name)
    (target / "examples" / "guides").mkdir(parents=True)
    examples = {p.stem: [line for line in p.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
                for p in (ROOT / "knowledge" / "examples" / "guides").glob("*.txt")}
    sources = sorted((ROOT / "knowledge" / "guides").glob("*.toml"))
    for i in range(count):
        source = sources[i % len(sources)]
        text = source.read_text(encoding="utf-8")
        real = source.stem
        name = "".join(rng.choice(CHARS) for _ in range(rng.randint(5, 10))) + f"{i}号事项"
        aliases = [f"{''.join(rng.choice(CHARS) for _ in range(rng.randint(3, 6)))}{i}{k}" for k in range(6)]
        start = text.index("aliases = [")
        end = text.index("]", start) + 1
        text = text[:start] + "aliases = [" + ", ".join(f'"{a}"' for a in aliases) + "]" + text[end:]
        text = text.replace(f'name = "{real}"', f'name = "{name}"', 1)
        (target / "guides" / f"{name}.toml").write_text(text, encoding="utf-8")
        own = [f"{aliases[k % len(aliases)]}{question}" for k, question in enumerate(examples.get(real, [])[:30])]
        (target / "examples" / "guides" / f"{name}.txt").write_text("\n".join(own) + "\n", encoding="utf-8")


def _rss() -> int:
    """Resident memory of this process, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _measure(label: str, kb: Path, questions: list[str], rounds: int) -> None:
    before = _rss()
    started = time.perf_counter()
    edition = build(kb)
    loaded = time.perf_counter() - started
    memory = _rss() - before
    matcher = edition.matcher
    times = []
    asked = (questions * (rounds // len(questions) + 1))[:rounds]
    for question in asked:
        t = time.perf_counter()
        matcher.match(question)
        times.append(time.perf_counter() - t)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"{label}: {len(edition.knowledge.guides)} guides loaded and indexed in {loaded:.2f} s, "
          f"{memory / 2**20:.1f} MiB; per question median {statistics.median(times) * 1000:.2f} ms, "
          f"p99 {p99 * 1000:.2f} ms over {len(times)} questions")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--guides", type=int, default=5000, help="0: the real knowledge base only")
    ap.add_argument("--questions", type=int, default=2000)
    args = ap.parse_args()
    questions = _questions()
    _measure("real knowledge base", ROOT / "knowledge", questions, args.questions)
    if args.guides <= 0:
        return
    with tempfile.TemporaryDirectory() as tmp:
        _generate(Path(tmp), args.guides)
        _measure("generated knowledge base", Path(tmp), questions, min(args.questions, 500))


if __name__ == "__main__":
    main()
