"""我的预约, 取消预约, 改约: the resident's upcoming bookings, by chat.

A booking to cancel or move is named by its number in the list (or its code); cancelling asks
once for confirmation and frees the place at once. 改约 runs the booking dialog again for the
same service; the old place is given back in the same step as the new one is taken.
"""

from __future__ import annotations

import re

from bot.choices import agrees, pick
from bot.context import Turn
from bot.hours import day_label
from bot.router import Router
from handlers import booking

router = Router("my_bookings")

PICK_CANCEL, PICK_MOVE, CONFIRM_CANCEL = "bookings:pick_cancel", "bookings:pick_move", "bookings:confirm_cancel"


async def _upcoming(turn: Turn):
    return await turn.ctx.store.bookings.upcoming(turn.openid, turn.ctx.clock.now())


def _rows(turn: Turn, bookings) -> list[dict]:
    centers, today = turn.ctx.library.knowledge.centers, turn.ctx.clock.now().date()
    out = []
    for b in bookings:
        center = centers.get(b.center)
        out.append({"b": b, "c": center, "window": center.window(b.window) if center else None,
                    "day": day_label(b.day, today)})
    return out


def _named(turn: Turn, bookings) -> list:
    """Bookings the message names by code."""
    codes = set(re.findall(r"\d{6}", turn.text))
    return [b for b in bookings if b.code in codes]


@router.intent("my_bookings")
async def my_bookings(turn: Turn):
    bookings = await _upcoming(turn)
    return turn.say("my_bookings", rows=_rows(turn, bookings))


async def _choose(turn: Turn, action: str, state: str):
    bookings = await _upcoming(turn)
    if not bookings:
        await turn.leave()
        return turn.say("my_bookings", rows=[])
    named = _named(turn, bookings)
    if len(bookings) == 1 or len(named) == 1:
        return await _chosen(turn, action, (named or bookings)[0])
    await turn.enter(state, codes=[b.code for b in bookings])
    return turn.say("bookings_pick", rows=_rows(turn, bookings), action=action, again=False)


async def _chosen(turn: Turn, action: str, b):
    if action == "cancel":
        await turn.enter(CONFIRM_CANCEL, code=b.code)
        return turn.say("booking_cancel_confirm", row=_rows(turn, [b])[0])
    guide = turn.ctx.library.knowledge.guide(b.guide)
    if guide is None:
        await turn.leave()
        return turn.say("booking_cancel_confirm", row=_rows(turn, [b])[0])
    return await booking.start(turn, guide, {"replaces": b.code, "center": b.center, "trail": []})


@router.intent("cancel_booking")
async def cancel_booking(turn: Turn):
    return await _choose(turn, "cancel", PICK_CANCEL)


@router.intent("reschedule")
async def reschedule(turn: Turn):
    return await _choose(turn, "move", PICK_MOVE)


async def _picked(turn: Turn, action: str):
    codes = turn.dialog.data["codes"]
    n = pick(turn.text, len(codes))
    code = codes[n - 1] if n else next((c for c in codes if c in turn.text), None)
    b = await turn.ctx.store.bookings.get(code) if code else None
    if b is None or b.status != "booked":
        bookings = [x for x in await _upcoming(turn) if x.code in codes]
        if not bookings:
            await turn.leave()
            return turn.say("my_bookings", rows=[])
        return turn.say("bookings_pick", rows=_rows(turn, bookings), action=action, again=True)
    return await _chosen(turn, action, b)


@router.state(PICK_CANCEL)
async def pick_cancel(turn: Turn):
    return await _picked(turn, "cancel")


@router.state(PICK_MOVE)
async def pick_move(turn: Turn):
    return await _picked(turn, "move")


@router.state(CONFIRM_CANCEL)
async def confirm_cancel(turn: Turn):
    code = turn.dialog.data["code"]
    b = await turn.ctx.store.bookings.get(code)
    if not agrees(turn.text, also=("确认取消", "取消预约")):
        await turn.leave()
        return turn.say("booking_kept", row=_rows(turn, [b])[0] if b else None)
    await turn.leave()
    cancelled = b is not None and await turn.ctx.appointments.cancel(b)
    return turn.say("booking_cancelled", row=_rows(turn, [b])[0] if b else None, done=cancelled)
