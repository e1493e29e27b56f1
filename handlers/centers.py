"""Where and when: binding to one's village (绑定), the hours, address and phone of one's
centers with whether they are open now, and the nearest centers to a sent location.

    绑定 东村 ──▶ bound (one match) │ centers:pick (several, or a location's nearest)
"""

from __future__ import annotations

import re

from bot.choices import pick
from bot.context import Turn
from bot.knowledge.model import Center
from bot.messages import Location
from bot.router import Router

router = Router("centers")

PICK = "centers:pick"
NEAREST = 5


async def _facts(turn: Turn, centers: list[Center]) -> list[dict]:
    return [{"c": c, **await turn.ctx.appointments.opening(c)} for c in centers]


def _default(turn: Turn) -> Center | None:
    return turn.ctx.library.knowledge.centers.get(turn.ctx.config.service.default_center)


async def my_centers(turn: Turn) -> list[Center]:
    """The resident's station and its town center; the default center until they bind."""
    centers = turn.ctx.library.knowledge.centers
    chain = centers.chain(await turn.home())
    if chain:
        return [c for c in chain if c.level != "县（区）"] or chain[:1]
    return [c] if (c := _default(turn)) else []


@router.intent("centers")
async def centers(turn: Turn):
    knowledge = turn.ctx.library.knowledge
    named = [c for c in knowledge.centers.find(turn.text) if c.hours] if turn.text else []
    shown = named[:3] or await my_centers(turn)
    bound = await turn.home() is not None
    return turn.say("centers", rows=await _facts(turn, shown), bound=bound, named=bool(named),
                    service=turn.ctx.config.service)


def _place_words(text: str) -> str:
    return re.sub(r"^(请|帮我)?(绑定|改绑|换绑|更换村|设置我的村)(到|为|成)?[：:\s]*", "", text.strip()).strip("。.！! ")


async def _bind(turn: Turn, center: Center):
    await turn.ctx.store.residents.bind(turn.openid, center.id, turn.ctx.clock.now())
    await turn.leave()
    town = turn.ctx.library.knowledge.centers.get(center.parent)
    return turn.say("bound", c=center, town=town, rows=await _facts(turn, [center, *([town] if town else [])]))


async def _offer(turn: Turn, options: list[Center], distances: list[float] | None = None, again: bool = False,
                 label: str = ""):
    await turn.enter(PICK, options=[c.id for c in options], distances=distances or [])
    return turn.say("bind_pick", options=options, distances=distances or [], again=again, label=label)


@router.intent("bind")
async def bind(turn: Turn):
    knowledge = turn.ctx.library.knowledge
    words = _place_words(turn.text)
    villages = [c for c in knowledge.centers.find(words) if c.is_village] if words else []
    if len(villages) == 1:
        return await _bind(turn, villages[0])
    return await _offer(turn, villages or knowledge.centers.villages())


@router.state(PICK)
async def picked(turn: Turn):
    knowledge = turn.ctx.library.knowledge
    options = [c for c in (knowledge.centers.get(i) for i in turn.dialog.data["options"]) if c]
    n = pick(turn.text, len(options))
    if n is not None:
        return await _bind(turn, options[n - 1])
    found = [c for c in knowledge.centers.find(_place_words(turn.text)) if c.is_village]
    if len(found) == 1:
        return await _bind(turn, found[0])
    if found:
        return await _offer(turn, found, again=True)
    return await _offer(turn, options, turn.dialog.data.get("distances"), again=True)


@router.kind(Location)
async def location(turn: Turn):
    message = turn.message
    near = turn.ctx.library.knowledge.centers.nearest(message.latitude, message.longitude, NEAREST)
    if not near:
        return turn.say("centers", rows=await _facts(turn, await my_centers(turn)), bound=False, named=False,
                        service=turn.ctx.config.service)
    rows = await _facts(turn, [c for c, _ in near])
    for row, (_, km) in zip(rows, near):
        row["km"] = km
    villages = [(c, km) for c, km in near if c.is_village]
    await turn.enter(PICK, options=[c.id for c, _ in villages], distances=[km for _, km in villages])
    return turn.say("nearest", rows=rows, villages=villages, label=message.label)
