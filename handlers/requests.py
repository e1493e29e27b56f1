"""Booking, proxy handling (代办), progress, complaints and ratings.

Each becomes a full dialog with the case store and the centers; until then the resident is
told honestly how to get it done today, with what the matched guide says, and offered a person.
"""

from bot.context import Turn
from bot.hours import Hours
from bot.router import Router

router = Router("requests")


def _guide(turn: Turn):
    match = turn.match
    if match is None or match.best is None or match.best.score < 0.55:
        return None
    return turn.ctx.library.knowledge.guide(match.best.name)


async def _interim(turn: Turn, what: str):
    service = turn.ctx.config.service
    hours = Hours.from_config(service.workdays, service.hours)
    return turn.say("request_interim", what=what, g=_guide(turn), service=service, hours=hours.label())


@router.intent("booking")
async def booking(turn: Turn):
    return await _interim(turn, "booking")


@router.intent("proxy")
async def proxy(turn: Turn):
    return await _interim(turn, "proxy")


@router.intent("status")
async def status(turn: Turn):
    return await _interim(turn, "status")


@router.intent("complaint")
async def complaint(turn: Turn):
    return await _interim(turn, "complaint")


@router.intent("rating")
async def rating(turn: Turn):
    return await _interim(turn, "rating")
