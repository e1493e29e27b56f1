"""Deadlines in working days across national holidays and make-up working days."""

from __future__ import annotations

from datetime import date

from bot.workdays import WorkCalendar

cal = WorkCalendar()


def test_national_day_holiday_is_skipped():
    # 2026: 1–7 October off (National Day and Mid-Autumn); a case accepted on 30 September
    # with 3 working days is due after the holiday, not on 3 October
    due = cal.add_workdays(date(2026, 9, 30), 3)
    assert due == date(2026, 10, 10)  # 8th, 9th, and Saturday the 10th, worked in lieu
    assert not cal.is_workday(date(2026, 10, 1))


def test_make_up_saturday_counts_as_a_working_day():
    assert date(2026, 10, 10).isoweekday() == 6 and cal.is_workday(date(2026, 10, 10))  # 调休
    assert not cal.is_workday(date(2026, 10, 17))  # an ordinary Saturday


def test_friday_plus_one_working_day_is_monday():
    assert cal.add_workdays(date(2026, 11, 20), 1) == date(2026, 11, 23)
    assert cal.add_workdays(date(2026, 11, 24), 0) == date(2026, 11, 24)


def test_year_without_data_counts_weekdays_and_warns(caplog):
    due = cal.add_workdays(date(2030, 1, 4), 1)   # Friday
    assert due == date(2030, 1, 7)
    assert "no statutory holiday data for 2030" in caplog.text


def test_year_without_data_still_keeps_the_fixed_date_holidays_off():
    calendar = WorkCalendar()
    assert not calendar.is_workday(date(2027, 1, 1))           # 元旦, a Friday
    assert calendar.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert not calendar.is_workday(date(2027, 10, 1)) and calendar.is_workday(date(2027, 10, 4))
    assert calendar.is_ordinary_weekend(date(2027, 1, 2)) and not calendar.is_ordinary_weekend(date(2027, 5, 1))   # a Saturday, 劳动节


def test_workdays_between():
    assert cal.workdays_between(date(2026, 11, 20), date(2026, 11, 27)) == 5
    assert cal.workdays_between(date(2026, 11, 27), date(2026, 11, 20)) == -5


def test_a_holiday_is_named_and_a_working_day_or_ordinary_weekend_is_not():
    from bot.workdays import WorkCalendar

    calendar = WorkCalendar()
    assert calendar.holiday(date(2026, 10, 2)) == "National Day"
    assert calendar.holiday(date(2026, 11, 24)) is None      # a Tuesday
    assert calendar.holiday(date(2026, 11, 28)) is None      # an ordinary Saturday


def test_a_limit_in_calendar_days_counts_weekends_and_ends_on_a_working_day():
    # 《居住证暂行条例》's 15 日 from Tuesday 24 November 2026: Wednesday 9 December
    assert cal.due(date(2026, 11, 24), 15, "calendar") == date(2026, 12, 9)
    assert cal.due(date(2026, 11, 24), 15, "working") == date(2026, 12, 15)
    # 4 日 from that Tuesday end on Saturday the 28th: the last day moves to Monday the 30th
    assert cal.add_days(date(2026, 11, 24), 4) == date(2026, 11, 30)
    # 3 日 from 30 September end on 3 October, inside the National Day holiday: due the 8th
    assert cal.add_days(date(2026, 9, 30), 3) == date(2026, 10, 8)
