"""From a resident's words to a guide: normalise → retrieve and rank → decide.

Each stage is a small function of its own:
- `normalise`: width folding, lower case, punctuation, emoji and voice fillers out, everyday
  words replaced by the official terms of `synonyms.toml`;
- `Index.rank`: character-bigram BM25 over each guide's text, fused with exact hits and
  rapidfuzz scores on its name, aliases and keywords (typos like 残急人证 still hit);
- `decide`: `answer` / `clarify` / `fallback` by thresholds;
- `detect_intent`: the phrases of `intents.toml`, weighed against how well a guide matched.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.knowledge.model import Guide, Knowledge

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
    """Comparable form of a question: NFKC, lower case, letters and digits only, fillers out,
    everyday words replaced by official terms (longest first)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _strip_symbols(text)
    for filler in FILLERS:
        text = text.replace(filler, "")
    if synonyms:
        for word in sorted(synonyms, key=len, reverse=True):
            if word in text:
                text = text.replace(word, synonyms[word])
    return text


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


@dataclass
class _Doc:
    guide: Guide
    terms: tuple[str, ...]           # name and aliases, normalised
    keywords: tuple[str, ...]
    tf: Counter = field(default_factory=Counter)
    length: int = 0


class Index:
    """BM25 over character bigrams plus exact and fuzzy hits on names and aliases."""

    K1, B = 1.2, 0.75

    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        self.docs: list[_Doc] = []
        df: Counter = Counter()
        for guide in knowledge.guides.values():
            names = (guide.name, _core_name(guide.name), *guide.aliases)
            terms = tuple(dict.fromkeys(normalise(t, knowledge.synonyms) for t in names))
            keywords = tuple(dict.fromkeys(normalise(k, knowledge.synonyms) for k in guide.keywords))
            text = [*terms, *terms, *terms, *keywords, *keywords, guide.summary,
                    *(f.q for f in guide.faq), *guide.conditions]
            tf = Counter(g for part in text for g in bigrams(normalise(part, knowledge.synonyms)))
            doc = _Doc(guide=guide, terms=tuple(t for t in terms if t), keywords=tuple(k for k in keywords if k),
                       tf=tf, length=sum(tf.values()))
            self.docs.append(doc)
            df.update(tf.keys())
        n = max(len(self.docs), 1)
        self.avg_len = sum(d.length for d in self.docs) / n
        self.idf = {g: math.log(1 + (n - c + 0.5) / (c + 0.5)) for g, c in df.items()}

    def _bm25(self, doc: _Doc, query: list[str]) -> float:
        score = 0.0
        norm = self.K1 * (1 - self.B + self.B * doc.length / self.avg_len)
        for g in query:
            f = doc.tf.get(g)
            if f:
                score += self.idf[g] * f * (self.K1 + 1) / (f + norm)
        return score

    @staticmethod
    def _term_score(doc: _Doc, q: str) -> float:
        best = 0.0
        for term in doc.terms:
            if term in q:
                best = max(best, 0.78 + 0.22 * min(len(term), 6) / 6)
            elif len(term) >= 3 and len(q) >= 3:
                ratio = fuzz.partial_ratio(term, q) / 100
                if ratio >= 0.75:
                    best = max(best, 0.5 + (ratio - 0.75) * 1.2)
        for word in doc.keywords:
            if word in q:
                best = max(best, 0.45 + 0.2 * min(len(word), 5) / 5)
        return best

    def rank(self, q: str, limit: int = 3) -> list[Candidate]:
        if not q:
            return []
        query = list(dict.fromkeys(bigrams(q)))
        scored = []
        for doc in self.docs:
            lexical = self._bm25(doc, query)
            saturated = lexical / (lexical + 8.0)
            exact = self._term_score(doc, q)
            score = max(exact, 0.0) * 0.75 + saturated * 0.45 if exact else saturated * 0.75
            scored.append(Candidate(doc.guide.name, min(score, 1.0)))
        scored.sort(key=lambda c: c.score, reverse=True)
        return [c for c in scored[:limit] if c.score > 0.05]


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
