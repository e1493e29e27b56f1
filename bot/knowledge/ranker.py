"""Learned at load: what residents' words mean, from the example questions and the guides' texts.

- `ExampleSpace` keeps every example (and each guide's name, aliases, summary and FAQ questions,
  each referral's name and each intent's phrases, as examples of their target) as a row of
  TF-IDF weights over character 1–3-grams of the normalised text and 2–4-grams of its toneless
  pinyin, so typed pinyin and homophone slips land near the characters they stand for. A
  question is scored against each target twice: its cosine to the target's centroid (the
  target's typical question) and its best cosine to one of the target's rows (its nearest
  example).
- `Fusion` is a logistic regression over those two scores and the lexical index's (BM25 over
  guide texts, hits on names, aliases and their pinyin, fuzzy near misses), trained on
  out-of-fold scores of the examples: each example scored with itself left out, as a resident's
  new question would be.
- `Calibration` reads the thresholds off the same out-of-fold scores: the probability from which
  a confident answer is right at least `PRECISION` of the time, and the one under which the
  choices offered would rarely hold the right target, so the bot says it does not know.

Why these rather than a classifier trained per target: leaving one example out of a centroid
and of the nearest neighbours is exact arithmetic, so calibration needs no retraining and takes
a fraction of a second; the space grows to thousands of guides (a sparse row per example, a
sum per target) without a dense weight matrix; and one example added by a clerk can change the
answer at once. The fusion has a dozen weights, so it trains in milliseconds at every load and
needs no model file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from bot.knowledge.model import Knowledge, Target

log = logging.getLogger(__name__)

PRECISION = 0.98           # a sure answer is right at least this often, out of fold …
LIKELY = 0.90              # … a likely one (answered, with the runner-up offered in one line) this often
CALIBRATION_SAMPLE = 2500  # examples scored out of fold at load (all of them when fewer)
OUT_OF_SCOPE_SHARE = 0.15  # of residents' questions, none of our matters: weighs the few such examples
RUNNER_UP_AT = 0.2         # a likely answer names the runner-up only when it has this much chance itself
CHOICE_HOLDS = 0.5         # a numbered choice is offered only where it holds the right target this often
CHOICE_BAND = 0.1          # … among the examples whose best guide scored about as much (within this)
SHORTLIST = 4              # candidates each score puts forward
SOUND_SHARE = 0.4          # the pinyin view's share of a row's (squared) weight
COMMON_ROWS = 0.02         # an n-gram in more than this share of rows is left out of the nearest example
CHUNK = 400                # examples scored together when calibrating
TAUGHT_WEIGHT = 5.0        # an example staff taught weighs as much as five written ones: they meant it
CLOSE_ROWS = 0.25          # rows this similar (cosine without the commonest n-grams) share a matter's words
MANY_TEXTS = 200           # from this many texts, an n-gram of one text alone is left out
MARGIN_C = 0.5             # the margin classifier's regularisation (5-fold CV over the examples: 0.3–1 alike)
MARGIN_TARGETS = 600       # beyond this many targets the margin classifier costs more to train than it adds
KEPT_WEIGHT = 1e-3         # smaller weights of the margin classifier are dropped: a sparse model, same ranking


def _kind_features(kind: str) -> tuple[float, ...]:
    """A target's kind as the fusion's last four features."""
    return tuple(float(kind == k) for k in ("guide", "intent", "referral", "none"))


@dataclass(frozen=True)
class Scored:
    target: Target
    probability: float


class Grams:
    """TF-IDF over character n-grams, fitted by scikit-learn; one question is weighed here
    directly from the fitted vocabulary and idf (the same arithmetic as `transform`, without
    its per-call checks, which cost more than the question itself).

    To find a question's n-grams in the vocabulary without slicing each one out, every known
    n-gram is also kept as one integer: its characters' places in the alphabet of the known
    n-grams (from 1) as the digits of a number in base `base`, the last digit standing for a
    character no known n-gram holds. A question's n-grams become integers the same way, all at
    once, and are looked up in the sorted codes in one call."""

    def __init__(self, low: int, high: int):
        self.low, self.high = low, high

    def fit(self, texts: list[str]) -> sparse.csr_matrix:
        # An n-gram found in one text alone says nothing of a new question; leaving those out
        # keeps a third of the columns (and makes the margins generalise better, out of fold).
        # A handful of texts keeps every n-gram: it has too few to tell.
        self.fitted = TfidfVectorizer(analyzer="char", ngram_range=(self.low, self.high), sublinear_tf=True,
                                      dtype=np.float32, min_df=2 if len(texts) >= MANY_TEXTS else 1)
        rows = self.fitted.fit_transform(texts)
        self.vocabulary: dict[str, int] = self.fitted.vocabulary_
        self.idf = self.fitted.idf_.astype(np.float64)
        self._code(self.vocabulary)
        return rows

    def _code(self, vocabulary: dict[str, int]) -> None:
        """The digits of the alphabet's characters, the base, and the known n-grams as sorted codes with
        their feature indexes; no codes (`codes` None) where the longest would not fit in 63 bits."""
        alphabet = sorted({ch for gram in vocabulary for ch in gram})
        self.base = len(alphabet) + 2
        # by code point: the character's digit (a place past the alphabet's last: the unknown digit)
        self.digit_of = np.full(ord(alphabet[-1]) + 2 if alphabet else 1, self.base - 1, dtype=np.int64)
        self.digit_of[[ord(ch) for ch in alphabet]] = np.arange(1, len(alphabet) + 1)
        self.codes: np.ndarray | None = None
        if self.base ** self.high >= 2 ** 62 or not vocabulary:
            return
        grams = list(vocabulary)
        digits = self._digits("".join(grams))
        lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        ends = np.cumsum(lengths)
        codes = np.zeros(len(grams), dtype=np.int64)
        for k in range(int(lengths.max())):   # the k-th character of every gram at least k + 1 long
            longer = lengths > k
            codes[longer] = codes[longer] * self.base + digits[ends[longer] - lengths[longer] + k]
        order = np.argsort(codes)
        # a last code above any n-gram's: every code looked up lands on a code of the array
        self.codes = np.append(codes[order], np.iinfo(np.int64).max)
        self.features = np.append(np.fromiter(vocabulary.values(), dtype=np.int64, count=len(grams))[order], -1)

    def _digits(self, text: str) -> np.ndarray:
        """Each character's place in the alphabet, from 1; base - 1 for one not in it."""
        points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        return self.digit_of.take(points, mode="clip")

    def found(self, text: str) -> np.ndarray:
        """The feature of each known n-gram of `text`, in order, shortest n-grams first, repeats kept."""
        if self.codes is None:   # an alphabet too large to code: n-gram by n-gram
            vocabulary = self.vocabulary
            return np.array([vocabulary[gram] for n in range(self.low, self.high + 1)
                             for i in range(len(text) - n + 1) if (gram := text[i:i + n]) in vocabulary],
                            dtype=np.int64)
        digits = self._digits(text)
        grams = []
        codes = digits
        for n in range(1, self.high + 1):
            if n > 1:
                codes = codes[:-1] * self.base + digits[n - 1:]
            if n >= self.low:
                grams.append(codes)
        codes = np.concatenate(grams)
        at = self.codes.searchsorted(codes)
        return self.features[at[self.codes[at] == codes]]

    def weigh(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature indexes, weights) of one text, unit length."""
        index, weight = _tf_idf(self.found(text), self.idf)
        return index, weight / np.sqrt(weight @ weight)


def _tf_idf(found: np.ndarray, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features, sublinear tf × idf) of the features found, in the order each was first found
    (as `Counter` would count them: the order the sums over them are made in)."""
    if not len(found):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    index, first, counts = np.unique(found, return_index=True, return_counts=True)
    order = np.argsort(first)
    index = index[order]
    return index, (1 + np.log(counts[order].astype(np.float64))) * idf[index]


def _gather(matrix: sparse.csr_matrix, index: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    """weight · matrix[index] for a CSR matrix whose rows are features: the score of every column."""
    starts = matrix.indptr[index]
    lengths = matrix.indptr[index + 1] - starts
    reach = np.cumsum(lengths)   # where each feature's entries end among all gathered
    total = int(reach[-1]) if len(reach) else 0
    if not total:
        return np.zeros(size)
    offsets = np.repeat(starts - (reach - lengths), lengths) + np.arange(total)
    return np.bincount(matrix.indices[offsets], weights=matrix.data[offsets] * np.repeat(weight, lengths),
                       minlength=size)


class ExampleSpace:
    def __init__(self, rows: list[tuple[str, str, Target]]):
        """`rows`: (normalised text, its pinyin, target) for every example and guide text."""
        rows = sorted(rows, key=lambda r: (r[2].kind, r[2].name))
        self.texts = [r[0] for r in rows]
        self.row_targets = [r[2] for r in rows]
        self.targets: list[Target] = list(dict.fromkeys(self.row_targets))
        position = {t: i for i, t in enumerate(self.targets)}
        self.row_target = np.array([position[t] for t in self.row_targets], dtype=np.int64)
        self.starts = np.flatnonzero(np.r_[True, self.row_target[1:] != self.row_target[:-1]])
        self.chars, self.sounds = Grams(1, 3), Grams(2, 4)
        self.rows = self._join(self.chars.fit(self.texts), self.sounds.fit([r[1] for r in rows]))
        self.idf = np.concatenate((self.chars.idf, self.sounds.idf))
        self.char_share, self.sound_share = np.sqrt(1 - SOUND_SHARE), np.sqrt(SOUND_SHARE)
        # question @ this: its cosine to each row, without the n-grams most rows share (的, 我, 怎么 …):
        # they decide no nearest example, and they would make every question touch every row
        by_feature = sparse.csr_matrix(self.rows.T)
        kept = (np.diff(by_feature.indptr) <= max(COMMON_ROWS * len(rows), 50)).astype(np.float32)
        self.by_feature = sparse.csr_matrix(sparse.diags(kept) @ by_feature)
        self.by_feature.eliminate_zeros()
        membership = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (self.row_target, np.arange(len(rows)))),
                                       shape=(len(self.targets), len(rows)))
        sums = sparse.csr_matrix(membership @ self.rows)               # a target's rows added up
        self.sums_by_feature = sparse.csr_matrix(sums.T)
        # one question's centroid cosines from a dense copy where it is small (a few hundred targets);
        # thousands of guides keep to the sparse one
        self.sums_dense = (self.sums_by_feature.toarray().astype(np.float32)
                           if len(self.targets) <= MARGIN_TARGETS else None)
        self.sum_norms2 = np.asarray(sums.multiply(sums).sum(axis=1), dtype=np.float64).ravel()
        self.sum_norms = np.sqrt(np.maximum(self.sum_norms2, 1e-12))

    @cached_property
    def _keys(self) -> np.ndarray:
        return np.array([int.from_bytes(hashlib.blake2b(f"{target.kind}\x1f{target.name}\x1f{text}".encode(),
                                                        digest_size=8).digest(), "big")
                         for text, target in zip(self.texts, self.row_targets)], dtype=np.uint64)

    def keys(self, rows: list[int]) -> np.ndarray:
        """A number for each example row drawn from its target and words alone, not its place:
        the folds and the calibration sample made from these stay what they were when examples
        are added or taught (a few more move, not all), so the thresholds do not jump with them.
        Made once for every row (the folds and the sample both ask)."""
        return self._keys[np.asarray(rows, dtype=np.int64)]

    @staticmethod
    def _join(chars: sparse.spmatrix, sounds: sparse.spmatrix) -> sparse.csr_matrix:
        """Both views are unit length per row; weighted so that the row stays unit length."""
        return sparse.hstack([chars * np.float32(np.sqrt(1 - SOUND_SHARE)),
                              sounds * np.float32(np.sqrt(SOUND_SHARE))]).tocsr()

    def vector(self, text: str, sound: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature indexes, weights) of a question in the joined space: both views counted
        together, each then made unit length and weighted by its share."""
        split = len(self.chars.vocabulary)
        index, weight = _tf_idf(np.concatenate((self.chars.found(text), self.sounds.found(sound) + split)), self.idf)
        chars = int(np.count_nonzero(index < split))   # the characters' features come first
        char_weights, sound_weights = weight[:chars], weight[chars:]
        return index, np.concatenate((char_weights / np.sqrt(char_weights @ char_weights) * self.char_share,
                                      sound_weights / np.sqrt(sound_weights @ sound_weights) * self.sound_share))

    def displaced(self, index: np.ndarray, weight: np.ndarray, target: Target, look: int = 10) -> list[int]:
        """Rows of other targets to which a question, taught as an example of `target`, would be
        closer than any row of their own target is (and close at all, CLOSE_ROWS): their nearest
        example would change."""
        sims = _gather(self.by_feature, index, weight, len(self.texts))
        ends = np.r_[self.starts[1:], len(self.texts)]
        found = []
        for row in np.argsort(-sims)[:look]:
            if sims[row] < CLOSE_ROWS:
                break
            if self.row_targets[row] == target:
                continue
            own = self.rows[row]
            mine = _gather(self.by_feature, own.indices.astype(np.int64), own.data.astype(np.float64), len(self.texts))
            mine[row] = 0.0
            t = self.row_target[row]
            start = self.starts[t]
            if sims[row] >= mine[start:ends[t]].max(initial=0.0):
                found.append(int(row))
        return found

    def score(self, index: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cosine to each target's centroid, best cosine to one of its rows) for one question."""
        sims = _gather(self.by_feature, index, weight, len(self.texts))
        dots = (weight @ self.sums_dense[index] if self.sums_dense is not None else
                _gather(self.sums_by_feature, index, weight, len(self.targets)))
        return dots / self.sum_norms, np.maximum.reduceat(sims, self.starts)

    def scores(self, vectors: sparse.csr_matrix, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(cosine to each target's centroid, best cosine to one of its rows), one line per vector
        (many at once, for calibration). With `rows` (the vectors are those rows of the space),
        each is scored with itself left out: as if it were a new question."""
        sims = (vectors @ self.by_feature).toarray()
        dots = (vectors @ self.sums_by_feature).toarray().astype(np.float64)
        norms2 = np.broadcast_to(self.sum_norms2, dots.shape).copy()
        if rows is not None:
            lines = np.arange(len(rows))
            sims[lines, rows] = 0.0
            own = self.row_target[rows]
            d = dots[lines, own]
            norms2[lines, own] = self.sum_norms2[own] - 2 * d + 1
            dots[lines, own] = d - 1
        central = dots / np.sqrt(np.maximum(norms2, 1e-12))
        nearest = np.maximum.reduceat(sims, self.starts, axis=1)
        return central, nearest


def _best(scores: np.ndarray, n: int) -> np.ndarray:
    """Indexes of the n highest scores, highest first."""
    if len(scores) > n:
        top = np.argpartition(-scores, n - 1)[:n]
        return top[np.argsort(-scores[top])]
    return np.argsort(-scores)


class Margins:
    """A linear classifier (one-vs-rest linear SVM, liblinear through scikit-learn) over the same
    rows: where the centroid and the nearest example weigh every n-gram alike, it learns which
    n-grams tell one target from its neighbours (低保 vs 特困, 参保 vs 待遇申领). Its margins are
    one more score per target for the fusion.

    The examples are split into FOLDS folds and one model is fitted without each (all the guides'
    own texts always in): an example's margins for calibration come from the model that never saw
    it, and a new question's are the average of the FOLDS models — as good as one model fitted on
    everything (measured out of fold and on questions of our own), and one fit fewer at each load.
    Four folds: each model sees three quarters of the examples, close enough to all of them that
    the calibration holds for the averaged model; more folds cost a fit each for little."""

    FOLDS = 4

    def __init__(self, space: "ExampleSpace", example_rows: list[int], weights: np.ndarray | None = None):
        """`weights`: how much each row counts (an example staff taught counts TAUGHT_WEIGHT times)."""
        self.size = len(space.targets)
        weights = np.ones(len(space.texts)) if weights is None else weights
        fold = np.full(len(space.texts), -1, dtype=np.int64)
        fold[example_rows] = space.keys(example_rows) % self.FOLDS   # an example keeps its fold as others come
        trainings = [fold != k for k in range(self.FOLDS)]
        # liblinear lets go of the GIL while it trains: the fits share the cores
        with ThreadPoolExecutor(max_workers=min(self.FOLDS, os.cpu_count() or 1)) as pool:
            folds = list(pool.map(lambda train: self._fit(space.rows[train], space.row_target[train], weights[train]),
                                  trainings))
        # dense, features × targets: a question's margins are a weighted sum of its features' rows
        # (the folds' weights together fill a good part of the matrix, where a sparse gather is slower)
        self.weights = (sum(by_feature for by_feature, _ in folds) / self.FOLDS).toarray().astype(np.float32)
        self.bias = sum(bias for _, bias in folds) / self.FOLDS
        self.held_out: dict[int, np.ndarray] = {}
        for k, (by_feature, bias) in enumerate(folds):
            rows = np.flatnonzero(fold == k)
            self.held_out.update(zip(rows.tolist(), (space.rows[rows] @ by_feature).toarray() + bias))

    def _fit(self, rows: sparse.csr_matrix, labels: np.ndarray, weights: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
        """(weights by feature, sparse: features × targets; bias per target). A target absent
        from the rows (all its examples in the left-out fold) gets a margin that never wins."""
        model = LinearSVC(C=MARGIN_C, tol=1e-2, random_state=0).fit(rows, labels, sample_weight=weights)
        coef = model.coef_ if len(model.classes_) > 2 else np.vstack([-model.coef_[0], model.coef_[0]])
        bias_of = model.intercept_ if len(model.classes_) > 2 else np.array([-model.intercept_[0], model.intercept_[0]])
        kept = sparse.csr_matrix(np.where(np.abs(coef) >= KEPT_WEIGHT, coef, 0.0).astype(np.float32))
        placed = sparse.csr_matrix((np.ones(len(model.classes_), dtype=np.float32),
                                    (model.classes_, np.arange(len(model.classes_)))), shape=(self.size, len(model.classes_)))
        bias = np.full(self.size, -2.0)
        bias[model.classes_] = bias_of
        return sparse.csr_matrix((placed @ kept).T), bias

    def score(self, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return weight @ self.weights[index] + self.bias


class Fusion:
    """The scores a target got → the probability that it is what the resident means."""

    def __init__(self, model: LogisticRegression):
        self.weights = model.coef_.ravel().astype(np.float64)
        self.bias = float(model.intercept_[0])

    def probability(self, features: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(features @ self.weights + self.bias)))


@dataclass(frozen=True)
class Calibration:
    sure_at: float        # from this lead over the runner-up the answer needs no alternative
    answer_at: float      # from this lead the bot answers at once (offering the runner-up)
    clarify_at: float     # under this probability of the best guide it says it does not know
    precision: float      # of the answers given at once, out of fold
    answered: float       # share of the examples answered at once, out of fold
    right_at_once: float  # share answered at once with the right target
    within_choice: float  # share answered right or with the right target among the choices
    examples: int

    def report(self) -> str:
        return (f"examples out of fold ({self.examples}): answered right at once {self.right_at_once:.1%}, "
                f"right within the choice {self.within_choice:.1%}, answers right {self.precision:.1%}; "
                f"sure from a lead of {self.sure_at:.2f}, answer from {self.answer_at:.2f}, clarify from p={self.clarify_at:.2f}")


def choose_thresholds(lead: np.ndarray, right: np.ndarray, offered: np.ndarray, stray: np.ndarray,
                      guide_best: np.ndarray, guide_holds: np.ndarray, about_matters: np.ndarray) -> Calibration:
    """`lead`: how much each example's top target's probability leads the runner-up's; `right`:
    whether that target was the right one; `offered`: whether the right target was among the
    first three; `stray`: whether the example is out of scope (none of our matters); `guide_best`:
    the best a guide scored (a choice of guides is offered on it); `guide_holds`: whether the
    example's guide was among the first three guides; `about_matters`: the example is about a
    guide, a referral or nothing of ours (not an intent, which is routed before any choice).

    The answer thresholds are the lowest leads at which the answers above them are still right
    PRECISION (sure) or LIKELY of the time, walking down from the most confident. The lead, not the
    top probability alone: a target at 0.6 with every other under 0.05 is right far more often
    than one at 0.8 beside another at 0.7 (out of fold, the lead answers a fifth more of the
    examples at the same precision). The clarify threshold is the lowest probability of the best
    guide at which a numbered choice, where no answer is given, holds the right target at least
    CHOICE_HOLDS of the time among the examples scoring about that much (within CHOICE_BAND: the
    many well-served choices above must not carry a band below where choices seldom hold, such
    as words near nothing of ours), out-of-scope examples weighed as if they were
    OUT_OF_SCOPE_SHARE of the questions (residents ask far more of them than the examples hold)."""
    order = np.argsort(-lead)
    running = np.cumsum(right[order]) / np.arange(1, len(order) + 1)

    def lowest(precision: float) -> float:
        precise = np.flatnonzero(running >= precision)
        return float(max(lead[order][precise[-1]], 0.3)) if len(precise) else 0.99

    sure_at, answer_at = lowest(PRECISION), lowest(LIKELY)
    answered = lead >= answer_at
    weight = np.ones(len(lead))
    if stray.any() and not stray.all():
        weight[stray] = OUT_OF_SCOPE_SHARE / (1 - OUT_OF_SCOPE_SHARE) * (~stray).sum() / stray.sum()
    clarify_at = 1.0
    for threshold in np.linspace(0.05, 1.0, 77):
        band = about_matters & ~answered & (guide_best >= threshold) & (guide_best < threshold + CHOICE_BAND)
        if band.any() and np.average(guide_holds[band], weights=weight[band]) >= CHOICE_HOLDS:
            clarify_at = float(threshold)
            break
    choice = ~answered & (guide_best >= clarify_at) & offered
    n = max(len(lead), 1)
    return Calibration(sure_at=sure_at, answer_at=answer_at, clarify_at=clarify_at,
                       precision=float(right[answered].mean()) if answered.any() else 1.0,
                       answered=float(answered.sum() / n), right_at_once=float((answered & right).sum() / n),
                       within_choice=float(((answered & right) | choice).sum() / n), examples=len(lead))


MIN_EXAMPLES = 20          # fewer examples than this (or all of one target) teach nothing to calibrate on


def learnable(knowledge: Knowledge) -> bool:
    """Enough examples, of at least two targets, to learn from and calibrate on; otherwise the
    matcher stays with the guides' own texts."""
    return len(knowledge.examples) >= MIN_EXAMPLES and len({e.target for e in knowledge.examples}) >= 2


class Learned:
    """The examples' space and its fusion with the lexical index, trained at load."""

    def __init__(self, knowledge: Knowledge, lexical: Callable, normal: Callable[[str], str],
                 sound: Callable[[str], str]):
        """`lexical(text, limit, sound)`: the index's candidates (`sound`: the text's pinyin, or None); `normal`: the matcher's normal form;
        `sound`: pinyin."""
        self.lexical = lexical
        rows: list[tuple[str, str, Target]] = []
        examples = set()
        taught = set()
        for example in knowledge.examples:
            if text := normal(example.question):
                rows.append((text, sound(text), example.target))
                examples.add((text, example.target))
                if example.source.startswith("taught:"):
                    taught.add((text, example.target))
        texts = [(t, Target("guide", g.name)) for g in (*knowledge.guides.values(), *knowledge.bundles.values())
                 for t in (g.name, *g.aliases, g.summary, *(f.q for f in g.faq))]
        texts += [(r.name, Target("referral", r.name)) for r in knowledge.referrals.values()]
        texts += [(p, Target("intent", i)) for i, phrases in knowledge.intents.items() for p in phrases]
        for text, target in texts:
            if (t := normal(text)) and (t, target) not in examples:
                rows.append((t, sound(t), target))
        self.space = ExampleSpace(rows)
        self.position = {t: i for i, t in enumerate(self.space.targets)}
        self.kinds = [_kind_features(t.kind) for t in self.space.targets]
        example_rows = [i for i, (text, target) in enumerate(zip(self.space.texts, self.space.row_targets))
                        if (text, target) in examples]
        weights = np.array([TAUGHT_WEIGHT if (text, target) in taught else 1.0
                            for text, target in zip(self.space.texts, self.space.row_targets)])
        self.margins = Margins(self.space, example_rows, weights) if len(self.space.targets) <= MARGIN_TARGETS else None
        self.fusion, self.calibration = self._train(example_rows)
        log.info("%d rows for %d targets; %s", len(rows), len(self.space.targets), self.calibration.report())

    def _candidates(self, text: str, central: np.ndarray, nearest: np.ndarray,
                    margins: np.ndarray | None, sound: str | None = None) -> tuple[list[Target], np.ndarray]:
        """The targets each score puts forward, and their features for the fusion. Targets are
        handled by their place in the space (a guide the space lacks, by itself)."""
        position, targets = self.position, self.space.targets
        lexical: dict[int | Target, float] = {}
        for c in self.lexical(text, SHORTLIST, sound):
            target = Target("guide", c.name)
            lexical[position.get(target, target)] = c.score
        by_central, by_nearest = _best(central, SHORTLIST).tolist(), _best(nearest, SHORTLIST).tolist()
        by_margin = _best(margins, SHORTLIST).tolist() if margins is not None else []
        chosen = list(dict.fromkeys([*by_margin, *by_central, *by_nearest, *lexical]))
        top_c = [central[i] for i in by_central[:2]]
        top_n = [nearest[i] for i in by_nearest[:2]]
        top_m = [margins[i] for i in by_margin[:2]] if margins is not None else None
        first_lexical = next(iter(lexical), None)
        kinds = self.kinds
        rows = []
        for key in chosen:
            i = key if type(key) is int else None
            c = float(central[i]) if i is not None else 0.0
            n = float(nearest[i]) if i is not None else 0.0
            c_lead = c - float(top_c[1] if i == by_central[0] and len(top_c) > 1 else top_c[0])
            n_lead = n - float(top_n[1] if i == by_nearest[0] and len(top_n) > 1 else top_n[0])
            if top_m is not None and i is not None:
                m = float(margins[i])
                m_lead = m - float(top_m[1] if i == by_margin[0] and len(top_m) > 1 else top_m[0])
            else:
                m, m_lead = -1.0, -1.0
            rows.append([lexical.get(key, 0.0), c, n, float(key == first_lexical),
                         float(i == by_central[0]), float(i == by_nearest[0]), c_lead, n_lead, m, m_lead,
                         *(kinds[i] if i is not None else _kind_features(key.kind))])
        return [targets[k] if type(k) is int else k for k in chosen], np.array(rows, dtype=np.float64)

    def _train(self, example_rows: list[int]) -> tuple[Fusion, Calibration]:
        """Fit the fusion on the examples scored out of fold, and read off the thresholds."""
        if len(example_rows) > CALIBRATION_SAMPLE:   # the same examples as before, but for a few, as others come
            keys = self.space.keys(example_rows)
            example_rows = sorted(np.asarray(example_rows)[np.argsort(keys, kind="stable")[:CALIBRATION_SAMPLE]].tolist())
        groups: list[tuple[list[Target], np.ndarray, Target]] = []
        for start in range(0, len(example_rows), CHUNK):
            rows = np.array(example_rows[start:start + CHUNK])
            central, nearest = self.space.scores(self.space.rows[rows], rows)
            for line, row in enumerate(rows):
                margins = self.margins.held_out[int(row)] if self.margins is not None else None
                chosen, feats = self._candidates(self.space.texts[row], central[line], nearest[line], margins)
                groups.append((chosen, feats, self.space.row_targets[row]))
        x = np.vstack([feats for _, feats, _ in groups])
        y = np.concatenate([[t == truth for t in chosen] for chosen, _, truth in groups])
        model = LogisticRegression(C=1.0, max_iter=1000)
        model.fit(x, y)
        fusion = Fusion(model)
        lead, right, offered, guide_best, guide_holds = [], [], [], [], []
        for chosen, feats, truth in groups:
            p = fusion.probability(feats)
            order = np.argsort(-p)
            lead.append(p[order[0]] - (p[order[1]] if len(order) > 1 else 0.0))
            right.append(chosen[order[0]] == truth)
            offered.append(any(chosen[i] == truth for i in order[:3]))
            guides = [i for i in order if chosen[i].kind == "guide"]
            guide_best.append(p[guides[0]] if guides else 0.0)
            guide_holds.append(any(chosen[i] == truth for i in guides[:3]))
        stray = np.array([truth.kind == "none" for _, _, truth in groups])
        about_matters = np.array([truth.kind != "intent" for _, _, truth in groups])
        return fusion, choose_thresholds(np.array(lead), np.array(right), np.array(offered), stray,
                                         np.array(guide_best), np.array(guide_holds), about_matters)

    def rank(self, text: str, sound: str) -> list[Scored]:
        if not text:
            return []
        vector = self.space.vector(text, sound)
        central, nearest = self.space.score(*vector)
        margins = self.margins.score(*vector) if self.margins is not None else None
        chosen, feats = self._candidates(text, central, nearest, margins, sound)
        p = self.fusion.probability(feats)
        return [Scored(chosen[i], float(p[i])) for i in np.argsort(-p)]
