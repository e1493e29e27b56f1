"""Is the center open? Answered from the calendar and the hours through /wechat: holidays,
weekends with the 8+4 weekend shift, after hours, and another day named."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import TZ


@pytest.mark.parametrize("words", ["今天上班不", "今儿个开门没", "今天上班嗎", "今个儿上不上班呀"])
async def test_on_a_holiday_today_is_closed_and_the_next_opening_is_told(bot, clock, words):
    clock.at = datetime(2026, 10, 2, 9, 0, tzinfo=TZ)   # 国庆节
    text = await bot.say("r1", words)
    assert "【清河镇便民服务中心】" in text and "国庆节假期，休息" in text and "下次开门" in text
    assert "10月08日" in text or "10月09日" in text
    assert "现在正在办公" not in text


@pytest.mark.parametrize("words", ["现在去行吗", "这会儿过去有人没", "我现在过去能办不", "現在去行嗎"])
async def test_going_now_on_a_working_day_says_open_and_until_when(bot, clock, words):
    clock.at = datetime(2026, 11, 24, 16, 0, tzinfo=TZ)   # a Tuesday afternoon
    text = await bot.say("r2", words)
    assert "现在正在办公，18:30前来都可以办" in text   # the 延时服务 shift until 18:30


async def test_after_hours_says_closed_now_and_opens_tomorrow_with_the_early_shift(bot, clock):
    clock.at = datetime(2026, 11, 24, 20, 0, tzinfo=TZ)
    text = await bot.say("r3", "现在去还来得及吗 还上班吗")
    assert "今天已经下班了" in text and "下次开门：明天上午07:30" in text


async def test_a_saturday_has_the_weekend_shift_at_the_town_and_the_village_rests(bot, clock):
    clock.at = datetime(2026, 11, 28, 10, 0, tzinfo=TZ)   # Saturday
    await bot.say("r4", "绑定 东村")
    text = await bot.say("r4", "现在去行吗")
    assert "【清河镇便民服务中心】\n现在正在办公，12:00前来都可以办（现在是“周末半天”时段" in text
    assert "【清河镇东村便民服务站】\n今天是周末，不上班" in text


async def test_another_day_named_says_that_days_hours(bot, clock):
    clock.at = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
    text = await bot.say("r5", "周六上班吗")
    assert "11月28日 周六上班：09:00-12:00（周末值班" in text
    text = await bot.say("r5", "明天几点上班")
    assert "11月25日 周三（明天）上班：07:30-18:30" in text
