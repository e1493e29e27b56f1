"""Where the knowledge base falls short: the questions the bot could not answer, grouped by
what residents meant, so staff see which missing guide would help the most people.

Questions are compared by what they are about, not how they are asked: each is normalised
(`lexical.normalise`, with the synonyms), its question words (怎么, 在哪, 吗 …) are taken out,
and the characters left are compared as a bag: sorted, then rapidfuzz's `ratio`, which on
sorted strings is the Dice coefficient of the two bags. So 医保怎么交, 在哪交医保 and 医保交钱
come together, 医保缴费 and 医保报销 do not, and 医保 and 身份证 share nothing.

Grouping is greedy: wordings are taken most asked first, and each joins the most similar group
leader or leads a new group — one `extractOne` per wording, fast enough for a few thousand
questions (about a second for 5,000 all different).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from rapidfuzz import fuzz, process

from bot.knowledge.lexical import normalise

SIMILAR_AT = 75   # Dice similarity (0-100) of the character bags from which a wording joins a group

# How residents ask, not what about; longest first so 怎么办 goes before 怎么.
ASKING = tuple(sorted((
    "怎么办理", "怎么办", "怎么样", "怎么", "怎样", "咋办", "咋", "如何", "多长时间", "多久", "多少", "什么",
    "在哪里", "在哪儿", "在哪", "去哪里", "去哪儿", "去哪", "哪里", "哪儿", "能不能", "可不可以", "可以", "需要",
    "我想", "想", "要", "一下", "吗", "呢", "啊", "吧", "了", "的", "办理", "办"), key=len, reverse=True))


@dataclass(frozen=True)
class Gap:
    """Unanswered questions about one thing, in the words residents used."""

    question: str                # the wording asked most (the newest asking of it)
    examples: tuple[str, ...]    # other wordings, newest first
    count: int                   # how many times the group was asked
    last_at: str                 # ISO time of the newest asking


def topic(normalised: str) -> str:
    """What a normalised question is about: its characters without the question words, sorted.
    A question that is nothing but question words keeps them."""
    about = normalised
    for words in ASKING:
        about = about.replace(words, "")
    return "".join(sorted(about or normalised))


def group(asked: Iterable[tuple[str, str]], synonyms: dict[str, str] | None = None,
          examples: int = 3) -> list[Gap]:
    """Group (question, ISO time) pairs, newest first, into gaps, the biggest first (the most
    recent first among equals). Questions without a letter or a Chinese character (a bare "1",
    emoji) are left out: they are replies to nothing, not services residents miss."""
    asked_as: dict[str, list[tuple[str, str]]] = {}   # normalised wording → its askings, newest first
    for question, at in asked:
        normalised = normalise(question, synonyms)
        if any(ch.isalpha() for ch in normalised):   # a bare number or sign is no question about a service
            asked_as.setdefault(normalised, []).append((question, at))
    wordings = sorted(asked_as, key=lambda w: len(asked_as[w]), reverse=True)   # stable: newest first on ties
    leaders: list[str] = []
    members: dict[str, list[str]] = {}
    for wording in wordings:
        about = topic(wording)
        found = process.extractOne(about, leaders, scorer=fuzz.ratio, score_cutoff=SIMILAR_AT)
        if found is None:
            leaders.append(about)
        members.setdefault(found[0] if found else about, []).append(wording)
    gaps = [_gap([asked_as[w] for w in group_of], examples) for group_of in members.values()]
    return sorted(gaps, key=lambda g: (g.count, g.last_at), reverse=True)


def _gap(askings: list[list[tuple[str, str]]], examples: int) -> Gap:
    """A gap from its wordings' askings, the most asked wording first."""
    newest_first = sorted(askings[1:], key=lambda a: a[0][1], reverse=True)
    return Gap(question=askings[0][0][0], examples=tuple(a[0][0] for a in newest_first[:examples]),
               count=sum(len(a) for a in askings), last_at=max(a[0][1] for a in askings))
