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


def _register(what: str) -> None:
    async def interim(turn: Turn):
        return await _interim(turn, what)

    interim.__name__ = f"{what}_interim"
    router.intent(what)(interim)


for _what in ("booking",):
    _register(_what)
