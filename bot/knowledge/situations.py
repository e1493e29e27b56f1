"""Situations (情形) of a guide: which one a resident's question names.

A guide such as 婚姻登记 covers several situations (结婚登记, 离婚登记, 补领婚姻登记证), each with its
own materials, visits and time limits. A question names one by its words: the situation whose
words cover most of the question wins ("结婚证丢了补办" names 补领 more than 结婚), and of two that
cover as much, the one named first ("离婚要带结婚证吗" is about 离婚); a question that names none
names none, and the resident is asked which. A question typed in pinyin ("lihun yao dai shenme")
is compared in pinyin.
"""

from __future__ import annotations

import re

from bot.knowledge.lexical import normalise, pinyin
from bot.knowledge.model import Guide, Knowledge, Situation


def _covered(q: str, words: tuple[str, ...]) -> tuple[int, int]:
    """How many characters of `q` the words cover (overlaps counted once), and where the first
    of them starts (`len(q)` when none is there)."""
    marked = [False] * len(q)
    for word in words:
        start = q.find(word)
        while word and start >= 0:
            marked[start:start + len(word)] = [True] * len(word)
            start = q.find(word, start + 1)
    return sum(marked), marked.index(True) if any(marked) else len(q)


def situation_words(situation: Situation, synonyms: dict[str, str] | None = None) -> tuple[str, ...]:
    return tuple(w for w in (normalise(word, synonyms) for word in situation.words) if w)


def named_situation(guide: Guide, text: str, knowledge: Knowledge | None = None) -> Situation | None:
    """The situation of `guide` the resident's words name, or None; read with the synonyms of
    `knowledge` when given."""
    if not guide.situations:
        return None
    synonyms = knowledge.synonyms if knowledge is not None else None
    q = normalise(text, synonyms)
    typed_in_pinyin = bool(re.search(r"[a-z]{2}", q))
    if typed_in_pinyin:
        q = pinyin(q)
    ranked = []
    for situation in guide.situations:
        known = knowledge.situation_words.get(id(situation)) if knowledge is not None else None
        words = known[1] if known is not None and known[0] is situation else situation_words(situation, synonyms)
        covered, first = _covered(q, tuple(map(pinyin, words)) if typed_in_pinyin else words)
        if covered:
            ranked.append(((covered, -first), situation))
    ranked.sort(key=lambda pair: pair[0], reverse=True)
    if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
        return None
    return ranked[0][1]


def shared_words(situations: tuple[Situation, ...]) -> list[tuple[Situation, str, Situation]]:
    """Words that name two situations of one guide: (the later situation, the word, the earlier)."""
    owner: dict[str, Situation] = {}
    shared = []
    for situation in situations:
        for word in dict.fromkeys(situation_words(situation)):
            other = owner.setdefault(word, situation)
            if other is not situation:
                shared.append((situation, word, other))
    return shared
