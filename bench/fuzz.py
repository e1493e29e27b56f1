"""Fuzz the matcher and the knowledge-base loader for a while and say what was found.

    .venv/bin/python bench/fuzz.py [--seconds 60]

Runs the checks of `tests/knowledge/fuzzing.py` with hypothesis, batch after batch of fresh
random inputs, for `--seconds` each: questions of any kind through the matcher (never an error,
always a decision, at most three candidates with scores in order), and real guides with lines
dropped, repeated, cut or given other values through the loader (refused with file:line, never a
crash). Prints how many inputs ran, for how long, and each failure hypothesis found (shrunk).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from bot.knowledge.library import Library  # noqa: E402
from tests.knowledge.fuzzing import broken_guides, check_guide, check_match, questions  # noqa: E402

BATCH = 500


def fuzz(name: str, strategy, check, seconds: float) -> int:
    ran, failures, started = 0, [], time.perf_counter()
    counted = settings(max_examples=BATCH, deadline=None, database=None, derandomize=False,
                       suppress_health_check=list(HealthCheck))

    @counted
    @given(value=strategy)
    def one(value):
        nonlocal ran
        ran += 1
        check(value)

    while time.perf_counter() - started < seconds:
        try:
            one()
        except Exception as e:  # noqa: BLE001 - a finding: reported, and the run goes on
            failures.append(f"{type(e).__name__}: {e}")
    took = time.perf_counter() - started
    print(f"{name}: {ran:,} inputs in {took:.0f} s ({ran / took:,.0f}/s); "
          f"{len(failures)} failure(s){':' if failures else ''}")
    for failure in failures[:10]:
        print("  " + failure.replace("\n", "\n  ")[:2000])
    return len(failures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    matcher = Library(ROOT / "knowledge").matcher
    found = fuzz("matcher", questions, lambda q: check_match(matcher, q), args.seconds)
    found += fuzz("guide loader", broken_guides(), lambda g: check_guide(*g), args.seconds)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
