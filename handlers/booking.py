"""预约: book the right center at a free time, all in chat.

    预约 ──▶ booking:service ──▶ booking:center ──▶ booking:day ──▶ booking:time ──▶ booking:confirm
              (matched guide)     (skipped when      (days with     (free times)     确认 → code,
                                   one fits; why)     free places)                    time, window,
                                                                                      materials

Numbered choices, or words: 明天, 周三, 下周一, 九点半, 上午, 中午 — at whichever step they fit
(a day or a time given before its step is kept for it, and the resident is told which step is
asked first). An answer that is not a valid choice re-asks and keeps what was chosen; 取消
leaves at any step; 返回 goes back one step; a step left for another question is kept and
继续预约 asks its question again (bot/steps.py). Two residents confirming the last place: one
gets it, the other is offered the times still free. 改约 runs the same dialog for a booking
the resident holds, and the old place is given back in the same step as the new one is taken.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.appointments import BookingLimit, Paused, SlotTaken
from bot.choices import When, agrees, in_period, parse_when, pick
from bot.context import Turn
from bot.hours import day_label
from bot.knowledge.model import Guide
from bot.router import Router
from handlers.faq import guide_at_hand

router = Router("booking")

SERVICE, CENTER, DAY, TIME, CONFIRM = (
    "booking:service", "booking:center", "booking:day", "booking:time", "booking:confirm")


# -- steps: each asks its question from what is in the dialog so far -------------------------

async def _enter(turn: Turn, state: str, data: dict) -> None:
    trail = [s for s in data.get("trail", []) if s != state]
    await turn.enter(state, **{**data, "trail": [*trail, state]})


KEPT = ("trail", "replaces", "want_day", "want_time", "want_period")


async def ask_service(turn: Turn, data: dict, again: bool = False, hint: str | None = None):
    await _enter(turn, SERVICE, {k: v for k, v in data.items() if k in KEPT})
    turn.missed = turn.missed or (again and hint is None)
    return turn.say("booking_ask_service", again=again, hint=hint)


def _wanted(data: dict, when: When) -> dict:
    """A day or a time the resident named before its step, kept for that step."""
    wants = {"want_day": when.day.isoformat() if when.day else None,
             "want_time": when.time.strftime("%H:%M") if when.time else None, "want_period": when.period}
    return {**data, **{k: v for k, v in wants.items() if v}}


async def _paused(turn: Turn, until: date, count: int):
    await turn.leave()
    return turn.say("booking_paused", until=until, count=count, today=turn.ctx.clock.now().date(),
                    service=turn.ctx.config.service)


async def _limit(turn: Turn, reason: str, existing):
    await turn.leave()
    return turn.say("booking_limit", reason=reason, b=existing, max_active=turn.ctx.config.booking.max_active,
                    c=turn.ctx.library.knowledge.centers.get(existing.center) if existing else None)


async def start(turn: Turn, guide: Guide, data: dict | None = None):
    """A service is chosen: say why it cannot be booked, or go on to where."""
    data = dict(data or {})
    appointments = turn.ctx.appointments
    paused = await appointments.paused_until(turn.openid)
    if paused is not None:
        return await _paused(turn, *paused)
    if not data.get("replaces"):   # tell the limits now, not after five questions
        upcoming = await turn.ctx.store.bookings.upcoming(turn.openid, turn.ctx.clock.now())
        same = next((b for b in upcoming if b.guide == guide.name), None)
        if same is not None or len(upcoming) >= turn.ctx.config.booking.max_active:
            return await _limit(turn, "same_service" if same else "too_many", same)
    home = await turn.home()
    where = appointments.where(guide, home)
    if not where.centers:
        await turn.leave()
        return turn.say("booking_not_possible", g=guide, why=where.why, service=turn.ctx.config.service)
    data.update(guide=guide.name, why=where.why, centers=[c.id for c in where.centers], home=home)
    if len(where.centers) == 1:
        data["center"] = where.centers[0].id
        return await ask_day(turn, data)
    if data.get("center") in data["centers"]:   # 改约: the same center first; 返回 offers the others
        data["trail"] = [*data.get("trail", []), CENTER]
        return await ask_day(turn, data)
    return await ask_center(turn, data)


async def ask_center(turn: Turn, data: dict, again: bool = False, hint: str | None = None):
    await _enter(turn, CENTER, data)
    turn.missed = turn.missed or (again and hint is None)
    centers = [turn.ctx.library.knowledge.centers.get(c) for c in data["centers"]]
    return turn.say("booking_ask_center", centers=centers, g=_guide(turn, data), why=data["why"], again=again,
                    home=turn.ctx.library.knowledge.centers.get(data.get("home")), hint=hint)


async def ask_day(turn: Turn, data: dict, again: bool = False, taken: bool = False,
                  closed: dict | None = None, hint: str | None = None):
    guide, center = _guide(turn, data), _center(turn, data)
    days = await turn.ctx.appointments.free_days(center, guide)
    data = {**data, "days": [d.isoformat() for d, _ in days]}
    wanted = data.pop("want_day", None)
    if wanted in data["days"] and not (again or taken):   # the day was named before this step
        return await ask_time(turn, {**data, "day": wanted})
    if not days:
        others = [c for c in data["centers"] if c != center.id]
        if others:
            data["centers"] = others
            return await ask_center(turn, data)
        await turn.leave()
        return turn.say("booking_no_days", c=center, g=guide, service=turn.ctx.config.service)
    await _enter(turn, DAY, data)
    turn.missed = turn.missed or (again and hint is None)
    today = turn.ctx.clock.now().date()
    return turn.say("booking_ask_day", c=center, g=guide, why=data["why"], again=again, taken=taken, closed=closed,
                    days=[(day_label(d, today), free) for d, free in days], single=len(data["centers"]) == 1,
                    home=turn.ctx.library.knowledge.centers.get(data.get("home")),
                    replaces=data.get("replaces"), hint=hint, wanted=_wanted_words(data, today))


def _wanted_words(data: dict, today: date) -> str:
    """What the resident named ahead of its step, in words: "明天", "9:30", "上午"."""
    words = [day_label(date.fromisoformat(data["want_day"]), today) if data.get("want_day") else "",
             data.get("want_time") or "", {"am": "上午", "noon": "中午", "pm": "下午"}.get(data.get("want_period"), "")]
    return " ".join(w for w in words if w)


async def ask_time(turn: Turn, data: dict, again: bool = False, taken: bool = False, hint: str | None = None):
    guide, center = _guide(turn, data), _center(turn, data)
    day = date.fromisoformat(data["day"])
    times = [f.start for f in await turn.ctx.appointments.free_times(center, guide, day)]
    if not times:   # the day filled up, or the center was closed that day, since it was offered
        closed = await turn.ctx.store.bookings.closure(center.id, day)
        return await ask_day(turn, {k: v for k, v in data.items() if k not in ("day", "want_day")}, taken=True,
                             closed={**closed, "day": day_label(day, turn.ctx.clock.now().date())} if closed else None)
    data.pop("want_day", None)   # the day is chosen now: 返回 must show the days again
    wanted_time, period = data.pop("want_time", None), data.pop("want_period", None)
    if wanted_time is not None and not taken:   # a time named before this step, or with the day
        chosen = next((t for t in times if t.strftime("%H:%M") == wanted_time), None)
        if chosen is not None:
            return await ask_confirm(turn, {**data, "start": chosen.isoformat()})
        hint = "not_free"
    shown = times
    if period is not None and not taken:
        shown = [t for t in times if in_period(t.time(), period)] or times
        hint = hint or ("period" if len(shown) < len(times) else "not_free")
    await _enter(turn, TIME, {**data, "times": [t.isoformat() for t in shown]})
    turn.missed = turn.missed or (again and hint is None)
    return turn.say("booking_ask_time", c=center, day=day_label(day, turn.ctx.clock.now().date()),
                    times=shown, again=again, taken=taken, hint=hint, wanted=wanted_time or
                    {"am": "上午", "noon": "中午", "pm": "下午"}.get(period or "", ""))


async def ask_confirm(turn: Turn, data: dict):
    await _enter(turn, CONFIRM, data)
    start_at = datetime.fromisoformat(data["start"])
    return turn.say("booking_confirm", c=_center(turn, data), g=_guide(turn, data), start=start_at,
                    day=day_label(start_at.date(), turn.ctx.clock.now().date()), replaces=data.get("replaces"))


ASK = {SERVICE: ask_service, CENTER: ask_center, DAY: ask_day, TIME: ask_time, CONFIRM: ask_confirm}


def _guide(turn: Turn, data: dict) -> Guide:
    return turn.ctx.library.knowledge.guide(data["guide"])


def _center(turn: Turn, data: dict):
    return turn.ctx.library.knowledge.centers.get(data["center"])


async def _back(turn: Turn):
    """One step back: to the question asked before this one, as it stands now."""
    data = dict(turn.dialog.data)
    trail = list(data.get("trail", []))
    if trail:
        trail.pop()
    if not trail:
        await turn.leave()
        return turn.say("dialog_left")
    data["trail"] = trail
    return await ASK[trail[-1]](turn, data)


def _knowledge_ok(turn: Turn, data: dict) -> bool:
    """The knowledge base may have been reloaded since the dialog began."""
    centers = turn.ctx.library.knowledge.centers
    return (turn.ctx.library.knowledge.guide(data.get("guide", "")) is not None
            and all(centers.get(c) is not None for c in data.get("centers", [])))


def step(state: str):
    """A step after the service is chosen: 返回 goes one step back; if the guide or a center
    is gone from a reloaded knowledge base, the resident is asked for the service again."""
    def register(handler):
        async def checked(turn: Turn):
            if not _knowledge_ok(turn, turn.dialog.data):
                return await ask_service(turn, {})
            return await handler(turn, turn.dialog.data)
        return router.state(state, back=_back, ask=ask)(checked)
    return register


# -- entry -------------------------------------------------------------------------------------

@router.intent("booking")
async def booking(turn: Turn):
    guide = await turn.guide() or guide_at_hand(turn)   # "能预约吗" right after an answer: that service
    if guide is None:
        return await ask_service(turn, {})
    return await start(turn, guide)


def _when(turn: Turn, data: dict) -> When:
    """The day and time in the resident's words; before the days are offered, any of the next
    weeks (whether it is free is told at the day step)."""
    today = turn.ctx.clock.now().date()
    days = [date.fromisoformat(d) for d in data.get("days", [])] or [today + timedelta(days=n) for n in range(62)]
    return parse_when(turn.text, today, days)


async def ask(turn: Turn):
    """The question of the step the resident is in, asked again (after 继续预约)."""
    data = dict(turn.dialog.data)
    if turn.dialog.state != SERVICE and not _knowledge_ok(turn, data):
        return await ask_service(turn, {})
    return await ASK[turn.dialog.state](turn, data)


@router.state(SERVICE, back=_back, ask=ask)
async def which_service(turn: Turn):
    guide = await turn.guide(turn.text)
    data = turn.dialog.data
    if guide is None:
        when = _when(turn, data)
        return await ask_service(turn, _wanted(data, when), again=True, hint="service_first" if when.said else None)
    return await start(turn, guide, {k: v for k, v in data.items() if k in KEPT})


@step(CENTER)
async def which_center(turn: Turn, data: dict):
    n = pick(turn.text, len(data["centers"]))
    if n is None:
        found = [c.id for c in turn.ctx.library.knowledge.centers.find(turn.text) if c.id in data["centers"]]
        if len(found) != 1:
            when = _when(turn, data)
            return await ask_center(turn, _wanted(data, when), again=True, hint="center_first" if when.said else None)
        chosen = found[0]
    else:
        chosen = data["centers"][n - 1]
    return await ask_day(turn, {**data, "center": chosen})


@step(DAY)
async def which_day(turn: Turn, data: dict):
    days = [date.fromisoformat(d) for d in data["days"]]
    n = pick(turn.text, len(days))
    if n:
        return await ask_time(turn, {**data, "day": days[n - 1].isoformat()})
    when = _when(turn, data)
    if when.day is not None:
        return await ask_time(turn, _wanted({**data, "day": when.day.isoformat()}, when))
    if when.day_named:
        return await ask_day(turn, data, again=True, hint="day_not_free")
    if when.said:   # a time, before the day is chosen
        return await ask_day(turn, _wanted(data, when), again=True, hint="day_first")
    return await ask_day(turn, data, again=True)


@step(TIME)
async def which_time(turn: Turn, data: dict):
    times = [datetime.fromisoformat(t) for t in data["times"]]
    n = pick(turn.text, len(times))
    if n:
        return await ask_confirm(turn, {**data, "start": times[n - 1].isoformat()})
    when = _when(turn, data)
    if when.day is not None and when.day.isoformat() != data["day"]:   # another day after all
        return await ask_time(turn, _wanted({**data, "day": when.day.isoformat()}, when))
    if when.time is not None or when.period is not None:
        return await ask_time(turn, _wanted(data, when))
    return await ask_time(turn, data, again=True, hint="day_not_free" if when.day_named else None)


@step(CONFIRM)
async def confirm(turn: Turn, data: dict):
    if not agrees(turn.text, also=("确认预约",)):
        return turn.ask_again("booking_confirm_again")
    guide, center = _guide(turn, data), _center(turn, data)
    try:
        booked = await turn.ctx.appointments.book(openid=turn.openid, guide=guide, center=center,
                                                  start=datetime.fromisoformat(data["start"]),
                                                  replaces=data.get("replaces"))
    except SlotTaken:
        return await ask_time(turn, {k: v for k, v in data.items() if k != "start"}, taken=True)
    except BookingLimit as e:
        return await _limit(turn, e.reason, e.existing)
    except Paused as e:
        return await _paused(turn, e.until, e.count)
    await turn.leave()
    return turn.say("booking_done", b=booked, c=center, g=guide, window=center.window(booked.window),
                    day=day_label(booked.day, turn.ctx.clock.now().date()), rescheduled=bool(data.get("replaces")),
                    reminder=booked.remind_at)
