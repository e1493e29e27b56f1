"""The matcher's segmenter cuts every text into the words jieba (without its HMM) would."""

from __future__ import annotations

import random

import jieba
import pytest

from bot.knowledge.segmenter import Segmenter


def _pair() -> tuple[jieba.Tokenizer, Segmenter]:
    """jieba's tokenizer and ours, with the same dictionary and the same user words."""
    theirs, ours = jieba.Tokenizer(), Segmenter()
    for tokenizer in (theirs, ours):
        for word in ("老年人优待证", "社会保障卡挂失与补换", "低保", "shiyejin"):
            tokenizer.add_word(word)
    return theirs, ours


def test_words_are_jiebas_words():
    theirs, ours = _pair()
    texts = ["", " ", "x", "老年证怎么办", "社保卡丢了怎么补，老年人优待证在哪办？", "我身分正丢了补办要多少钱",
             "jujia yanglao fuwu zenme shenqing", "abc123低保", "ＡＢＣ１２３社保卡", "カタカナの低保", "a-b.c_d%e#f",
             "line\r\nbreak\tand  spaces", "低保。。办理!!🙏", "𠀀𠀁低保𠀂", "shiyejin怎么领", "9月1号前办好"]
    rng = random.Random(21)
    alphabet = "的了我要办低保社会保障卡老年人优待证丢补换在哪里怎么abc 12，。"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(500)]
    for text in texts:
        assert ours.words(text) == theirs.lcut(text, HMM=False), text


def test_a_segmenter_given_anothers_words_cuts_as_it_does():
    """jieba weighs a word added by the dictionary as it stands: another process's segmenter
    cuts alike only with the same words, in the same order, at the same weights (offload.py)."""
    _, first = _pair()
    first.add_word("高龄津贴")
    other = Segmenter()
    other.add_word("老年人优待证")   # the same beginning, as a helper that followed earlier
    other.learn(list(first.taught))
    texts = ["社保卡丢了怎么补，老年人优待证在哪办？", "高龄津贴低保一起办", "shiyejin怎么领老年人优待证"]
    assert [other.words(t) for t in texts] == [first.words(t) for t in texts]
    assert other.taught == first.taught and other.total == first.total


def test_a_segmenter_refuses_words_that_do_not_follow_its_own():
    one = Segmenter()
    one.add_word("低保")
    with pytest.raises(ValueError):
        one.learn([("高龄津贴", 5)])
    assert one.taught == [("低保", one.taught[0][1])]
