"""From a resident's words to a guide: normalise → retrieve and rank → decide.

Each stage is a small function of its own:
- `normalise`: width folding, Traditional → Simplified (OpenCC), lower case, punctuation,
  emoji and voice fillers out, everyday words replaced by the official terms of `synonyms.toml`;
- `Index.rank`: character-bigram BM25 over each guide's text, fused with exact hits on its
  name and aliases, the same hits on their pinyin (homophone slips like 身分正 or typed pinyin
  like "shiyejin" still hit), rapidfuzz scores for near misses, and its everyday keywords;
- `decide`: `answer` / `clarify` / `fallback` by thresholds;
- `detect_intent`: the phrases of `intents.toml`, weighed against how well a guide matched.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from dataclasses import dataclass

import opencc
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

from bot.knowledge.model import Guide, Knowledge

_T2S = opencc.OpenCC("t2s")

ANSWER_AT = 0.62     # top score from which the bot answers with the best guide …
ANSWER_MARGIN = 0.08  # … when it leads the runner-up by this much (or scores ≥ SURE_AT)
SURE_AT = 0.85
CLARIFY_AT = 0.40    # below this the bot says it does not know

# A service's name without the action word ("老年人优待证办理" → "老年人优待证") is what people say.
ACTION_SUFFIXES = ("办理", "申请", "申领", "登记", "认定", "备案", "受理", "开具", "查询", "报装", "审批")
FILLERS = ("那个", "就是说", "嗯", "呃", "请问", "问一下", "问下", "麻烦")


def _strip_symbols(text: str) -> str:
    """Letters and digits only: punctuation, spaces and emoji go."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def normalise(text: str, synonyms: dict[str, str] | None = None) -> str:
    """Comparable form of a question: NFKC, Simplified, lower case, letters and digits only,
    fillers out, everyday words replaced by official terms (longest first)."""
    text = _T2S.convert(unicodedata.normalize("NFKC", text)).lower()
    text = _strip_symbols(text)
    for filler in FILLERS:
        text = text.replace(filler, "")
    if synonyms:
        for word in sorted(synonyms, key=len, reverse=True):
            if word in text:
                text = text.replace(word, synonyms[word])
    return text



def pinyin(text: str) -> str:
    """Toneless pinyin of the Chinese characters, other letters kept: 身分正 → shenfenzheng."""
    return "".join(lazy_pinyin(text))


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
class Match:
    question: str
    normalised: str
    intent: str                       # guide booking proxy status … unknown
    decision: str                     # answer clarify fallback
    candidates: tuple[Candidate, ...]
    aspect: str | None = None         # materials time place fee … when the question asks one thing

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def as_json(self) -> dict:
        return {"q": self.question, "intent": self.intent, "decision": self.decision,
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
    once: per-bigram BM25 contributions in postings, one flat table of terms for all guides."""

    K1, B = 1.2, 0.75

    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        self.guides: list[Guide] = list(knowledge.guides.values())
        synonyms = knowledge.synonyms
        normal = [[t for t in dict.fromkeys(normalise(t, synonyms) for t in
                                            (g.name, _core_name(g.name), *g.aliases)) if t]
                  for g in self.guides]
        self.terms: list[_Term] = []
        self.keywords: list[tuple[int, str, float]] = []
        tfs: list[Counter] = []
        for i, guide in enumerate(self.guides):
            others = [t for j, ts in enumerate(normal) if j != i for t in ts]
            self.terms += [_Term(i, t, pinyin(t), self._weight(t, others)) for t in normal[i]]
            keywords = [k for k in dict.fromkeys(normalise(k, synonyms) for k in guide.keywords) if k]
            self.keywords += [(i, k, 0.3 + 0.15 * min(len(k), 5) / 5) for k in keywords]
            text = [*normal[i] * 3, *keywords * 2, guide.summary, *(f.q for f in guide.faq), *guide.conditions]
            tfs.append(Counter(g for part in text for g in bigrams(normalise(part, synonyms))))
        self.fuzzy = [(n, t) for n, t in enumerate(self.terms) if len(t.text) >= 3]
        self.fuzzy_texts = [t.text for _, t in self.fuzzy]
        self.postings = self._postings(tfs)

    def _postings(self, tfs: list[Counter]) -> dict[str, list[tuple[int, float]]]:
        n = max(len(tfs), 1)
        lengths = [sum(tf.values()) for tf in tfs]
        avg = sum(lengths) / n if lengths else 1.0
        df: Counter = Counter(g for tf in tfs for g in tf)
        postings: dict[str, list[tuple[int, float]]] = {}
        for i, tf in enumerate(tfs):
            norm = self.K1 * (1 - self.B + self.B * lengths[i] / avg)
            for g, f in tf.items():
                idf = math.log(1 + (n - df[g] + 0.5) / (df[g] + 0.5))
                postings.setdefault(g, []).append((i, idf * f * (self.K1 + 1) / (f + norm)))
        return postings

    @staticmethod
    def _weight(term: str, others: list[str]) -> float:
        """A hit on a long term is strong; on a term that is part of another guide's longer
        name (社会保障卡 in 社会保障卡挂失与补换) it only says which family the question is in."""
        weight = 0.78 + 0.22 * min(len(term), 6) / 6
        if any(term in other and len(other) - len(term) >= 2 for other in others):
            weight -= 0.25
        return weight

    def _term_scores(self, q: str, sound: str) -> list[float]:
        best = [0.0] * len(self.guides)
        hit: set[int] = set()
        for n, term in enumerate(self.terms):
            if term.text in q:
                value = term.weight
            elif len(term.sound) >= 5 and term.sound in sound:
                value = term.weight - 0.08  # same sound, other characters: a slip
            else:
                continue
            hit.add(n)
            best[term.doc] = max(best[term.doc], value)
        if len(q) >= 3:  # near misses, scored in one call into rapidfuzz
            for _, ratio, k in process.extract(q, self.fuzzy_texts, scorer=fuzz.partial_ratio,
                                               score_cutoff=75, limit=None):
                n, term = self.fuzzy[k]
                if n not in hit:
                    best[term.doc] = max(best[term.doc], 0.5 + (ratio / 100 - 0.75) * 1.2)
        return best

    def _keyword_scores(self, q: str) -> list[float]:
        """Everyday words add up: 钱包被偷 + 补卡 says more than either alone."""
        total = [0.0] * len(self.guides)
        for doc, word, value in self.keywords:
            if word in q:
                total[doc] += value
        return [min(t, 0.8) for t in total]

    def _bm25(self, q: str) -> list[float]:
        scores = [0.0] * len(self.guides)
        for g in dict.fromkeys(bigrams(q)):
            for doc, value in self.postings.get(g, ()):
                scores[doc] += value
        return scores

    def rank(self, q: str, limit: int = 3) -> list[Candidate]:
        if not q:
            return []
        terms = self._term_scores(q, pinyin(q))
        keywords = self._keyword_scores(q)
        scored = []
        for doc, lexical in enumerate(self._bm25(q)):
            saturated = lexical / (lexical + 8.0)
            if terms[doc]:
                score = 0.75 * terms[doc] + 0.3 * keywords[doc] + 0.4 * saturated
            else:
                score = 0.6 * keywords[doc] + 0.7 * saturated
            scored.append((score, self.guides[doc].name))
        scored.sort(reverse=True)  # by the raw score: two guides at the 1.0 cap still differ
        return [Candidate(name, min(score, 1.0)) for score, name in scored[:limit] if score > 0.05]


def decide(candidates: list[Candidate]) -> str:
    if not candidates or candidates[0].score < CLARIFY_AT:
        return "fallback"
    top = candidates[0].score
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    if top >= SURE_AT or (top >= ANSWER_AT and top - runner_up >= ANSWER_MARGIN):
        return "answer"
    return "clarify"


def find_phrase(q: str, phrases: tuple[str, ...]) -> str | None:
    for phrase in phrases:
        if phrase in q:
            return phrase
    return None


# Intents that name an action on a service win over the guide itself; the others only when
# no guide was matched with confidence.
ACTION_INTENTS = ("handoff", "complaint", "status", "proxy", "booking", "rating")
SOFT_INTENTS = ("centers", "greeting")


def detect_intent(raw: str, q: str, knowledge: Knowledge, guide_decision: str) -> str:
    for intent in ACTION_INTENTS:
        if find_phrase(q, knowledge.intents.get(intent, ())):
            return intent
    if guide_decision != "answer":
        for intent in SOFT_INTENTS:
            if find_phrase(q, knowledge.intents.get(intent, ())):
                if intent == "greeting" and len(q) > 12:
                    continue
                return intent
    return "guide" if guide_decision != "fallback" else "unknown"


def detect_aspect(q: str, knowledge: Knowledge) -> str | None:
    for aspect, phrases in knowledge.aspects.items():
        if find_phrase(q, phrases):
            return aspect
    return None


class Matcher:
    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        self.index = Index(knowledge)

    def match(self, question: str) -> Match:
        q = normalise(question, self.knowledge.synonyms)
        candidates = self.index.rank(q)
        decision = decide(candidates)
        intent = detect_intent(question, q, self.knowledge, decision)
        if intent in SOFT_INTENTS or intent == "unknown":
            decision = "fallback" if intent == "unknown" else decision
        return Match(question=question, normalised=q, intent=intent, decision=decision,
                     candidates=tuple(candidates), aspect=detect_aspect(q, self.knowledge))
