"""Reading days and times in residents' words (bot/choices.py)."""

from datetime import date, time, timedelta

import pytest

from bot.choices import parse_when

TODAY = date(2026, 11, 24)   # a Tuesday
DAYS = [TODAY + timedelta(days=n) for n in range(14)]


@pytest.mark.parametrize("words, day, at, period", [
    ("明天", date(2026, 11, 25), None, None),
    ("后天吧", date(2026, 11, 26), None, None),
    ("周三", date(2026, 11, 25), None, None),
    ("礼拜五", date(2026, 11, 27), None, None),
    ("下周一", date(2026, 11, 30), None, None),
    ("12月1号", date(2026, 12, 1), None, None),
    ("九点半", None, time(9, 30), None),
    ("十点", None, time(10, 0), None),
    ("下午两点", None, time(14, 0), None),
    ("10：30", None, time(10, 30), None),
    ("上午", None, None, "am"),
    ("中午", None, None, "noon"),
    ("明天上午九点半", date(2026, 11, 25), time(9, 30), None),
    ("后天下午", date(2026, 11, 26), None, "pm"),
])
def test_days_and_times_in_words(words, day, at, period):
    when = parse_when(words, TODAY, DAYS)
    assert (when.day, when.time, when.period) == (day, at, period) and when.said


def test_a_day_not_offered_is_named_but_not_given():
    when = parse_when("周日", TODAY, [d for d in DAYS if d.isoweekday() != 7])
    assert when.day_named and when.day is None


@pytest.mark.parametrize("words", ["王秀英", "东村", "不知道", "1"])
def test_other_words_say_nothing_about_when(words):
    assert not parse_when(words, TODAY, DAYS).said
