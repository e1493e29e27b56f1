"""From a resident's words to a guide: normalise → retrieve and rank → decide.

Each stage is a small function of its own:
- `normalise` and `Index.rank` (`lexical.py`): the question in comparable form, and the guides
  ranked by their own words — BM25, exact, pinyin and near-miss hits on names and aliases, and
  everyday keywords;
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
import re
import unicodedata
from dataclasses import dataclass

from bot.knowledge.lexical import Candidate, Index, normalise, pinyin
from bot.knowledge.model import Example, Knowledge, Target
from bot.knowledge.ranker import RUNNER_UP_AT, Learned, learnable

ANSWER_AT = 0.62     # top score from which the bot answers with the best guide …
ANSWER_MARGIN = 0.08  # … when it leads the runner-up by this much (or scores ≥ SURE_AT)
SURE_AT = 0.85
CLARIFY_AT = 0.40    # below this the bot says it does not know
NAMED_AT = 0.5       # a request's best candidate this likely is the service the request is about
TWO_PART_LONGEST = 60  # a message this long tells a story: its questions are about one matter

# DESIGN.md fixes the intents `frontdesk match` reports; a resident's moves on their own cases
# (withdraw, reply with materials) are about the status of a case.
CONTRACT_INTENT = {"withdraw": "status", "materials_reply": "status", "my_bookings": "status",
                   "home_visit": "booking", "cancel_booking": "booking", "reschedule": "booking", "bind": "centers"}


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
