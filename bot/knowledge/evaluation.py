"""Measure the matcher on a labelled question file (the format of shared/eval/dev.tsv).

Columns: `question`, `expect` (a guide's canonical name, `@intent`, or `@unknown`), `service`
(the guide an `@intent` row is about, or the referral an `@unknown` row belongs to: optional),
`also_ok` (other acceptable guides, `|`-separated).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge.matcher import NAMED_AT, Match, Matcher


LONG = 60   # a question this long tells a story before it asks: a message-board post


@dataclass
class Figures:
    """What residents would have met. For service questions: answered at once with a right guide;
    right within the choice offered (answered right, or a right guide among those a clarifying
    question offers); confidently wrong (answered at once with a wrong guide — the worst); sent
    elsewhere (refer) or told the bot does not know (fallback)."""

    services: int = 0
    top1: int = 0
    top3: int = 0
    answered_right: int = 0       # answered at once (no clarifying question) with a right guide
    within_choice: int = 0        # answered right, or a right guide among the choices offered
    confidently_wrong: int = 0    # answered at once with a wrong guide
    referred: int = 0             # a service question sent elsewhere (首问负责 referral)
    fell_back: int = 0            # a service question the bot said it could not answer
    long: int = 0                 # service questions of LONG characters or more (message-board posts)
    long_right: int = 0           # … of those, answered right at once
    unknown: int = 0
    unknown_answered: int = 0     # out-of-scope questions answered with a guide
    unknown_referred: int = 0     # out-of-scope questions told where to go instead
    elsewhere: int = 0            # out-of-scope questions labelled with the referral they belong to
    elsewhere_right: int = 0      # … told to go there (not to another office, not "I don't know")
    intents: int = 0
    intents_right: int = 0
    requests: int = 0             # @intent rows whose `service` names a guide (预约办社保卡)
    requests_right: int = 0       # … the request taken for that guide, as the handlers take it
    misses: list[str] = field(default_factory=list)

    def rate(self, part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    def report(self) -> str:
        n = self.services
        lines = [
            f"service questions: {n}  answered right at once {self.rate(self.answered_right, n):.1%}  "
            f"right within the choice {self.rate(self.within_choice, n):.1%}  "
            f"confidently wrong {self.rate(self.confidently_wrong, n):.1%}  "
            f"referred {self.rate(self.referred, n):.1%}  fallback {self.rate(self.fell_back, n):.1%}",
            f"  ranking: top-1 {self.rate(self.top1, n):.1%}  top-3 {self.rate(self.top3, n):.1%}",
            f"  long posts ({LONG}+ characters): {self.long_right}/{self.long} = "
            f"{self.rate(self.long_right, self.long):.1%} answered right at once",
            f"out-of-scope answered with a guide: {self.unknown_answered}/{self.unknown} = "
            f"{self.rate(self.unknown_answered, self.unknown):.1%}  (referred: {self.unknown_referred})",
            *([f"  handled elsewhere, sent to the office named: {self.elsewhere_right}/{self.elsewhere} = "
               f"{self.rate(self.elsewhere_right, self.elsewhere):.1%}"] if self.elsewhere else []),
            f"intent accuracy: {self.intents_right}/{self.intents} = {self.rate(self.intents_right, self.intents):.1%}",
            *([f"  requests naming a service, taken for that service: {self.requests_right}/{self.requests} = "
               f"{self.rate(self.requests_right, self.requests):.1%}"] if self.requests else []),
            f"misses ({len(self.misses)}):",
        ]
        return "\n".join(lines + ["  " + m for m in self.misses])


def requested(matcher: Matcher, m: Match) -> str | None:
    """The service a request (预约, 代办, 进度 …) is taken for, as `Turn.guide` takes it."""
    if m.best is not None and m.best.score >= NAMED_AT:
        return m.best.name
    return matcher.named(m) if m.intent != "guide" else None


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
            not_ours = intent in ("unknown", "guide") and m.decision in ("fallback", "refer")
            figures.intents_right += not_ours
            figures.unknown_referred += m.decision == "refer"
            if answered:
                figures.unknown_answered += 1
                figures.misses.append(f"UNKNOWN answered with {names[0]}: {q}")
            elif not not_ours:
                figures.misses.append(f"UNKNOWN taken as {intent}/{m.decision}: {q}")
            if office := (row.get("service") or "").strip():
                figures.elsewhere += 1
                if m.decision == "refer" and names[:1] == [office]:
                    figures.elsewhere_right += 1
                else:
                    figures.misses.append(f"ELSEWHERE {office} ({m.decision}: {names[0] if names else '-'}): {q}")
        elif expect.startswith("@"):
            if intent == expect[1:]:
                figures.intents_right += 1
            else:
                figures.misses.append(f"INTENT {expect} taken as {intent}: {q}")
            if (service := (row.get("service") or "").strip()) and matcher.knowledge.guide(service):
                figures.requests += 1
                taken = requested(matcher, m)
                if taken == service:
                    figures.requests_right += 1
                else:
                    figures.misses.append(f"REQUEST {expect} for {service} taken for {taken or '-'}: {q}")
        else:
            figures.services += 1
            figures.intents_right += intent == "guide"
            first = bool(names) and names[0] in right
            figures.top1 += first
            figures.top3 += bool(right & set(names[:3]))
            figures.answered_right += first and answered
            if len(q) >= LONG:
                figures.long += 1
                figures.long_right += first and answered
            figures.within_choice += (first and answered) or (
                m.decision == "clarify" and bool(right & set(names[:3])))
            figures.confidently_wrong += answered and not first
            figures.referred += m.decision == "refer"
            figures.fell_back += m.decision == "fallback"
            if not (first and answered):
                shown = ", ".join(f"{c.name} {c.score:.2f}" for c in m.candidates)
                figures.misses.append(f"GUIDE {expect} ({m.intent}/{m.decision}: {shown}): {q}")
    return figures
