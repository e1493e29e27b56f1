"""Whether the matcher still reads every question as it did: a record of its readings, and a comparison.

    .venv/bin/python bench/match_same.py --write before.json     # record
    .venv/bin/python bench/match_same.py --against before.json   # compare (exit status 1 on any difference)

The questions: every one of eval/own/questions.tsv, the load benchmark's 15, and a few thousand
made from them with a fixed seed — two glued together (with and without a comma), cut at a
random place, in Traditional characters, in toneless pinyin, with a filler, punctuation or an
emoji added. For each: `match` (intent, decision, candidates with their raw scores, aspect, sure,
also, the normal form) and `named`. Scores must agree within 1e-9, everything else exactly.
Made to show that a change meant to make the matcher cheaper changes none of its answers.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from pathlib import Path

import opencc
from pypinyin import lazy_pinyin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bot.knowledge.ranker as ranker  # noqa: E402
from bot.knowledge.library import build  # noqa: E402
from load import QUESTIONS  # noqa: E402

VARIANTS = 4000
TOLERANCE = 1e-9


class _OneAtATime:
    """The margin classifier's folds fitted one after the other. liblinear draws from one random
    generator per process, so folds fitted side by side (as at a normal load) take turns at it in
    an order that varies, and two loads of the same knowledge base differ in the fifth decimal;
    fitted in turn, every load is the same and two records can be compared to the last bit."""

    def __init__(self, max_workers: int | None = None):
        pass

    def __enter__(self) -> "_OneAtATime":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def map(self, fn, *iterables):
        return list(map(fn, *iterables))


def questions() -> list[str]:
    with (ROOT / "eval" / "own" / "questions.tsv").open(encoding="utf-8") as f:
        own = [row["question"] for row in csv.DictReader(f, delimiter="\t")]
    base = list(dict.fromkeys([*own, *QUESTIONS]))
    rng = random.Random(21)
    traditional = opencc.OpenCC("s2t")
    made: list[str] = []
    while len(made) < VARIANTS:
        q, other = rng.choice(base), rng.choice(base)
        kind = rng.randrange(8)
        if kind == 0:
            made.append(q + other)
        elif kind == 1:
            made.append(q + rng.choice("，,。？ ") + other)
        elif kind == 2:
            cut = rng.randrange(len(q) + 1)
            made.append(q[:cut] if rng.random() < 0.5 else q[cut:])
        elif kind == 3:
            made.append(traditional.convert(q))
        elif kind == 4:
            made.append("".join(lazy_pinyin(q)))
        elif kind == 5:
            start = rng.randrange(len(q) + 1)
            made.append(q[:start] + "".join(lazy_pinyin(q[start:start + 3])) + q[start + 3:])
        elif kind == 6:
            made.append(rng.choice(("请问", "嗯", "那个", "麻烦问下", "")) + q + rng.choice(("？", "！！", "🙏", "👍", "~", "")))
        else:
            a, b = sorted(rng.randrange(len(q) + 1) for _ in range(2))
            made.append(q[:a] + other[: rng.randrange(1, 8)] + q[b:])
    return [*base, *made]


def readings(matcher, asked: list[str]) -> list[dict]:
    out = []
    for q in asked:
        m = matcher.match(q)
        out.append({"q": q, "json": m.as_json(), "normalised": m.normalised, "intent": m.intent,
                    "decision": m.decision, "candidates": [[c.name, c.score] for c in m.candidates],
                    "aspect": m.aspect, "sure": m.sure, "also": m.also, "named": matcher.named(m)})
    return out


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= TOLERANCE
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="record the readings in this file")
    group.add_argument("--against", type=Path, help="compare the readings with this record")
    args = ap.parse_args()
    ranker.ThreadPoolExecutor = _OneAtATime
    matcher = build(ROOT / "knowledge").matcher
    now = readings(matcher, questions())
    if args.write:
        args.write.write_text(json.dumps(now, ensure_ascii=False, indent=0), encoding="utf-8")
        print(f"{len(now)} readings written to {args.write}")
        return 0
    before = json.loads(args.against.read_text(encoding="utf-8"))
    differ = [(b, n) for b, n in zip(before, now) if not same(b, n)]
    if len(before) != len(now):
        print(f"! {len(before)} questions recorded, {len(now)} asked now")
    for b, n in differ[:10]:
        print(f"! {b['q']!r}\n    before {json.dumps(b, ensure_ascii=False)}\n    now    {json.dumps(n, ensure_ascii=False)}")
    print(f"{len(now)} questions: {len(differ)} read differently")
    return 1 if differ or len(before) != len(now) else 0


if __name__ == "__main__":
    raise SystemExit(main())
