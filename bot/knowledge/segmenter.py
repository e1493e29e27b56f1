"""Words of a text, as jieba cuts them without its HMM, at half the cost.

jieba's `lcut(text, HMM=False)` builds a graph of the dictionary words starting at each
character (a dict of lists), then the most probable route through it (a generator per
character), then walks the route in another generator. A question is matched several times a
message, so the same arithmetic is done here in one backward pass — each character's words
found and weighed as the route is built — with the same dictionary, the same floating-point
operations in the same order and the same tie-breaking (the later end wins), hence the same
words: tests/knowledge/test_segmenter.py holds them to jieba's own.
"""

from __future__ import annotations

from math import log

import jieba


class Segmenter(jieba.Tokenizer):
    """jieba's tokenizer (its dictionary, `add_word` …) with a faster `cut` for HMM=False.

    Words added are remembered with the frequency each was given (`taught`): jieba weighs a new
    word by the dictionary as it stands, so another process's segmenter cuts the same words
    only after the same words are added in the same order (`learn`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.taught: list[tuple[str, int]] = []

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None:
        self.check_initialized()
        freq = int(freq) if freq is not None else self.suggest_freq(word, False)
        super().add_word(word, freq, tag)
        self.taught.append((word, freq))

    def learn(self, taught: list[tuple[str, int]]) -> None:
        """Add the words another segmenter was taught, after those this one was: the first
        `len(self.taught)` must be the same words (a process that has followed the other)."""
        if self.taught != taught[:len(self.taught)]:
            raise ValueError("this segmenter was taught other words than the one it follows")
        for word, freq in taught[len(self.taught):]:
            self.add_word(word, freq)

    def words(self, text: str) -> list[str]:
        """What `lcut(text, HMM=False)` returns."""
        self.check_initialized()
        found: list[str] = []
        for block in jieba.re_han_default.split(text):
            if not block:
                continue
            if jieba.re_han_default.match(block):
                self._cut_block(block, found)
                continue
            for part in jieba.re_skip_default.split(block):
                if jieba.re_skip_default.match(part):
                    found.append(part)
                else:
                    found.extend(part)
        return found

    def _cut_block(self, sentence: str, found: list[str]) -> None:
        frequency = self.FREQ.get
        n = len(sentence)
        logtotal = log(self.total)
        route: list[tuple[float, int]] = [(0, 0)] * (n + 1)
        for k in range(n - 1, -1, -1):
            best = None
            i = k
            f = frequency(sentence[k])
            while f is not None:   # a word or the start of one
                if f:   # a word of the dictionary (a prefix of one only has 0)
                    step = (log(f) - logtotal + route[i + 1][0], i)
                    if best is None or step > best:
                        best = step
                i += 1
                if i >= n:
                    break
                f = frequency(sentence[k:i + 1])
            if best is None:   # no word starts here: the character alone
                best = (log(frequency(sentence[k]) or 1) - logtotal + route[k + 1][0], k)
            route[k] = best
        x = 0
        letters = ""   # single Latin letters and digits run together into one word
        while x < n:
            y = route[x][1] + 1
            word = sentence[x:y]
            if y - x == 1 and jieba.re_eng.match(word):
                letters += word
            else:
                if letters:
                    found.append(letters)
                    letters = ""
                found.append(word)
            x = y
        if letters:
            found.append(letters)
