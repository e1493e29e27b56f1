"""From a resident's words to a guide: normalise → retrieve and rank → decide.

Each stage is a small function of its own:
- `normalise`: width folding, Traditional → Simplified (OpenCC), lower case, punctuation,
  emoji and voice fillers out, everyday words replaced by the official terms of `synonyms.toml`;
- `Index.rank`: BM25 over character bigrams and jieba words of each guide's text, fused with exact hits on its
  name and aliases, the same hits on their pinyin (homophone slips like 身分正 or typed pinyin
  like "shiyejin" still hit), rapidfuzz scores for near misses, and its everyday keywords;
- `Learned` (`ranker.py`), when the knowledge base has example questions: the examples'
  space fused with the index's scores into a probability per guide, referral, intent or "none
  of ours", with thresholds calibrated on the examples scored out of fold;
- the decision: `answer` (sure, or likely with the runner-up offered), `refer` (首问负责: a matter
  handled elsewhere), `clarify` or `fallback` — by those thresholds, or by `decide`'s fixed ones
  for a knowledge base without examples; a message of several clauses is also read by the clause
  that asks;
- `detect_intent`: the phrases of `intents.toml`, then the intent the examples point to, weighed
  against how well a guide matched.
"""

from __future__ import annotations

import copy
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

from bot.knowledge.model import Example, Guide, Knowledge, Target
from bot.knowledge.ranker import RUNNER_UP_AT, Learned, learnable
from bot.knowledge.segmenter import Segmenter

_T2S = opencc.OpenCC("t2s")

ANSWER_AT = 0.62     # top score from which the bot answers with the best guide …
ANSWER_MARGIN = 0.08  # … when it leads the runner-up by this much (or scores ≥ SURE_AT)
SURE_AT = 0.85
CLARIFY_AT = 0.40    # below this the bot says it does not know
TWO_PART_LONGEST = 60  # a message this long tells a story: its questions are about one matter

# A service's name without the action word ("老年人优待证办理" → "老年人优待证") is what people say.
ACTION_SUFFIXES = ("办理", "申请", "申领", "登记", "认定", "备案", "受理", "开具", "查询", "报装", "审批")
FILLERS = ("那个", "就是说", "嗯", "呃", "请问", "问一下", "问下", "麻烦")


_LONG_NUMBER = re.compile(r"\d{7,}x?")


def _strip_symbols(text: str) -> str:
    """Letters and digits only: punctuation, spaces and emoji go."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def normalise(text: str, synonyms: dict[str, str] | None = None) -> str:
    """Comparable form of a question: NFKC, Simplified, lower case, letters and digits only,
    fillers out, everyday words replaced by official terms (longest first)."""
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


# DESIGN.md fixes the intents `frontdesk match` reports; a resident's moves on their own cases
# (withdraw, reply with materials) are about the status of a case.
CONTRACT_INTENT = {"withdraw": "status", "materials_reply": "status", "my_bookings": "status",
                   "home_visit": "booking", "cancel_booking": "booking", "reschedule": "booking", "bind": "centers"}


@dataclass(frozen=True)
class Candidate:
    name: str
    score: float


@dataclass(frozen=True)
class Match:
    question: str
    normalised: str
    intent: str                       # guide booking proxy status … unknown
    decision: str                     # answer clarify fallback
    candidates: tuple[Candidate, ...]
    aspect: str | None = None         # materials time place fee … when the question asks one thing
    sure: bool = True                 # an answer likely but not sure offers the runner-up too
    also: str | None = None           # a second service the message asks about, offered after the answer

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def as_json(self) -> dict:
        """The `frontdesk match` line; finer intents are reported as the contract's ones."""
        intent = CONTRACT_INTENT.get(self.intent, self.intent)
        return {"q": self.question, "intent": intent, "decision": self.decision,
                "candidates": [{"name": c.name, "score": round(c.score, 3)} for c in self.candidates]}


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
        for g in grams & self.keyword_start_keys:
            for doc, word, value in self.keyword_start[g]:
                if word in q:
                    total[doc] = min(total.get(doc, 0.0) + value, 0.8)
        return total

    def _bm25(self, grams: set[str]) -> np.ndarray:
        """Every guide's BM25 score for the question's bigrams and words (0 for most)."""
        found = [self.postings[g] for g in grams & self.posted]
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


def decide(candidates: list[Candidate]) -> str:
    if not candidates or candidates[0].score < CLARIFY_AT:
        return "fallback"
    top = candidates[0].score
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    if top >= SURE_AT or (top >= ANSWER_AT and top - runner_up >= ANSWER_MARGIN):
        return "answer"
    return "clarify"


_DELIMITERS = r"，。？！；、,.?!;\s"
_CLAUSES = re.compile(rf"[{_DELIMITERS}]+")
_PART = rf"[^{_DELIMITERS}]"     # a character within a clause
_ENDS = rf"(?=[{_DELIMITERS}]|$)"
# A service named only to be set aside: "不是临时救助那种…", "丧葬补助金那个我们不问", "身份证还在，…".
# Each with the words it cannot match without: most messages hold none, and skip the pattern.
_SET_ASIDE = (
    (re.compile(rf"(?<![是还])不是({_PART}{{2,12}}?)(?:那种|那个|这种|这个|的|{_ENDS})"), ("不是",)),
    (re.compile(rf"({_PART}{{2,12}}?)(?:那种|那个|这个)?(?:我们|我|俺)?(?:不问|不是问|先不问)"), ("不问", "不是问")),
    (re.compile(rf"({_PART}{{2,8}}?)(?:还在|没丢|没有丢)"), ("还在", "没丢", "没有丢")),
)


def set_aside(question: str) -> list[str]:
    """The parts of a message that name something only to set it aside (its own text)."""
    return [m.group(1) for pattern, needs in _SET_ASIDE if any(word in question for word in needs)
            for m in pattern.finditer(question)]


QUESTION_WORDS = ("哪", "怎么", "咋", "啥", "什么", "吗", "多少", "多久", "能不能", "可不可以", "可以不", "是不是",
                  "如何", "几", "要不要", "有没有", "行不行", "中不中", "找谁")


_ASKS = re.compile("|".join(map(re.escape, QUESTION_WORDS)))   # any of them


def clauses(question: str) -> tuple[list[str], list[str]]:
    """A message's clauses, and those of them that ask (hold a question word)."""
    parts = [p for p in _CLAUSES.split(question) if p]
    return parts, [p for p in parts if _ASKS.search(p)]


def asking_clause(question: str) -> str | None:
    """The clause of a message that asks (the last one with a question word, else the last):
    "执照办好了，报税去哪报" asks about 报税. None for a message of one clause."""
    parts, asking = clauses(question)
    if len(parts) < 2:
        return None
    return asking[-1] if asking else parts[-1]


def _wordy(q: str) -> bool:
    """Enough words to learn from: two Chinese characters, or a word of typed pinyin. Digits and
    a letter or two ("12", "ok") say too little for the examples' n-grams to mean anything."""
    chinese = sum(1 for ch in q if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in q if "a" <= ch <= "z")
    return chinese >= 2 or latin >= 5 or (chinese >= 1 and latin >= 3)


def find_phrase(q: str, phrases: tuple[str, ...]) -> str | None:
    for phrase in phrases:
        if phrase in q:
            return phrase
    return None


def says(raw: str, phrases: tuple[str, ...], q: str | None = None) -> str | None:
    """The first of `phrases` the resident's words hold: a Chinese phrase anywhere (in `q`, the
    normalised question, when given), a Latin one ("hi", "help") only as whole words, in the
    words as written — "shiyejin" and "this is a test" hold no "hi"."""
    written = unicodedata.normalize("NFKC", raw).lower()
    for phrase in phrases:
        if phrase.isascii():
            if re.search(rf"(?<![a-z]){re.escape(phrase.lower())}(?![a-z])", written):
                return phrase
        elif phrase in (q if q is not None else written):
            return phrase
    return None


# Intents that name an action on a service win over the guide itself; the others only when
# no guide was matched with confidence.
ACTION_INTENTS = ("handoff", "withdraw", "materials_reply", "complaint", "cancel_booking", "reschedule",
                  "my_bookings", "home_visit", "bind", "status", "rating", "proxy", "booking")
SOFT_INTENTS = ("centers", "greeting")


def detect_intent(raw: str, q: str, knowledge: Knowledge, guide_decision: str, learned: str | None = None,
                  referred_over: frozenset[str] = frozenset()) -> str:
    """The phrases of an action intent first — unless the examples find the message a matter for
    another office rather than that intent (`referred_over`: 投诉 a shop, 举报 a polluting plant);
    then the intent the examples point to (叫个人来, zhuan rengong …); then, unless a guide was
    matched with confidence, the soft intents."""
    for intent in ACTION_INTENTS:
        if find_phrase(q, knowledge.intents.get(intent, ())):
            return "guide" if intent in referred_over else intent
    if learned is not None:
        return learned
    if guide_decision not in ("answer", "refer"):
        for intent in SOFT_INTENTS:
            if says(raw, knowledge.intents.get(intent, ()), q):
                if intent == "greeting" and len(q) > 12:
                    continue
                return intent
    return "guide" if guide_decision != "fallback" else "unknown"


def detect_aspect(q: str, knowledge: Knowledge) -> str | None:
    for aspect, phrases in knowledge.aspects.items():
        if find_phrase(q, phrases):
            return aspect
    return None


def _lead(scored: list) -> float:
    """How much the likeliest target's probability leads the next one's."""
    return scored[0].probability - (scored[1].probability if len(scored) > 1 else 0.0)


class Matcher:
    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        self.index = Index(knowledge)
        self.teach(tuple(e for e in knowledge.examples if e.source.startswith("taught:")))
        self.learned = Learned(knowledge, self.index.rank,
                               lambda t: normalise(t, knowledge.synonyms), pinyin) if learnable(knowledge) else None

    def answering_from(self, knowledge: Knowledge) -> "Matcher":
        """This matcher, as learned, answering from `knowledge` (a guide's fee or materials
        changed): the guides it names are looked up there, and its taught examples are known at
        once; what else `knowledge` would teach waits until a matcher learns it."""
        twin = copy.copy(self)
        twin.knowledge = knowledge
        twin.teach(tuple(e for e in knowledge.examples if e.source.startswith("taught:")))
        return twin

    def teach(self, taught: tuple[Example, ...]) -> None:
        """Questions staff taught, answered as taught from now on (the ranker learns their
        variants when the knowledge base is built again with them)."""
        self.taught = {key: e.target for e in taught if (key := normalise(e.question, self.knowledge.synonyms))}

    def close_examples(self, question: str, other_than: Target) -> list[tuple[str, Target]]:
        """Examples of another target than `other_than` with the same words as `question`, or
        (with the learned ranker) close to them: teaching `question` may change their answer."""
        q = normalise(question, self.knowledge.synonyms)
        written = {normalise(e.question, self.knowledge.synonyms): e for e in self.knowledge.examples}
        close = [q] if q in written else []
        if self.learned is not None and q:
            space = self.learned.space
            close += [space.texts[i] for i in space.displaced(*space.vector(q, pinyin(q)), other_than)]
        found: dict[str, tuple[str, Target]] = {}
        for text in close:
            example = written.get(text)
            if example is not None and example.target != other_than and text not in found:
                found[text] = (example.question, example.target)
        return list(found.values())[:5]

    def _as_taught(self, question: str, q: str) -> Match | None:
        target = self.taught.get(q)
        if target is None:
            return None
        if target.kind == "intent":
            return Match(question=question, normalised=q, intent=target.name, decision="answer", candidates=())
        decision = "refer" if target.kind == "referral" else "answer"
        return Match(question=question, normalised=q, intent="guide", decision=decision,
                     candidates=(Candidate(target.name, 1.0),), aspect=detect_aspect(q, self.knowledge))

    def match(self, question: str) -> Match:
        q = normalise(question, self.knowledge.synonyms)
        if (taught := self._as_taught(question, q)) is not None:
            return taught
        asked = self._without_set_aside(question, q)
        readings: dict[str, list] = {}   # this message's texts as the examples read them, each read once
        if self.learned is None or not _wordy(asked):
            candidates = self.index.rank(asked)
            decision, learned_intent, sure, referred_over = decide(candidates), None, True, frozenset()
        else:
            clause = asking_clause(question)
            decision, candidates, learned_intent, sure, referred_over = self._learned(
                asked, self._without_set_aside(clause, normalise(clause, self.knowledge.synonyms)) if clause else None,
                readings)
        intent = detect_intent(question, q, self.knowledge, decision, learned_intent, referred_over)
        if intent in SOFT_INTENTS or intent == "unknown":
            decision = "fallback" if intent == "unknown" else decision
        also = None
        if intent == "guide" and decision in ("answer", "clarify") and len(asked_about := self._two_asked(question, readings)) >= 2:
            # "社保卡丢了咋补，老年证在哪办": the first is answered, the second offered in one line
            # the first is read from its own clause; the rest of the whole message's reading follow
            # it only where less likely, and the second rides in `also`
            first, second = asked_about[:2]
            decision, sure, also = "answer", True, second.name
            rest = (c for c in candidates if c.name not in (first.name, second.name) and c.score <= first.score)
            candidates = [first, *rest][:3]
        return Match(question=question, normalised=q, intent=intent, decision=decision,
                     candidates=tuple(candidates), aspect=detect_aspect(q, self.knowledge), sure=sure, also=also)

    def named(self, match: Match) -> str | None:
        """The guide a request names in so many words (its name, an alias, its everyday words),
        whatever else the request asks: "建房审批交上去两个月了，批下来没" names 建房审批."""
        candidates = self.index.rank(match.normalised)
        return candidates[0].name if decide(candidates) == "answer" else None

    def _read(self, text: str, readings: dict[str, list]) -> list:
        """The examples' reading of one of a message's texts: the message's asking clause is read
        for the whole and again among its clauses, and is ranked once."""
        assert self.learned is not None
        if text not in readings:
            readings[text] = self.learned.rank(text, pinyin(text))
        return readings[text]

    def _two_asked(self, question: str, readings: dict[str, list]) -> list[Candidate]:
        """The guides a message asks about clause by clause, in its order, each one the examples
        are sure of on its own; only for a short message with two or three asking clauses (a story
        with questions at its end asks about one matter) and not a service named to be set aside."""
        if self.learned is None or len(question) >= TWO_PART_LONGEST:
            return []
        _, asking = clauses(question)
        if not 2 <= len(asking) <= 3:
            return []
        found: list[Candidate] = []
        for clause in asking:
            text = self._without_set_aside(clause, normalise(clause, self.knowledge.synonyms))
            scored = self._read(text, readings) if _wordy(text) else []
            if scored and scored[0].target.kind == "guide" and _lead(scored) >= self.learned.calibration.sure_at:
                if all(c.name != scored[0].target.name for c in found):
                    found.append(Candidate(scored[0].target.name, scored[0].probability))
        return found

    def _without_set_aside(self, question: str, q: str) -> str:
        """The normalised question without the services it names only to set aside ("不是临时救助
        那种，…低保"), when something is left to go by."""
        for part in set_aside(question):
            part = normalise(part, self.knowledge.synonyms)
            if part and self.index.names_a_service(part) and _wordy(rest := q.replace(part, "")):
                q = rest
        return q

    def _learned(self, q: str, clause: str | None,
                 readings: dict[str, list]) -> tuple[str, list[Candidate], str | None, bool, frozenset[str]]:
        """The decision the calibrated probabilities give: answer (or refer) at once from
        `answer_at`, offer a choice from `clarify_at`, else fall back; and the intent the examples
        point to when it is the likeliest target. A message of several clauses is read whole and
        by the clause that asks; the clause wins when it alone is surer of a matter (a story
        about one service, then a question about another)."""
        assert self.learned is not None
        calibration = self.learned.calibration
        scored = self._read(q, readings)
        if not scored:
            return "fallback", [], None, False, frozenset()
        if clause and clause != q and _wordy(clause):
            asked = self._read(clause, readings)
            if asked[0].target.kind in ("guide", "referral") and _lead(asked) >= calibration.answer_at and (
                    scored[0].target.kind not in ("guide", "referral") or _lead(asked) > _lead(scored)):
                scored = asked
        top, lead = scored[0], _lead(scored)
        intent = top.target.name if top.target.kind == "intent" and lead >= calibration.answer_at else None
        matters = [s for s in scored if s.target.kind in ("guide", "referral")]
        guides = [Candidate(s.target.name, s.probability) for s in matters if s.target.kind == "guide"][:3]
        if not matters or top.target.kind == "none":
            return "fallback", guides, intent, False, frozenset()
        best = matters[0]
        runner_up = matters[1].probability if len(matters) > 1 else 0.0
        if best is top and lead >= calibration.answer_at:
            sure = lead >= calibration.sure_at or runner_up < RUNNER_UP_AT
            if best.target.kind == "referral":
                less_likely = frozenset(s.target.name for s in scored
                                        if s.target.kind == "intent" and s.probability < best.probability)
                return "refer", [Candidate(best.target.name, best.probability)], intent, sure, less_likely
            return "answer", guides, intent, sure, frozenset()
        if guides and guides[0].score >= calibration.clarify_at:
            return "clarify", guides, intent, False, frozenset()
        return "fallback", guides, intent, False, frozenset()
