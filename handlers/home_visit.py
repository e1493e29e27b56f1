"""预约上门: for residents who cannot come (elderly, disabled, ill), staff come to them.

    预约上门 ──▶ home:service ──▶ home:who ──▶ home:address ──▶ home:phone ──▶ home:times
                                                                                 │
                              case number (上门) ◀── 确认 ◀── home:confirm ◀───────┘

返回 goes one step back from any step after the first (the answers so far are kept); 取消 leaves;
a step left for another question is kept and 继续上门 asks its question again (bot/steps.py).
The times may be chosen by number or in words: 明天上午, 周三, 下午.

The request becomes a home_visit case at the resident's station (or the default center); staff
schedule the visit through the API and the resident is told the time.
"""

from __future__ import annotations

from datetime import date, time

from bot.choices import agrees, in_period, parse_when, pick, pick_many
from bot.context import Turn
from bot.hours import day_label
from bot.knowledge.model import Guide
from bot.personal import mask_mobile, mobile_ok
from bot.router import Router
from bot.steps import not_an_answer
from handlers.faq import guide_at_hand

router = Router("home_visit")

SERVICE, WHO, ADDRESS, PHONE, TIMES, CONFIRM = (
    "home:service", "home:who", "home:address", "home:phone", "home:times", "home:confirm")
WHO_OPTIONS = ("高龄老人（行动不便）", "残疾人", "重病或卧床", "其他原因来不了")
HALF_DAYS = 6   # half-days offered: the next three working days, morning and afternoon


def _half_day_dates(turn: Turn) -> list[tuple[date, str]]:
    """The half-days offered: (day, "am" | "pm")."""
    calendar = turn.ctx.appointments.schedule.calendar
    out, day = [], turn.ctx.clock.now().date()
    while len(out) < HALF_DAYS:
        day = calendar.add_workdays(day, 1)
        out += [(day, "am"), (day, "pm")]
    return out[:HALF_DAYS]


def _half_days(turn: Turn) -> list[str]:
    today = turn.ctx.clock.now().date()
    return [f"{day_label(d, today)}{'上午' if p == 'am' else '下午'}" for d, p in _half_day_dates(turn)]


def _named_half_days(turn: Turn) -> list[int]:
    """The half-days the resident names in words ("明天上午", "周三", "下午"), 1-based."""
    offered = _half_day_dates(turn)
    days = sorted({d for d, _ in offered})
    when = parse_when(turn.text, turn.ctx.clock.now().date(), days)
    if when.day is None and when.period is None and when.time is None:
        return []
    if when.day_named and when.day is None:
        return []
    period = when.period or (("am" if when.time.hour < 12 else "pm") if when.time else None)
    return [i for i, (d, p) in enumerate(offered, 1)
            if (when.day is None or d == when.day) and (period is None or p == period or
                                                        (period == "noon" and in_period(when.time or time(12), "noon")))]


async def _start(turn: Turn, guide: Guide):
    if not guide.home_visit:
        await turn.leave()
        return turn.say("home_visit_not_possible", g=guide)
    await turn.enter(WHO, guide=guide.name)
    return turn.say("home_visit_ask", field="who", g=guide, options=WHO_OPTIONS, again=False)


@router.intent("home_visit")
async def home_visit(turn: Turn):
    guide = await turn.guide() or guide_at_hand(turn)   # "能上门办吗" right after an answer: that service
    if guide is None:
        await turn.enter(SERVICE)
        return turn.say("home_visit_ask", field="service", again=False)
    return await _start(turn, guide)


async def ask(turn: Turn):
    """The question of the step the resident is in, asked again (after 继续上门)."""
    state = turn.dialog.state
    if state == SERVICE:
        return turn.say("home_visit_ask", field="service", again=False)
    data = turn.dialog.data
    if state == CONFIRM:
        return await _confirm(turn, data)
    field = {WHO: "who", ADDRESS: "address", PHONE: "phone", TIMES: "times"}[state]
    options = _half_days(turn) if field == "times" else WHO_OPTIONS
    g = turn.ctx.library.knowledge.guide(data.get("guide", ""))
    return turn.say("home_visit_ask", field=field, g=g, options=options, again=False)


async def _confirm(turn: Turn, data: dict):
    center = turn.ctx.library.knowledge.centers.get(await turn.home() or turn.ctx.config.service.default_center)
    return turn.say("home_visit_confirm", data=data, phone=mask_mobile(data["phone"]), center=center)


@router.state(SERVICE, ask=ask)
async def which_service(turn: Turn):
    guide = await turn.guide(turn.text)
    if guide is None:
        return turn.ask_again("home_visit_ask", field="service")
    return await _start(turn, guide)


# 返回: the step before each one, and what it asks
PREVIOUS = {WHO: (SERVICE, "service"), ADDRESS: (WHO, "who"), PHONE: (ADDRESS, "address"), TIMES: (PHONE, "phone"),
            CONFIRM: (TIMES, "times")}


async def _back(turn: Turn):
    """One step back: the question before this one again, what was answered so far kept."""
    state, field = PREVIOUS[turn.dialog.state]
    if state == SERVICE:
        await turn.enter(SERVICE)
        return turn.say("home_visit_ask", field="service", again=False)
    g = turn.ctx.library.knowledge.guide(turn.dialog.data.get("guide", ""))
    await turn.enter(state, **turn.dialog.data)
    options = _half_days(turn) if field == "times" else WHO_OPTIONS
    return turn.say("home_visit_ask", field=field, g=g, options=options, again=False)


async def _next(turn: Turn, state: str, field: str, **data):
    await turn.enter(state, **{**turn.dialog.data, **data})
    options = _half_days(turn) if field == "times" else WHO_OPTIONS
    return turn.say("home_visit_ask", field=field, options=options, again=False)


@router.state(WHO, back=_back, ask=ask)
async def who(turn: Turn):
    n = pick(turn.text, len(WHO_OPTIONS))
    if n is None and (len(turn.text.strip()) < 2 or await not_an_answer(turn)):
        return turn.ask_again("home_visit_ask", field="who", options=WHO_OPTIONS)
    reason = WHO_OPTIONS[n - 1] if n else turn.text.strip()[:100]
    return await _next(turn, ADDRESS, "address", who=reason)


@router.state(ADDRESS, back=_back, ask=ask)
async def address(turn: Turn):
    text = turn.text.strip()
    if len(text) < 5 or await not_an_answer(turn):
        return turn.ask_again("home_visit_ask", field="address", options=())
    return await _next(turn, PHONE, "phone", address=text[:200])


@router.state(PHONE, back=_back, ask=ask)
async def phone(turn: Turn):
    digits = "".join(ch for ch in turn.text if ch.isdigit())
    if not mobile_ok(digits):
        return turn.ask_again("home_visit_ask", field="phone", options=())
    return await _next(turn, TIMES, "times", phone=digits)


@router.state(TIMES, back=_back, ask=ask)
async def times(turn: Turn):
    options = _half_days(turn)
    chosen = pick_many(turn.text, len(options)) or _named_half_days(turn)
    if not chosen:
        return turn.ask_again("home_visit_ask", field="times", options=options)
    data = {**turn.dialog.data, "times": [options[i - 1] for i in chosen]}
    await turn.enter(CONFIRM, **data)
    return await _confirm(turn, data)


@router.state(CONFIRM, back=_back, ask=ask)
async def confirm(turn: Turn):
    if not agrees(turn.text):
        return turn.ask_again("proxy_confirm_again")
    data = turn.dialog.data
    home = await turn.home()
    case = await turn.ctx.cases.open(
        kind="home_visit", openid=turn.openid, guide=data["guide"],
        center=home or turn.ctx.config.service.default_center,
        data={"who": data["who"], "address": data["address"], "phone": data["phone"],
              "phone_masked": mask_mobile(data["phone"]), "preferred": data["times"]})
    await turn.leave()
    return turn.say("home_visit_submitted", case=case, g=turn.ctx.library.knowledge.guide(data["guide"]))
