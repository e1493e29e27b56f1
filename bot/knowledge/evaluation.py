"""Measure the matcher on a labelled question file (the format of shared/eval/dev.tsv).

Columns: `question`, `expect` (a guide's canonical name, `@intent`, or `@unknown`), `service`
(the guide an `@intent` row is about, optional), `also_ok` (other acceptable guides,
`|`-separated).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge.matcher import Matcher


@dataclass
class Figures:
    services: int = 0
    top1: int = 0
    top3: int = 0
    answered_right: int = 0       # answered at once (no clarifying question) with a right guide
    unknown: int = 0
    unknown_answered: int = 0     # out-of-scope questions answered with a guide
    intents: int = 0
    intents_right: int = 0
    misses: list[str] = field(default_factory=list)

    def rate(self, part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    def report(self) -> str:
        lines = [
            f"service questions: {self.services}  top-1 {self.rate(self.top1, self.services):.1%}  "
            f"top-3 {self.rate(self.top3, self.services):.1%}  "
            f"answered right at once {self.rate(self.answered_right, self.services):.1%}",
            f"out-of-scope answered with a guide: {self.unknown_answered}/{self.unknown} = "
            f"{self.rate(self.unknown_answered, self.unknown):.1%}",
            f"intent accuracy: {self.intents_right}/{self.intents} = {self.rate(self.intents_right, self.intents):.1%}",
            f"misses ({len(self.misses)}):",
        ]
        return "\n".join(lines + ["  " + m for m in self.misses])


def evaluate(matcher: Matcher, tsv: Path) -> Figures:
    figures = Figures()
    with tsv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        q, expect = row["question"], row["expect"]
        right = {expect, *filter(None, (row.get("also_ok") or "").split("|"))}
        m = matcher.match(q)
        intent = m.as_json()["intent"]
        names = [c.name for c in m.candidates]
        answered = m.decision == "answer" and m.intent == "guide"
        figures.intents += 1
        if expect == "@unknown":
            figures.unknown += 1
            figures.intents_right += intent == "unknown"
            if answered:
                figures.unknown_answered += 1
                figures.misses.append(f"UNKNOWN answered with {names[0]}: {q}")
            elif intent != "unknown":
                figures.misses.append(f"UNKNOWN taken as {intent}: {q}")
        elif expect.startswith("@"):
            if intent == expect[1:]:
                figures.intents_right += 1
            else:
                figures.misses.append(f"INTENT {expect} taken as {intent}: {q}")
        else:
            figures.services += 1
            figures.intents_right += intent == "guide"
            first = bool(names) and names[0] in right
            figures.top1 += first
            figures.top3 += bool(right & set(names[:3]))
            figures.answered_right += first and answered
            if not (first and answered):
                shown = ", ".join(f"{c.name} {c.score:.2f}" for c in m.candidates)
                figures.misses.append(f"GUIDE {expect} ({m.intent}/{m.decision}: {shown}): {q}")
    return figures
