"""预约上门: for residents who cannot come (elderly, disabled, ill), staff come to them.

    预约上门 ──▶ home:service ──▶ home:who ──▶ home:address ──▶ home:phone ──▶ home:times
                                                                                 │
                              case number (上门) ◀── 确认 ◀── home:confirm ◀───────┘

返回 goes one step back from any step after the first (the answers so far are kept); 取消 leaves.

The request becomes a home_visit case at the resident's station (or the default center); staff
schedule the visit through the API and the resident is told the time.
"""

from __future__ import annotations

from bot.choices import agrees, pick, pick_many
from bot.context import Turn
from bot.hours import day_label
from bot.knowledge.model import Guide
from bot.personal import mask_mobile, mobile_ok
from bot.router import Router

router = Router("home_visit")

SERVICE, WHO, ADDRESS, PHONE, TIMES, CONFIRM = (
    "home:service", "home:who", "home:address", "home:phone", "home:times", "home:confirm")
WHO_OPTIONS = ("高龄老人（行动不便）", "残疾人", "重病或卧床", "其他原因来不了")
HALF_DAYS = 6   # half-days offered: the next three working days, morning and afternoon


def _half_days(turn: Turn) -> list[str]:
    calendar = turn.ctx.appointments.schedule.calendar
    today = turn.ctx.clock.now().date()
    out, day = [], today
    while len(out) < HALF_DAYS:
        day = calendar.add_workdays(day, 1)
        label = day_label(day, today)
        out += [f"{label}上午", f"{label}下午"]
    return out[:HALF_DAYS]


async def _start(turn: Turn, guide: Guide):
    if not guide.home_visit:
        await turn.leave()
        return turn.say("home_visit_not_possible", g=guide)
    await turn.enter(WHO, guide=guide.name)
    return turn.say("home_visit_ask", field="who", g=guide, options=WHO_OPTIONS, again=False)


@router.intent("home_visit")
async def home_visit(turn: Turn):
    guide = turn.guide()
    if guide is None:
        await turn.enter(SERVICE)
        return turn.say("home_visit_ask", field="service", again=False)
    return await _start(turn, guide)


@router.state(SERVICE)
async def which_service(turn: Turn):
    guide = turn.guide(turn.text)
    if guide is None:
        return turn.say("home_visit_ask", field="service", again=True)
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


@router.state(WHO, back=_back)
async def who(turn: Turn):
    n = pick(turn.text, len(WHO_OPTIONS))
    if n is None and len(turn.text.strip()) < 2:
        return turn.say("home_visit_ask", field="who", options=WHO_OPTIONS, again=True)
    reason = WHO_OPTIONS[n - 1] if n else turn.text.strip()[:100]
    return await _next(turn, ADDRESS, "address", who=reason)


@router.state(ADDRESS, back=_back)
async def address(turn: Turn):
    text = turn.text.strip()
    if len(text) < 5:
        return turn.say("home_visit_ask", field="address", options=(), again=True)
    return await _next(turn, PHONE, "phone", address=text[:200])


@router.state(PHONE, back=_back)
async def phone(turn: Turn):
    digits = "".join(ch for ch in turn.text if ch.isdigit())
    if not mobile_ok(digits):
        return turn.say("home_visit_ask", field="phone", options=(), again=True)
    return await _next(turn, TIMES, "times", phone=digits)


@router.state(TIMES, back=_back)
async def times(turn: Turn):
    options = _half_days(turn)
    chosen = pick_many(turn.text, len(options))
    if not chosen:
        return turn.say("home_visit_ask", field="times", options=options, again=True)
    data = {**turn.dialog.data, "times": [options[i - 1] for i in chosen]}
    await turn.enter(CONFIRM, **data)
    return turn.say("home_visit_confirm", data=data, phone=mask_mobile(data["phone"]))


@router.state(CONFIRM, back=_back)
async def confirm(turn: Turn):
    if not agrees(turn.text):
        return turn.say("proxy_confirm_again")
    data = turn.dialog.data
    home = await turn.home()
    case = await turn.ctx.cases.open(
        kind="home_visit", openid=turn.openid, guide=data["guide"],
        center=home or turn.ctx.config.service.default_center,
        data={"who": data["who"], "address": data["address"], "phone": data["phone"],
              "phone_masked": mask_mobile(data["phone"]), "preferred": data["times"]})
    await turn.leave()
    return turn.say("home_visit_submitted", case=case, g=turn.ctx.library.knowledge.guide(data["guide"]))
