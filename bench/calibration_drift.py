"""How far a few examples more or less move the matcher: its thresholds and its readings.

    .venv/bin/python bench/calibration_drift.py [--variants 6] [--change 10]

Staff teach examples one at a time and editors add them to the files; each such change makes
the matcher learn again and read its thresholds off its out-of-fold scores again. This loads the
real knowledge base, reads the questions of eval/heldout, eval/own and eval/fresh (decision and
best guide of each), then, for each variant, leaves out `--change` examples drawn at random (seed
= the variant's number) and learns again. It prints each variant's thresholds and how many of
the questions are now read otherwise: a few examples should move a few readings, not dozens.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.library import Library  # noqa: E402
from bot.knowledge.matcher import Matcher  # noqa: E402

SETS = ("eval/heldout/questions.tsv", "eval/own/questions.tsv", "eval/fresh/questions.tsv")


def questions() -> list[str]:
    out: list[str] = []
    for name in SETS:
        path = ROOT / name
        if path.exists():
            with path.open(encoding="utf-8") as f:
                out += [row["question"] for row in csv.DictReader(f, delimiter="\t")]
    return out


def readings(matcher: Matcher, asked: list[str]) -> list[tuple[str, str | None]]:
    found = []
    for q in asked:
        m = matcher.match(q)
        found.append((m.decision, m.best.name if m.best else None))
    return found


def thresholds(matcher: Matcher) -> str:
    c = matcher.learned.calibration
    return f"sure {c.sure_at:.2f}, answer {c.answer_at:.2f}, clarify {c.clarify_at:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=6)
    parser.add_argument("--change", type=int, default=10, help="examples left out in each variant")
    args = parser.parse_args()
    knowledge = Library(str(ROOT / "knowledge")).knowledge
    asked = questions()
    started = time.perf_counter()
    base = Matcher(knowledge)
    base_readings = readings(base, asked)
    print(f"{len(knowledge.examples)} examples, {len(asked)} questions; learned in {time.perf_counter() - started:.1f} s")
    print(f"all examples: {thresholds(base)}")
    moved_total = 0
    for variant in range(1, args.variants + 1):
        rng = random.Random(variant)
        gone = set(rng.sample(range(len(knowledge.examples)), args.change))
        fewer = dataclasses.replace(knowledge, examples=tuple(e for i, e in enumerate(knowledge.examples)
                                                              if i not in gone))
        matcher = Matcher(fewer)
        moved = sum(a != b for a, b in zip(base_readings, readings(matcher, asked)))
        moved_total += moved
        print(f"variant {variant}, {args.change} examples left out: {thresholds(matcher)}; "
              f"{moved} of {len(asked)} questions read otherwise")
    print(f"on average {moved_total / max(args.variants, 1):.1f} questions read otherwise per variant")


if __name__ == "__main__":
    main()
