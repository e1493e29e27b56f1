"""This checkout's matcher against another checkout's, in one process, question by question in turns.

    .venv/bin/python bench/match_paired.py OTHER [--rounds 3]

OTHER is another checkout of the project (e.g. `git archive <commit> | tar -x -C /tmp/before`).
Its `bot` package is copied to a temporary folder as `otherbot` (its imports renamed), both
knowledge bases are built from this checkout's `knowledge/`, and each question of
eval/own/questions.tsv and of the load benchmark is matched by one, then the other, timed in CPU
time of this thread. On a machine shared with other work, the two feel the same load at the same
moment, so their ratio holds where back-to-back runs of `match_speed.py` swing by a third.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.knowledge.library import build  # noqa: E402
from load import QUESTIONS  # noqa: E402


def _other(checkout: Path, into: Path):
    """The other checkout's `build`, imported as package `otherbot`."""
    shutil.copytree(checkout / "bot", into / "otherbot")
    for path in (into / "otherbot").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"\b(from|import) bot\b", r"\1 otherbot", text), encoding="utf-8")
    sys.path.insert(0, str(into))
    from otherbot.knowledge.library import build as other_build
    return other_build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("other", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with (ROOT / "eval" / "own" / "questions.tsv").open(encoding="utf-8") as f:
        questions = [row["question"] for row in csv.DictReader(f, delimiter="\t")] + QUESTIONS
    with tempfile.TemporaryDirectory() as tmp:
        other_build = _other(args.other.resolve(), Path(tmp))
        matchers = {}
        for label, make in (("other", other_build), ("this", build)):
            started = time.perf_counter()
            matchers[label] = make(ROOT / "knowledge").matcher
            print(f"{label}: loaded and indexed in {time.perf_counter() - started:.2f} s")
        other, this = matchers["other"], matchers["this"]
        best_other = best_this = float("inf")
        for n in range(args.rounds):
            spent_other = spent_this = 0.0
            for question in questions:
                a = time.thread_time()
                other.match(question)
                b = time.thread_time()
                this.match(question)
                c = time.thread_time()
                spent_other, spent_this = spent_other + b - a, spent_this + c - b
            per_other, per_this = spent_other / len(questions), spent_this / len(questions)
            best_other, best_this = min(best_other, per_other), min(best_this, per_this)
            print(f"round {n + 1}: other {per_other * 1000:.3f} ms, this {per_this * 1000:.3f} ms of CPU per question "
                  f"({per_other / per_this:.2f}x)")
        print(f"best rounds over {len(questions)} questions: other {best_other * 1000:.3f} ms, "
              f"this {best_this * 1000:.3f} ms ({best_other / best_this:.2f}x)")


if __name__ == "__main__":
    main()
