"""The lexical side of matching: a resident's words in comparable form, and the guides' own
words indexed for them.

- `normalise`: width folding, Traditional → Simplified (OpenCC), lower case, punctuation,
  emoji and voice fillers out, everyday words replaced by the official terms of `synonyms.toml`;
  `pinyin`, `words` (jieba's, through `Segmenter`) and `bigrams` of a normalised text;
- `Index.rank`: BM25 over character bigrams and words of each guide's text, fused with exact hits
  on its name and aliases, the same hits on their pinyin (homophone slips like 身分正 or typed
  pinyin like "shiyejin" still hit), rapidfuzz scores for near misses, and its everyday keywords.

The matcher (`matcher.py`) reads a question with these and decides.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import jieba
import numpy as np
import opencc
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

from bot.knowledge.model import Guide, Knowledge
from bot.knowledge.segmenter import Segmenter

_T2S = opencc.OpenCC("t2s")

# A service's name without the action word ("老年人优待证办理" → "老年人优待证") is what people say.
ACTION_SUFFIXES = ("办理", "申请", "申领", "登记", "认定", "备案", "受理", "开具", "查询", "报装", "审批")
FILLERS = ("那个", "就是说", "嗯", "呃", "请问", "问一下", "问下", "麻烦")


_LONG_NUMBER = re.compile(r"\d{7,}x?")


def _strip_symbols(text: str) -> str:
    """Letters and digits only: punctuation, spaces and emoji go."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


# The last text normalised, with the synonyms it was normalised with and its normal form: a
# message is normalised several times while it is answered (its tone, a step's answer, the
# matter it names …), one after another.
_last: tuple[str, dict[str, str] | None, str] = ("", None, "")


def normalise(text: str, synonyms: dict[str, str] | None = None) -> str:
    """Comparable form of a question: NFKC, Simplified, lower case, letters and digits only,
    fillers out, everyday words replaced by official terms (longest first)."""
    global _last
    last = _last
    if last[1] is synonyms and last[0] == text:
        return last[2]
    normal = _normalise(text, synonyms)
    _last = (text, synonyms, normal)
    return normal


def _normalise(text: str, synonyms: dict[str, str] | None) -> str:
    text = _T2S.convert(unicodedata.normalize("NFKC", text)).lower()
    if synonyms:   # emoji that say something (👍 🙏) become words before symbols go
        for sign, word in synonyms.items():
            if sign in text and not _strip_symbols(sign):
                text = text.replace(sign, word)
    text = _LONG_NUMBER.sub("", _strip_symbols(text))   # a phone or ID number says nothing of the matter
    spoken = text
    for filler in FILLERS:
        text = text.replace(filler, "")
    text = text or spoken   # "嗯嗯" alone is an answer, not a filler
    if synonyms:
        for word in sorted(synonyms, key=len, reverse=True):
            if word in text and _strip_symbols(word):
                text = text.replace(word, synonyms[word])
    return text



@lru_cache(maxsize=None)
def _sound(ch: str) -> str:
    return lazy_pinyin(ch)[0] if "\u3400" <= ch <= "\u9fff" else ch


def pinyin(text: str) -> str:
    """Toneless pinyin of the Chinese characters, other letters kept: 身分正 → shenfenzheng.
    Character by character (each in its common reading, remembered): the same on both sides of
    a comparison, and some twenty times faster than reading whole phrases."""
    return "".join(map(_sound, text))


jieba.setLogLevel(logging.WARNING)
# One segmenter per process: its dictionary takes a second and ~70 MiB to load. Each index adds
# its guide names, aliases and keywords as user words; words of an earlier edition of the
# knowledge base stay known after a reload, which only makes segmentation finer.
_WORDS = Segmenter()


def taught_words() -> list[tuple[str, int]]:
    """The user words this process's segmenter was given, in order, with their frequencies: the
    segmenter's own list, which only grows (read it, do not change it)."""
    return _WORDS.taught


def learn_words(taught: list[tuple[str, int]]) -> None:
    """Give this process's segmenter the words another's was given (`taught_words` there), so
    that both cut texts alike: a process reading questions for another (`offload.py`)."""
    _WORDS.learn(taught)


def words(text: str) -> list[str]:
    """Word tokens (jieba, with the guides' own terms as user words), for BM25 beside bigrams."""
    return ["w:" + w for w in _WORDS.words(text) if len(w) >= 2]


def bigrams(text: str) -> list[str]:
    if len(text) < 2:
        return [text] if text else []
    return [text[i:i + 2] for i in range(len(text) - 1)]


def _core_name(name: str) -> str:
    for suffix in ACTION_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 3:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Candidate:
    name: str
    score: float


@dataclass(frozen=True)
class _Term:
    doc: int           # which guide
    text: str          # normalised name or alias
    sound: str         # its pinyin
    weight: float      # how much a hit says: long and specific terms say more


class Index:
    """BM25 over character bigrams plus exact, pinyin and fuzzy hits on names and aliases,
    and everyday keywords. Everything that does not depend on the question is computed here,
    once, into inverted indexes, so a question only touches the guides it shares words with:
    per-bigram BM25 contributions; terms and keywords by their first bigram (exact hits) and
    by any bigram (near misses); terms by their first syllable (pinyin hits)."""

    K1, B = 1.2, 0.75
    COMMON = 0.3  # bigrams in more than this share of guides say almost nothing: skipped

    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        # the life events (高效办成一件事) are ranked as guides are, by their name, aliases and summary
        self.guides: list[Guide] = [*knowledge.guides.values(), *knowledge.bundles.values()]
        synonyms = knowledge.synonyms
        normal = [[t for t in dict.fromkeys(normalise(t, synonyms) for t in
                                            (g.name, _core_name(g.name), *g.aliases)) if t]
                  for g in self.guides]
        by_bigram: dict[str, set[str]] = {}
        owners: dict[str, set[int]] = {}
        for i, texts in enumerate(normal):
            for t in texts:
                owners.setdefault(t, set()).add(i)
                for g in bigrams(t):
                    by_bigram.setdefault(g, set()).add(t)
        self.terms: list[_Term] = []
        self.keywords: list[tuple[int, str, float]] = []
        tfs: list[Counter] = []
        for i, guide in enumerate(self.guides):
            self.terms += [_Term(i, t, pinyin(t), self._weight(t, i, by_bigram, owners)) for t in normal[i]]
            keywords = [k for k in dict.fromkeys(normalise(k, synonyms) for k in guide.keywords) if k]
            self.keywords += [(i, k, 0.3 + 0.15 * min(len(k), 5) / 5) for k in keywords]
            text = [*normal[i] * 3, *keywords * 2, guide.summary, *(f.q for f in guide.faq), *guide.conditions]
            for word in (*normal[i], *keywords):
                _WORDS.add_word(word)
            tfs.append(Counter(g for part in text for g in bigrams(normalise(part, synonyms))))
        for i, guide in enumerate(self.guides):
            text = [*normal[i] * 3, guide.summary, *(f.q for f in guide.faq), *guide.conditions]
            tfs[i].update(w for part in text for w in words(normalise(part, synonyms)))
        term_start = self._by(lambda n: [self.terms[n].text[:2]], len(self.terms))
        term_any = self._by(lambda n: bigrams(self.terms[n].text) if len(self.terms[n].text) >= 3 else [],
                            len(self.terms))
        crowded = max(50, len(self.terms) // 50)  # a bigram shared by this many terms finds no near miss
        term_any = {g: ns for g, ns in term_any.items() if len(ns) <= crowded}
        # a term's sound, if in the question's, starts with five of its letters: few terms share them
        sound_start = self._by(lambda n: [self.terms[n].sound[:5]] if len(self.terms[n].sound) >= 5 else [],
                               len(self.terms))
        keyword_start = self._by(lambda n: [self.keywords[n][1][:2]], len(self.keywords))
        # what a question looks up, unpacked beforehand: (term, its text, guide, weight of a hit) by
        # first bigram; (term, its sound, guide, weight of a slip) by first five letters of sound;
        # terms by any bigram; (guide, keyword, value) by first bigram
        terms = self.terms
        self.term_start = {g: tuple((n, terms[n].text, terms[n].doc, terms[n].weight) for n in ns)
                           for g, ns in term_start.items()}
        self.sound_start = {g: tuple((n, terms[n].sound, terms[n].doc, terms[n].weight - 0.08) for n in ns)
                            for g, ns in sound_start.items()}
        self.term_any = {g: tuple(ns) for g, ns in term_any.items()}
        # per term: its characters, how many of them repeat one before, its length (`_near_enough`)
        self.term_chars = [(frozenset(t.text), len(t.text) - len(set(t.text)), len(t.text)) for t in terms]
        self.keyword_start = {g: tuple(self.keywords[n] for n in ns) for g, ns in keyword_start.items()}
        # their keys as sets: a question's bigrams are intersected with them in one call
        self.term_start_keys, self.sound_start_keys = frozenset(self.term_start), frozenset(self.sound_start)
        self.term_any_keys, self.keyword_start_keys = frozenset(self.term_any), frozenset(self.keyword_start)
        self.postings = self._postings(tfs)
        self.posted = frozenset(self.postings)

    @staticmethod
    def _by(keys_of, count: int) -> dict[str, list[int]]:
        index: dict[str, list[int]] = {}
        for n in range(count):
            for key in dict.fromkeys(keys_of(n)):
                index.setdefault(key, []).append(n)
        return index

    def _postings(self, tfs: list[Counter]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per bigram or word: (guides, BM25 contributions) as arrays, so a question adds them up
        in one numpy call however many guides there are."""
        n = max(len(tfs), 1)
        lengths = [sum(tf.values()) for tf in tfs]
        avg = sum(lengths) / n if lengths else 1.0
        df: Counter = Counter(g for tf in tfs for g in tf)
        postings: dict[str, list[tuple[int, float]]] = {}
        for i, tf in enumerate(tfs):
            norm = self.K1 * (1 - self.B + self.B * lengths[i] / avg)
            for g, f in tf.items():
                if n >= 20 and df[g] > self.COMMON * n:
                    continue
                idf = math.log(1 + (n - df[g] + 0.5) / (df[g] + 0.5))
                postings.setdefault(g, []).append((i, idf * f * (self.K1 + 1) / (f + norm)))
        return {g: (np.array([d for d, _ in hits], dtype=np.int64), np.array([v for _, v in hits]))
                for g, hits in postings.items()}

    @staticmethod
    def _weight(term: str, doc: int, by_bigram: dict[str, set[str]], owners: dict[str, set[int]]) -> float:
        """A hit on a long term is strong; on a term that is part of another guide's longer
        name (社会保障卡 in 社会保障卡挂失与补换) it only says which family the question is in."""
        weight = 0.78 + 0.22 * min(len(term), 6) / 6
        sets = sorted((by_bigram.get(g, set()) for g in bigrams(term)), key=len)
        longer = sets[0].intersection(*sets[1:]) if sets else set()
        if any(len(other) - len(term) >= 2 and term in other and owners[other] - {doc} for other in longer):
            weight -= 0.25
        return weight

    def _term_scores(self, q: str, grams: set[str], sound: str) -> dict[int, float]:
        best: dict[int, float] = {}
        hit: set[int] = set()
        for g in grams & self.term_start_keys:
            for n, text, doc, weight in self.term_start[g]:
                if n not in hit and text in q:
                    hit.add(n)
                    if weight > best.get(doc, 0.0):
                        best[doc] = weight
        for start in {sound[i:i + 5] for i in range(len(sound) - 4)} & self.sound_start_keys:
            for n, term_sound, doc, weight in self.sound_start[start]:
                if n not in hit and term_sound in sound:   # same sound, other characters: a slip
                    hit.add(n)
                    if weight > best.get(doc, 0.0):
                        best[doc] = weight
        if len(q) >= 3:  # near misses among the terms sharing a bigram, in one call into rapidfuzz
            near = self._near_enough(q, [n for n in dict.fromkeys(n for g in grams & self.term_any_keys
                                                                  for n in self.term_any[g]) if n not in hit])
            terms = self.terms
            texts = [terms[n].text for n in near]
            for _, ratio, k in process.extract(q, texts, scorer=fuzz.partial_ratio, score_cutoff=75, limit=None):
                doc = terms[near[k]].doc
                best[doc] = max(best.get(doc, 0.0), 0.5 + (ratio / 100 - 0.75) * 1.2)
        return best

    def _near_enough(self, q: str, near: list[int]) -> list[int]:
        """The terms of `near` that could be near misses (partial_ratio ≥ 75) of `q` at all.
        partial_ratio compares the shorter text (m characters) with a part of the longer:
        200·L / (m + part) for L characters in common, in order, which is at most 200·c / (m + c)
        for the c characters both hold — under 75 when 5·c < 3·m. The term's distinct characters
        found in `q`, plus its repeated ones, count at least c."""
        chars, length, term_chars = set(q), len(q), self.term_chars
        return [n for n in near if 5 * (len(term_chars[n][0] & chars) + term_chars[n][1])
                >= 3 * min(length, term_chars[n][2])]

    def _keyword_scores(self, q: str, grams: set[str]) -> dict[int, float]:
        """Everyday words add up: 钱包被偷 + 补卡 says more than either alone."""
        total: dict[int, float] = {}
        for g in sorted(grams & self.keyword_start_keys):   # sums in one order in any process
            for doc, word, value in self.keyword_start[g]:
                if word in q:
                    total[doc] = min(total.get(doc, 0.0) + value, 0.8)
        return total

    def _bm25(self, grams: set[str]) -> np.ndarray:
        """Every guide's BM25 score for the question's bigrams and words (0 for most)."""
        found = [self.postings[g] for g in sorted(grams & self.posted)]   # sums in one order in any process
        if not found:
            return np.zeros(len(self.guides))
        return np.bincount(np.concatenate([docs for docs, _ in found]),
                           weights=np.concatenate([values for _, values in found]), minlength=len(self.guides))

    def names_a_service(self, text: str) -> bool:
        """Whether a (normalised) text holds a guide's name, alias or everyday keyword."""
        for g in bigrams(text):
            if any(term in text for _, term, _, _ in self.term_start.get(g, ())):
                return True
            if any(word in text for _, word, _ in self.keyword_start.get(g, ())):
                return True
        return False

    def rank(self, q: str, limit: int = 3, sound: str | None = None) -> list[Candidate]:
        """The likeliest guides for a normalised question (`sound`: its pinyin, when known)."""
        if not q:
            return []
        grams = set(bigrams(q))
        terms = self._term_scores(q, grams, pinyin(q) if sound is None else sound)
        keywords = self._keyword_scores(q, grams)
        bm25 = self._bm25(grams | set(words(q)))
        saturated = bm25 / (bm25 + 8.0)
        scores = 0.7 * saturated   # a guide neither named nor with a keyword in the question
        for doc in terms.keys() | keywords.keys():
            term, keyword, bm = terms.get(doc, 0.0), keywords.get(doc, 0.0), float(saturated[doc])
            scores[doc] = 0.75 * term + 0.3 * keyword + 0.4 * bm if term > 0 else 0.6 * keyword + 0.7 * bm
        top = np.argpartition(-scores, limit)[:limit] if len(scores) > limit else np.arange(len(scores))
        # by the raw score: two guides at the 1.0 cap still differ
        best = sorted(((float(scores[i]), self.guides[i].name) for i in top), reverse=True)
        return [Candidate(name, min(score, 1.0)) for score, name in best if score > 0.05]
