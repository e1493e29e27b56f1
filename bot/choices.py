"""Reading a resident's answer to a numbered question: "2", "２", "第二个", "二"; a day
("明天", "周一", "30号", "11月30日"); a time ("9:30", "9点半", "下午两点"); all of these in
one message ("明天上午九点半", `parse_when`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time

CN = {"零": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
AGREE = ("确认", "确定", "提交", "是", "是的", "好", "好的", "对", "可以", "行", "没问题")
WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().strip("。.！!？?，, ")


def cn_number(text: str) -> int | None:
    """1-99 written in digits or Chinese numerals."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in CN and ch != "十" for ch in text):
        return None
    if "十" not in text:
        return CN[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (CN[tens] if tens else 1) * 10 + (CN[ones] if ones else 0)


def number(text: str) -> int | None:
    """The number a reply to a numbered question gives: "2", "２", "第二个", "选3", "二号"."""
    t = _clean(text)
    m = re.fullmatch(r"(?:选|选择|要|我选)?\s*第?\s*([0-9一二两三四五六七八九十]{1,3})\s*(?:号|个|项|条|种|处|家)?", t)
    return cn_number(m.group(1)) if m else None


def pick(text: str, count: int) -> int | None:
    """The 1-based choice among `count` numbered options, or None."""
    n = number(text)
    return n if n is not None and 1 <= n <= count else None


def agrees(text: str, also: tuple[str, ...] = ()) -> bool:
    """A yes to "请回复“确认”": 确认, 好, 可以, 没问题 …; `also` adds words that mean yes to
    this one question."""
    return _clean(text) in AGREE + also


def pick_many(text: str, count: int) -> list[int] | None:
    """Several choices: "1 3", "1、3", "1和3"; None if any is not a valid choice."""
    parts = [p for p in re.split(r"[\s、,，和及与;；/]+", _clean(text)) if p]
    if not parts:
        return None
    picked = [pick(p, count) for p in parts]
    if any(p is None for p in picked):
        return None
    return sorted(set(p for p in picked if p is not None))


def parse_time(text: str) -> time | None:
    t = _clean(text).replace("：", ":")
    afternoon = any(w in t for w in ("下午", "晚上", "傍晚"))
    t = re.sub(r"^(上午|下午|早上|中午|晚上|傍晚)", "", t)
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", t)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2))
    else:
        m = re.fullmatch(r"([0-9一二两三四五六七八九十]{1,3})点(半|一刻|([0-9一二三四五六七八九十]{1,3})分?)?(钟)?", t)
        if not m:
            return None
        hour = cn_number(m.group(1))
        extra = m.group(2) or ""
        minute = 30 if extra == "半" else 15 if extra == "一刻" else (cn_number(m.group(3)) if m.group(3) else 0)
        if hour is None or minute is None:
            return None
    if afternoon and hour < 12:
        hour += 12
    elif not afternoon and 1 <= hour <= 6:   # "两点" at a service center is in the afternoon
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def parse_day(text: str, today: date, options: list[date]) -> date | None:
    """One of `options` named as 今天/明天/后天, 周X/星期X, N号/N日 or M月N日."""
    t = _clean(text)
    relative = {"今天": 0, "明天": 1, "后天": 2, "大后天": 3}
    if t in relative:
        wanted = [d for d in options if (d - today).days == relative[t]]
        return wanted[0] if wanted else None
    m = re.fullmatch(r"(?:下)?(?:周|星期|礼拜)([一二三四五六日天1-7])", t)
    if m:
        w = WEEKDAYS.get(m.group(1)) or int(m.group(1))
        later = t.startswith("下")
        wanted = [d for d in options if d.isoweekday() == w and (not later or d.isocalendar()[1] != today.isocalendar()[1])]
        return wanted[0] if wanted else None
    m = re.fullmatch(r"(?:([0-9一二三四五六七八九十]{1,3})月)?([0-9一二三四五六七八九十]{1,3})[号日]", t)
    if m:
        month = cn_number(m.group(1)) if m.group(1) else None
        day_no = cn_number(m.group(2))
        wanted = [d for d in options if d.day == day_no and (month is None or d.month == month)]
        return wanted[0] if wanted else None
    return None


_DAY_WORD = re.compile(r"大后天|今天|明天|后天|下?(?:周|星期|礼拜)[一二三四五六日天1-7]"
                       r"|(?:[0-9一二三四五六七八九十]{1,3}月)?[0-9一二三四五六七八九十]{1,3}[号日]")
_TIME_WORD = re.compile(r"(?:上午|下午|早上|中午|晚上|傍晚)?(?:\d{1,2}[:：]\d{2}"
                        r"|[0-9一二两三四五六七八九十]{1,3}点(?:半|一刻|[0-9一二三四五六七八九十]{1,3}分?)?钟?)")
PERIODS = {"上午": "am", "早上": "am", "上半天": "am", "中午": "noon", "下午": "pm", "下半天": "pm"}


@dataclass(frozen=True)
class When:
    """What a resident's words say about when: a day among those offered (`day_named` when a
    day was named at all), a time of day, or a part of the day ("am", "noon", "pm")."""

    day: date | None = None
    day_named: bool = False
    time: time | None = None
    period: str | None = None

    @property
    def said(self) -> bool:
        return self.day_named or self.time is not None or self.period is not None


def parse_when(text: str, today: date, days: list[date]) -> When:
    """明天, 后天, 周三, 下周一, 12月1号 (a day among `days`); 九点半, 10:30, 下午两点 (a time);
    上午, 中午, 下午 (a part of the day) — alone or together: "明天上午九点半"."""
    t = _clean(text).replace(" ", "")
    day_match = _DAY_WORD.search(t)
    day = parse_day(day_match.group(0), today, days) if day_match else None
    rest = t.replace(day_match.group(0), "", 1) if day_match else t
    time_match = _TIME_WORD.search(rest)
    at = parse_time(time_match.group(0)) if time_match else None
    period = None
    if at is None:
        period = next((p for word, p in PERIODS.items() if word in rest), None)
    return When(day=day, day_named=day_match is not None, time=at, period=period)


def in_period(at: time, period: str) -> bool:
    return {"am": at.hour < 12, "noon": 11 <= at.hour < 14, "pm": 12 <= at.hour < 18}.get(period, False)
