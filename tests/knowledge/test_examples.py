"""Example questions and referrals: how a county teaches the matcher residents' words, what the
loader refuses, and what the learned ranker makes of questions no guide's own text holds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.config import PROJECT_ROOT
from bot.errors import KnowledgeError
from bot.knowledge.loader import load_knowledge
from bot.knowledge.ranker import choose_thresholds

KNOWLEDGE = PROJECT_ROOT / "knowledge"


@pytest.fixture(scope="module")
def matcher(knowledge_library):
    return knowledge_library.matcher


@pytest.fixture
def kb(tmp_path) -> Path:
    """A copy of the knowledge base with a small examples folder of its own, to break."""
    root = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, root, ignore=shutil.ignore_patterns("examples"))
    (root / "examples" / "guides").mkdir(parents=True)
    (root / "examples" / "guides" / "高龄津贴申领.txt").write_text(
        "# 高龄津贴\n俺爹今年八十五了每个月能领点啥\n\n九十岁老人的补贴咋领\n", encoding="utf-8")
    return root


def _problems(root: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(root)
    return caught.value.problems


def test_examples_and_referrals_load_with_their_targets(kb):
    knowledge = load_knowledge(kb)
    assert [(e.question, e.target.kind, e.target.name) for e in knowledge.examples] == [
        ("俺爹今年八十五了每个月能领点啥", "guide", "高龄津贴申领"), ("九十岁老人的补贴咋领", "guide", "高龄津贴申领")]
    assert knowledge.examples[1].source.endswith("高龄津贴申领.txt:4")
    assert "住房公积金提取" in knowledge.referrals


def test_a_file_for_no_known_target_is_named_with_its_line(kb):
    (kb / "examples" / "guides" / "宇宙飞船驾照.txt").write_text("飞船驾照怎么考\n", encoding="utf-8")
    (kb / "examples" / "intents" ).mkdir()
    (kb / "examples" / "intents" / "dance.txt").write_text("跳个舞\n", encoding="utf-8")
    (kb / "examples" / "notes.md").write_text("随手记\n", encoding="utf-8")
    problems = _problems(kb)
    assert any("宇宙飞船驾照.txt:1" in p and "not a known guide" in p for p in problems)
    assert any("dance.txt:1" in p and "not a known intent" in p for p in problems)
    assert any("notes.md:1" in p and "examples/guides/" in p for p in problems)


def test_the_same_question_for_two_targets_is_a_clash_named_at_both(kb):
    (kb / "examples" / "guides" / "社会保障卡申领.txt").write_text("九十岁老人的补贴咋领？\n", encoding="utf-8")
    [problem] = _problems(kb)
    assert "社会保障卡申领.txt:1" in problem and "高龄津贴申领.txt:4" in problem and "高龄津贴申领" in problem


def test_a_referral_never_stands_for_one_of_our_guides(kb):
    text = (kb / "referrals.toml").read_text(encoding="utf-8")
    (kb / "referrals.toml").write_text(text + '\n[[referral]]\nname = "老年证"\nhandled_by = "某局"\n'
                                       'contact = "12345"\nhow = "去问问"\n', encoding="utf-8")
    problems = _problems(kb)
    assert any("referrals.toml" in p and "'老年证' is one of our own guides" in p for p in problems)


def test_an_overlong_example_and_a_broken_referral_are_refused(kb):
    (kb / "examples" / "guides" / "低保.txt").unlink(missing_ok=True)
    (kb / "examples" / "guides" / "最低生活保障申请.txt").write_text("低保" * 200 + "\n", encoding="utf-8")
    (kb / "referrals.toml").write_text('[[referral]]\nname = "护照"\nhandled_by = 3\n', encoding="utf-8")
    problems = _problems(kb)
    assert any("最低生活保障申请.txt:1" in p and "at most 300 characters" in p for p in problems)
    assert any("referrals.toml:" in p and "missing or empty: handled_by, contact, how" in p for p in problems)


@pytest.mark.parametrize("question, referral", [
    ("公积金里的钱怎么取出来", "住房公积金提取"),
    ("开小吃店的执照拿到了，每个月报税在哪报", "个体户纳税申报"),   # beside 小餐饮经营登记, asking another thing
    ("驾照快到期了去哪换", "驾驶证到期换证"),
])
def test_a_matter_handled_elsewhere_is_referred_not_answered_with_a_guide(matcher, question, referral):
    match = matcher.match(question)
    assert (match.intent, match.decision, match.best.name) == ("guide", "refer", referral)
    assert match.as_json()["decision"] == "refer"


@pytest.mark.parametrize("question, intent", [
    ("zhuan rengong", "handoff"),          # typed pinyin
    ("叫个人来跟我说", "handoff"),           # no phrase of intents.toml, learned from the examples
    ("👍👍", "greeting"),                   # thanks in emoji
    ("🙏", "greeting"),
])
def test_intents_in_other_words(matcher, question, intent):
    assert matcher.match(question).as_json()["intent"] == intent


def test_a_phone_number_in_a_question_does_not_change_its_answer(matcher):
    plain, with_number = matcher.match("社保卡丢了怎么补"), matcher.match("社保卡丢了怎么补 电话13800001234")
    assert (plain.decision, plain.best.name) == (with_number.decision, with_number.best.name) == ("answer", "社会保障卡挂失与补换")


def test_digits_alone_are_not_taken_for_a_matter(matcher):
    for question in ("12", "½", "2026", "ok"):
        assert matcher.match(question).decision in ("fallback", "clarify"), question
        assert matcher.match(question).decision != "refer"


def test_the_calibration_answers_only_as_far_as_answers_stay_right():
    """Ten examples of falling confidence, the last three wrong: the sure threshold stops above
    them; a choice is offered down to where it still holds the right target half of the time."""
    best = np.array([0.99, 0.97, 0.95, 0.9, 0.85, 0.8, 0.75, 0.6, 0.5, 0.4])
    right = np.array([True] * 7 + [False] * 3)
    offered = np.array([True] * 8 + [False] * 2)
    none = np.zeros(10, dtype=bool)
    calibration = choose_thresholds(best, right, offered, none, best, offered, ~none)
    assert calibration.sure_at == pytest.approx(0.75) and calibration.answer_at == pytest.approx(0.75)
    assert calibration.precision == 1.0 and calibration.right_at_once == pytest.approx(0.7)
    assert 0.4 < calibration.clarify_at <= 0.6


def test_a_choice_is_not_offered_where_choices_at_that_score_seldom_hold():
    """Many examples a choice serves well at 0.3–0.4, and a few at 0.05–0.1 where the choice
    seldom holds the right guide (words near nothing of ours, like 石狮子的事找谁): taken
    together they would still hold half the time, but the choice is offered only from where
    choices at about that score hold."""
    high = np.linspace(0.3, 0.4, 40)
    low = np.linspace(0.05, 0.1, 10)
    best = np.concatenate([high, low])
    holds = np.concatenate([np.ones(40, dtype=bool), np.arange(10) < 2])   # 2 of the 10 low ones
    none = np.zeros(50, dtype=bool)
    calibration = choose_thresholds(best, none, holds, none, best, holds, ~none)
    assert 0.1 < calibration.clarify_at <= 0.3


def test_a_question_is_weighed_as_scikit_learn_would():
    from bot.knowledge.ranker import Grams

    for grams, texts in ((Grams(1, 3), ["低保怎么申请", "老年证在哪办", "社会保障卡丢了", "低保低保要带什么", "𠀀字"]),
                         (Grams(2, 4), ["dibao zenme shenqing", "laonianzheng zaina ban", "shebaoka diule"])):
        grams.fit(texts)
        for text in ("低保在哪办", "社会保障卡丢了低保", "低保低保低保低保", "没见过的字", "低", "", "𠀀字低保",
                     "dibaodibao", "shebaokadiule zaina", "zzzz"):
            index, weight = grams.weigh(text)
            expected = grams.fitted.transform([text]).toarray().ravel()
            mine = np.zeros_like(expected)
            mine[index] = weight
            assert np.allclose(mine, expected, atol=1e-6), text
            assert len(set(index.tolist())) == len(index), text
            codes, grams.codes = grams.codes, None   # as for an alphabet too large to code
            by_slices = grams.weigh(text)
            grams.codes = codes
            assert np.array_equal(by_slices[0], index) and np.array_equal(by_slices[1], weight), text


@pytest.mark.parametrize("question, guide", [
    ("我问的不是临时救助那种给一次的，是每个月都发的兜底的低保钱", "最低生活保障申请"),
    ("高龄津贴那个我们不问，想问老人一个人在家能不能有人上门送饭打扫", "居家养老服务申请"),
    ("包丢了，身份证还在，就是看病刷的那张卡没了怎么补", "社会保障卡挂失与补换"),
])
def test_a_service_named_only_to_be_set_aside_is_not_the_answer(matcher, question, guide):
    assert matcher.match(question).best.name == guide


def test_what_is_set_aside_is_read_from_the_clause_that_names_it():
    from bot.knowledge.matcher import set_aside

    assert set_aside("不是临时救助那种一次性的，每月都有的那个") == ["临时救助"]
    assert set_aside("残疾证那个我们先不问，护理补贴呢") == ["残疾证"]
    assert set_aside("户口本还在，身份证丢了") == ["户口本"]
    assert set_aside("这个是不是低保") == [] and set_aside("还不是党员") == []


@pytest.mark.parametrize("question", [
    "俺家低保的材料交上去一个月了，批下来没",
    "上个月报的残疾证审到哪了",
    "我申请的高龄津贴审核通过了没有啊",
    "建房的申请递上去好久了，卡在哪一步了",
    "我家低保申請遞上去了，批下來沒有",
])
def test_a_question_about_an_application_already_made_is_a_status_question(matcher, question):
    assert matcher.match(question).as_json()["intent"] == "status"


@pytest.mark.parametrize("question, intent, decision", [
    ("镇上小卖部卖过期饮料还不给退，我要投诉", "guide", "refer"),
    ("砖厂半夜排烟呛得人睡不着，去哪举报", "guide", "refer"),
    ("服务站那个办事员态度恶劣，我要投诉他", "complaint", None),
    ("在大厅等了一上午窗口一直没人，我要投诉", "complaint", None),
])
def test_a_complaint_about_a_shop_is_referred_and_one_about_our_staff_is_taken(matcher, question, intent, decision):
    match = matcher.match(question)
    assert match.as_json()["intent"] == intent
    if decision:
        assert match.decision == decision


def test_praise_for_help_with_a_service_is_a_rating():
    from bot.knowledge.matcher import detect_intent
    from bot.knowledge.loader import load_knowledge as load

    knowledge = load(KNOWLEDGE)
    assert detect_intent("上次帮我办老年证的小姑娘很耐心，给个好评", "上次帮我办老年证的小姑娘很耐心给个好评",
                         knowledge, "answer") == "rating"


def test_each_example_is_calibrated_on_margins_of_a_classifier_that_never_saw_it(matcher):
    """The margins the calibration reads for an example come from a fold trained without it: for
    some they are much lower than the full model's (their words appear nowhere else), for none
    much higher."""
    from bot.knowledge.lexical import pinyin

    space, margins = matcher.learned.space, matcher.learned.margins
    rows = sorted(margins.held_out)[:400]
    lower = 0
    for row in rows:
        target = space.row_target[row]
        full = margins.score(*space.vector(space.texts[row], pinyin(space.texts[row])))[target]
        held_out = margins.held_out[row][target]
        lower += full - held_out > 0.2
        assert held_out < full + 0.2, space.texts[row]
    assert lower > len(rows) // 10


def test_what_decides_an_answer_is_how_far_the_first_leads_the_second(matcher, monkeypatch):
    """A guide at a middling probability with nothing else near is answered; one that is likelier
    but has a close second is offered as a choice."""
    from bot.knowledge.model import Target
    from bot.knowledge.ranker import Scored

    learned = matcher.learned
    answer_at = learned.calibration.answer_at
    first, second = Target("guide", "高龄津贴申领"), Target("guide", "老年人优待证办理")
    monkeypatch.setattr(learned, "rank", lambda text, sound: [Scored(first, answer_at + 0.05), Scored(second, 0.02)])
    assert matcher.match("老人的那个怎么办").decision == "answer"
    monkeypatch.setattr(learned, "rank", lambda text, sound: [Scored(first, 0.9), Scored(second, 0.9 - answer_at + 0.05)])
    match = matcher.match("老人的那个怎么办")
    assert match.decision == "clarify" and [c.name for c in match.candidates[:2]] == [first.name, second.name]
