"""Grouping the questions the bot could not answer: by what they are about, biggest first."""

from __future__ import annotations

import time

from bot.knowledge.gaps import group


def _at(day: int) -> str:
    return f"2026-11-{day:02d}T10:00:00+08:00"


def test_ways_of_asking_one_thing_come_together_and_other_things_do_not():
    asked = [("医保怎么交？", _at(20)), ("身份证丢了", _at(19)), ("医保交钱", _at(18)), ("在哪交医保", _at(17)),
             ("医保怎么交", _at(16)), ("医保在哪交", _at(15)), ("身份证", _at(14)), ("明天下雨吗", _at(13))]
    gaps = group(asked)
    assert [(g.question, g.count) for g in gaps] == [("医保怎么交？", 5), ("身份证丢了", 2), ("明天下雨吗", 1)]
    medical = gaps[0]
    assert medical.examples == ("医保交钱", "在哪交医保", "医保在哪交")   # newest first
    assert medical.last_at == _at(20)


def test_the_wording_asked_most_names_the_group():
    asked = [("护照去哪办", _at(20)), ("护照怎么办", _at(19)), ("护照怎么办", _at(18)), ("护照怎么办理", _at(17))]
    (gap,) = group(asked)
    assert gap.question == "护照怎么办" and gap.count == 4 and gap.examples == ("护照去哪办", "护照怎么办理")


def test_different_needs_about_one_service_stay_apart():
    gaps = group([("医保怎么报销", _at(20)), ("医保怎么交", _at(19))])
    assert sorted(g.question for g in gaps) == ["医保怎么交", "医保怎么报销"]


def test_everyday_words_meet_official_ones_through_the_synonyms():
    gaps = group([("社保卡丢了", _at(20)), ("社会保障卡丢了怎么办", _at(19))], {"社保卡": "社会保障卡"})
    assert [g.count for g in gaps] == [2]


def test_equal_groups_newest_first_and_emoji_left_out():
    gaps = group([("😀", _at(21)), ("养狗要办证吗", _at(20)), ("狗证在哪办", _at(12)), ("驾照换证", _at(15)),
                  ("驾照换证去哪", _at(14))])
    assert [(g.question, g.count) for g in gaps] == [("养狗要办证吗", 2), ("驾照换证", 2)]


def test_a_few_thousand_different_questions_group_quickly():
    characters = "医保身份证护照驾驶养狗社会卡丢补交钱户口迁移低保残疾高龄津贴电费水费宅基地"
    size = len(characters)
    asked = [("".join(characters[n // size ** k % size] for k in range(3)) + characters[n % 9:n % 9 + n % 4],
              _at(1 + n % 28)) for n in range(5000)]   # 5000 different questions
    started = time.perf_counter()
    gaps = group(asked)
    assert time.perf_counter() - started < 5
    assert sum(g.count for g in gaps) == 5000
