"""Measure the matcher on a labelled TSV (format of shared/eval/dev.tsv).

    .venv/bin/python bench/eval_match.py ../shared/eval/dev.tsv [--kb knowledge] [--misses]

Columns: question, expect (a guide's canonical name, or @intent, or @unknown), service (the
guide an @intent row is about, optional), also_ok (other acceptable guides, `|`-separated).
Prints top-1 / top-3 over service questions, the share of @unknown answered with a guide,
intent accuracy, and every miss.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge.library import build  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    ap.add_argument("--kb", default=str(Path(__file__).resolve().parent.parent / "knowledge"))
    args = ap.parse_args()
    matcher = build(Path(args.kb)).matcher
    rows = list(csv.DictReader(open(args.tsv, encoding="utf-8"), delimiter="\t"))
    top1 = top3 = confident = services = unknown = unknown_answered = intents_ok = intents = 0
    misses = []
    for row in rows:
        q, expect = row["question"], row["expect"]
        ok_names = {expect, *filter(None, (row.get("also_ok") or "").split("|"))}
        m = matcher.match(q)
        names = [c.name for c in m.candidates]
        answered = m.decision == "answer" and m.intent == "guide"
        if expect == "@unknown":
            unknown += 1
            intents += 1
            intents_ok += m.intent == "unknown"
            if answered:
                unknown_answered += 1
                misses.append(f"UNKNOWN answered  {q}  → {names[:1]}")
            elif m.intent != "unknown":
                misses.append(f"UNKNOWN intent={m.intent}  {q}")
        elif expect.startswith("@"):
            intents += 1
            if m.intent == expect[1:]:
                intents_ok += 1
            else:
                misses.append(f"INTENT {expect} got {m.intent}  {q}")
        else:
            services += 1
            intents += 1
            intents_ok += m.intent == "guide"
            hit1 = bool(names) and names[0] in ok_names
            top1 += hit1
            top3 += bool(ok_names & set(names[:3]))
            confident += hit1 and answered
            if not (hit1 and answered):
                misses.append(f"GUIDE {expect}: {m.intent}/{m.decision} {[(c.name, round(c.score, 2)) for c in m.candidates]}  {q}")
    print(f"service questions: {services}  top-1 {top1 / services:.1%}  top-3 {top3 / services:.1%}  "
          f"answered right at once {confident / services:.1%}")
    print(f"out-of-scope answered with a guide: {unknown_answered}/{unknown} = {unknown_answered / max(unknown, 1):.1%}")
    print(f"intent accuracy: {intents_ok}/{intents} = {intents_ok / intents:.1%}")
    print(f"misses ({len(misses)}):")
    for miss in misses:
        print("  " + miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
