"""预约: until the centers and their time slots arrive, the resident is told honestly that online
booking is not open yet, with what the matched guide says to bring, and offered a person."""

from bot.context import Turn
from bot.hours import Hours
from bot.router import Router

router = Router("booking")


def _guide(turn: Turn):
    match = turn.match
    if match is None or match.best is None or match.best.score < 0.55:
        return None
    return turn.ctx.library.knowledge.guide(match.best.name)


@router.intent("booking")
async def booking(turn: Turn):
    service = turn.ctx.config.service
    hours = Hours.from_config(service.workdays, service.hours)
    return turn.say("booking_interim", g=_guide(turn), service=service, hours=hours.label())
