"""Is the center open? "今天上班不", "现在去行吗", "周六开门吗", "明天几点上班" are answered from
the calendar (statutory holidays, 调休 working days, a center's temporary closing) and the
center's hours with its 8+4 shifts, for the resident's own station and town center:

    today ──open now──▶ until when
          ──not now──▶ why (a holiday, the weekend, closed today, not yet, after hours) and
                       when it opens next
    another day ──▶ open that day and when, or why not and the next day it opens
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.choices import parse_when
from bot.context import Turn
from bot.hours import Opening, day_label, when_label
from bot.knowledge.lexical import normalise
from bot.router import Router
from handlers.centers import my_centers

router = Router("opening")

OPEN_WORDS = ("上班", "开门", "办公", "营业", "下班", "关门", "开着", "放假", "休息不", "有人吗", "有人不", "有没有人")
GO_WORDS = ("现在去", "现在过去", "这会去", "这会儿去", "现在能去", "现在来", "马上去", "马上过去", "现在能办",
            "去行吗", "去行不行", "去中不中", "去得了", "过去行", "去有人")
NOW_WORDS = ("现在", "这会", "马上", "今天", "今儿", "今个", "眼下", "此刻")
ACTIONS = ("booking", "proxy", "home_visit", "handoff", "status", "complaint", "withdraw", "cancel_booking",
           "reschedule", "my_bookings", "rating", "materials_reply", "bind")
LOOK_AHEAD = 15


def _asks_when_open(turn: Turn, q: str, named_day: bool) -> bool:
    """Open or not at a moment the resident names (now, today, 周六 …); "几点上班" alone asks
    for the published hours, which the centers' reply gives."""
    if turn.intent in ACTIONS:
        return False
    if not any(w in q for w in GO_WORDS) and not (
            any(w in q for w in OPEN_WORDS) and (named_day or any(w in q for w in NOW_WORDS))):
        return False
    match = turn.match   # "社保卡在哪个窗口办公" is about the guide, not the hours
    return not (match is not None and match.intent == "guide" and match.decision == "answer" and len(q) > 10)


def _spans(openings: list[Opening]) -> list[tuple[time, time]]:
    """A day's periods with the contiguous ones joined (午间不打烊 fills the lunch break)."""
    spans: list[list[datetime]] = []
    for o in openings:
        if spans and o.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], o.end)
        else:
            spans.append([o.start, o.end])
    return [(a.time(), b.time()) for a, b in spans]


@router.ahead
async def open_when(turn: Turn):
    ctx = turn.ctx
    now = ctx.clock.now()
    today = now.date()
    q = normalise(turn.text)
    when = parse_when(q, today, [today + timedelta(days=n) for n in range(LOOK_AHEAD)])
    if not _asks_when_open(turn, q, when.day is not None):
        return None
    day = when.day or today
    schedule = ctx.appointments.schedule
    rows = []
    for center in await my_centers(turn):
        closed = await ctx.store.bookings.closed_days(center.id, today, today + timedelta(days=31))
        openings = schedule.openings(center, day, closed)
        from_moment = now if day == today else datetime.combine(day, time(0), tzinfo=now.tzinfo)
        next_open = schedule.next_open(center, from_moment, closed)
        open_now = day == today and next_open == now
        after = None if open_now else next_open
        closure = await ctx.store.bookings.closure(center.id, day) if day in closed else None
        rows.append({"c": center, "spans": _spans(openings), "open_now": open_now,
                     "closes_at": schedule.closes_at(center, now) if open_now else None,
                     "next_open": when_label(after, now) if after else "",
                     "opens_later_today": bool(after and after.date() == today),
                     "holiday": schedule.calendar.holiday(day), "weekend": day.isoweekday() >= 6,
                     "closure": closure, "shift": next((o.shift for o in openings if o.start <= now < o.end), "")})
    turn.intent = turn.intent or "centers"
    return turn.say("opening", rows=rows, today=day == today, day=day_label(day, today),
                    service=ctx.config.service)
