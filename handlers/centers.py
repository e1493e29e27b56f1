"""Where and when centers open. The centers file arrives with booking; until then the configured
hours and hotline answer, and a location gets a clear placeholder."""

from bot.context import Turn
from bot.hours import Hours, when_label
from bot.messages import Location
from bot.router import Router

router = Router("centers")


def _hours(turn: Turn) -> Hours:
    service = turn.ctx.config.service
    return Hours.from_config(service.workdays, service.hours)


@router.intent("centers")
async def centers(turn: Turn):
    hours, now = _hours(turn), turn.ctx.clock.now()
    return turn.say("centers", service=turn.ctx.config.service, hours=hours.label(),
                    open_now=hours.is_open(now), next_open=when_label(hours.next_open(now), now))


@router.kind(Location)
async def location(turn: Turn):
    return turn.say("location", service=turn.ctx.config.service, hours=_hours(turn).label(),
                    label=turn.message.label)
