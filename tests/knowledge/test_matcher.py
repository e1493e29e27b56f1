"""The matcher understands residents as they write: Traditional, full-width, slips, fillers, pinyin."""

from __future__ import annotations

import pytest

from bot.knowledge.evaluation import evaluate
from bot.knowledge.lexical import Candidate, normalise
from bot.knowledge.matcher import decide


@pytest.fixture(scope="module")
def matcher(knowledge_library):
    return knowledge_library.matcher


@pytest.mark.parametrize("raw, expected", [
    ("異地就醫", "异地就医"),                       # Traditional
    ("ＡＢＣ１２３，社保卡！", "abc123社会保障卡"),   # full-width, punctuation, synonym
    ("嗯那个我想问下低保🙏", "我想低保"),           # voice fillers and emoji
])
def test_normalise(raw, expected):
    assert normalise(raw, {"社保卡": "社会保障卡"}) == expected


@pytest.mark.parametrize("question, guide", [
    ("我爺爺今年九十歲了，高齡津貼要帶什麼證件去辦？", "高龄津贴申领"),   # Traditional
    ("我身分正丢了，补办要多少钱", "居民身份证办理"),                  # homophone slip
    ("残急人证到期了要换新的", "残疾人证办理"),                        # typo
    ("jujia yanglao fuwu zenme shenqing", "居家养老服务申请"),       # typed pinyin
    ("那个我的社保卡芯片好像坏了 嗯就是想换张新的", "社会保障卡挂失与补换"),  # dictated by voice
])
def test_residents_words_find_the_guide(matcher, question, guide):
    assert matcher.match(question).best.name == guide


def test_out_of_scope_questions_fall_back(matcher):
    for question in ("明天镇上会下雨吗", "给我推荐几只能涨的股票", "讲个笑话听听"):
        match = matcher.match(question)
        assert match.decision == "fallback" and match.intent == "unknown", question


def test_thresholds():
    assert decide([]) == "fallback"
    assert decide([Candidate("a", 0.3)]) == "fallback"
    assert decide([Candidate("a", 0.9), Candidate("b", 0.88)]) == "answer"      # sure enough
    assert decide([Candidate("a", 0.7), Candidate("b", 0.66)]) == "clarify"     # too close to call
    assert decide([Candidate("a", 0.7), Candidate("b", 0.5)]) == "answer"


def test_intent_comes_with_the_service(matcher):
    match = matcher.match("我想预约办社保卡")
    assert match.intent == "booking" and match.best.name == "社会保障卡申领"


def test_evaluation_tells_right_wrong_and_out_of_scope_apart(matcher, tmp_path):
    """The figures `frontdesk eval` prints, on a file whose answers are known: one question
    answered right, one answered with a guide its label says is wrong, one out of scope, one matter handled
    elsewhere labelled with the office it belongs to and then with another, one intent."""
    tsv = tmp_path / "questions.tsv"
    tsv.write_text("question\texpect\tservice\talso_ok\n"
                   "jujia yanglao fuwu zenme shenqing\t居家养老服务申请\t\t\n"
                   "我身分正丢了，补办要多少钱\t户口迁移\t\t\n"
                   "明天镇上会下雨吗\t@unknown\t\t\n"
                   "公积金里的钱怎么取出来\t@unknown\t住房公积金提取\t\n"
                   "公积金里的钱怎么取出来\t@unknown\t住房公积金贷款\t\n"
                   "转人工\t@handoff\t\t\n"
                   "我想预约办社保卡\t@booking\t社会保障卡申领\t\n"
                   "我想预约办社保卡\t@booking\t高龄津贴申领\t\n", encoding="utf-8")
    figures = evaluate(matcher, tsv)
    assert (figures.services, figures.answered_right, figures.within_choice, figures.confidently_wrong) == (2, 1, 1, 1)
    assert (figures.unknown, figures.unknown_answered, figures.intents, figures.intents_right) == (3, 0, 8, 8)
    assert (figures.requests, figures.requests_right) == (2, 1)     # taken for 社保卡: right for one label only
    assert (figures.elsewhere, figures.elsewhere_right) == (2, 1)   # sent to one office: right for one label only
    report = figures.report()
    assert "answered right at once 50.0%" in report and "confidently wrong 50.0%" in report
    assert "GUIDE 户口迁移" in report and "sent to the office named: 1/2" in report
    assert "ELSEWHERE 住房公积金贷款 (refer: 住房公积金提取)" in report
    assert "REQUEST @booking for 高龄津贴申领 taken for 社会保障卡申领" in report


def test_match_reports_only_the_intents_of_the_contract(matcher):
    contract = {"guide", "booking", "proxy", "status", "complaint", "rating", "handoff", "greeting", "centers",
                "unknown"}
    for question in ("我要撤回申请", "补材料 D20261124-0001 户口本复印件", "你好", "转人工", "明天下雨吗"):
        assert matcher.match(question).as_json()["intent"] in contract, question


@pytest.mark.parametrize("question, first, second", [
    ("老年证怎么办？高龄补贴能领吗？", "老年人优待证办理", "高龄津贴申领"),
    ("老年证怎么1.高龄吗", "老年人优待证办理", "高龄津贴申领"),
])
def test_a_message_asking_two_things_answers_the_first_and_keeps_the_order_of_likelihood(matcher, question, first, second):
    found = matcher.match(question)
    assert (found.decision, found.best.name, found.also) == ("answer", first, second)
    scores = [c.score for c in found.candidates]
    assert scores == sorted(scores, reverse=True), found.candidates
    assert second not in [c.name for c in found.candidates]


def test_no_near_miss_is_left_out_before_rapidfuzz_scores_it(matcher):
    """The index asks rapidfuzz only about terms that could reach its cut-off: every term that
    does reach it (partial_ratio ≥ 75) must pass that bound, whatever the question."""
    import random

    from rapidfuzz import fuzz

    index = matcher.index
    rng = random.Random(21)
    texts = [t.text for t in index.terms]
    alphabet = "".join(sorted(set("".join(texts)))) + "的了我要办在哪怎么"
    questions = []
    for _ in range(400):   # a term with slips, inside other words
        term = list(rng.choice(texts))
        for _ in range(rng.randint(0, 2)):
            term[rng.randrange(len(term))] = rng.choice(alphabet)
        questions.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) + "".join(term)
                         + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))))
    reached = 0
    for q in questions:
        near = [n for n, text in enumerate(texts) if fuzz.partial_ratio(q, text) >= 75]
        reached += len(near)
        assert index._near_enough(q, near) == near, q
    assert reached > 400


def test_a_few_examples_more_or_less_leave_the_other_readings_as_they_were(matcher):
    """Each example taught or added makes the matcher learn again. Its folds and its calibration
    sample go by each example's own words, not its place among the others: ten examples fewer
    move a handful of readings of our own questions, not dozens, and barely the thresholds."""
    import csv
    import dataclasses
    import random

    from bot.config import PROJECT_ROOT
    from bot.knowledge.matcher import Matcher

    knowledge = matcher.knowledge
    with (PROJECT_ROOT / "eval" / "own" / "questions.tsv").open(encoding="utf-8") as f:
        asked = [row["question"] for row in csv.DictReader(f, delimiter="\t")]
    gone = set(random.Random(2).sample(range(len(knowledge.examples)), 10))
    fewer = Matcher(dataclasses.replace(knowledge, examples=tuple(
        e for i, e in enumerate(knowledge.examples) if i not in gone)))

    def read(m: Matcher, q: str):
        found = m.match(q)
        return found.decision, found.best.name if found.best else None

    moved = [q for q in asked if read(matcher, q) != read(fewer, q)]
    assert len(moved) <= 5, moved
    before, after = matcher.learned.calibration, fewer.learned.calibration
    assert abs(before.clarify_at - after.clarify_at) <= 0.02 and abs(before.sure_at - after.sure_at) <= 0.02
