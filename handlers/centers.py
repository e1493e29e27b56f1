"""Where and when: binding to one's village (绑定), the hours, address and phone of one's
centers with whether they are open now, and the nearest centers to a sent location.

    绑定 东村 ──▶ bound (one match) │ centers:pick (several to choose from)
    a location ──▶ the nearest centers, their villages offered by number (centers:nearby): a
                   number binds, anything else is answered as if nothing had been offered
    a station's QR code (SCAN, a follow with qrscene_<id>, the menu's scan) ──▶ bound at once

A location WeChat reports by itself (the LOCATION event) is only kept as the resident's last one.
"""

from __future__ import annotations

import logging
import re

from bot.choices import pick
from bot.context import Turn
from bot.knowledge.model import Center
from bot.messages import Location, LocationReport, Scan, ScanCode
from bot.replies import TextReply
from bot.router import Router
from bot.texts import fits

log = logging.getLogger(__name__)

router = Router("centers")

PICK = "centers:pick"
NEARBY = "centers:nearby"
NEAREST = 5
WITHIN_KM = 50   # a location farther than this from every center is not in the county


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
    turn.missed = turn.missed or again
    return turn.say("bind_pick", options=options, distances=distances or [], again=again, label=label)


@router.intent("bind")
async def bind(turn: Turn):
    knowledge = turn.ctx.library.knowledge
    words = _place_words(turn.text)
    villages = [c for c in knowledge.centers.find(words) if c.is_village] if words else []
    if len(villages) == 1:
        return await _bind(turn, villages[0])
    return await _offer(turn, villages or knowledge.centers.villages())


def _offered(turn: Turn) -> list:
    """The centers a numbered offer listed, still in the knowledge base."""
    centers = turn.ctx.library.knowledge.centers
    return [c for c in (centers.get(i) for i in turn.dialog.data["options"]) if c]


@router.state(PICK)
async def picked(turn: Turn):
    options = _offered(turn)
    n = pick(turn.text, len(options))
    if n is not None:
        return await _bind(turn, options[n - 1])
    found = [c for c in turn.ctx.library.knowledge.centers.find(_place_words(turn.text)) if c.is_village]
    if len(found) == 1:
        return await _bind(turn, found[0])
    if found:
        return await _offer(turn, found, again=True)
    return await _offer(turn, options, turn.dialog.data.get("distances"), again=True)


@router.kind(Location)
async def location(turn: Turn):
    """The nearest centers, with their villages offered by number for binding. The offer does
    not hold the resident: a number binds, anything else goes on as a new message. A location
    far from all of the county's centers is said to be so."""
    message = turn.message
    near = turn.ctx.library.knowledge.centers.nearest(message.latitude, message.longitude, NEAREST) \
        if message.readable else []
    within = [(c, km) for c, km in near if km <= WITHIN_KM]
    if not within:
        return turn.say("far", label=message.label, km=near[0][1] if near else None, within=WITHIN_KM,
                        service=turn.ctx.config.service)
    rows = await _facts(turn, [c for c, _ in within])
    for row, (_, km) in zip(rows, within):
        row["km"] = km
    villages = [(c, km) for c, km in within if c.is_village]
    if villages:
        await turn.enter(NEARBY, options=[c.id for c, _ in villages])
    return _whole(turn, rows, villages, message.label)


def _whole(turn: Turn, rows: list[dict], villages: list, label: str) -> TextReply:
    """The nearest centers in one message: the numbered list is never cut off into a second
    one; the farthest centers' details give way first (the list still names them)."""
    while True:
        text = turn.ctx.texts.chat("nearest", rows=rows, villages=villages, label=label)
        if fits(text) or len(rows) == 1:
            return turn.reply(text)
        rows = rows[:-1]


@router.state(NEARBY)
async def nearby_picked(turn: Turn):
    options = _offered(turn)
    n = pick(turn.text, len(options))
    if n is not None:
        return await _bind(turn, options[n - 1])
    await turn.leave()
    return None   # not an answer to the offer: routed as any other message


@router.kind(LocationReport)
async def location_report(turn: Turn):
    """WeChat's report of where the resident is: kept as their last location, not answered."""
    message = turn.message
    if message.readable:
        await turn.ctx.store.residents.located(turn.openid, message.latitude, message.longitude, turn.ctx.clock.now())
    return None


async def scanned(turn: Turn, scene: str, *, welcome: bool = False) -> TextReply | None:
    """A center's QR code was scanned (its scene is the center's id): a village's station binds
    the resident to it at once; any center's hours are told. None if the scene is no center."""
    centers = turn.ctx.library.knowledge.centers
    center = centers.get(scene.strip())
    if center is None:
        if scene:
            log.warning("QR code scene %r names no center", scene)
        return None
    town = centers.get(center.parent) if center.is_village else None
    if center.is_village:
        await turn.ctx.store.residents.bind(turn.openid, center.id, turn.ctx.clock.now())
    rows = await _facts(turn, [center, *([town] if town else [])])
    has_home = center.is_village or await turn.home() is not None
    return turn.say("scanned", c=center, town=town, rows=rows, bound=center.is_village, has_home=has_home,
                    welcome=welcome, service=turn.ctx.config.service)


@router.kind(Scan)
async def scan(turn: Turn):
    return await scanned(turn, turn.message.scene) or turn.say("help")


@router.kind(ScanCode)
async def scan_code(turn: Turn):
    """The menu's scan button: a station's code binds as its poster does; another code is
    said to be one the bot cannot use."""
    return await scanned(turn, turn.message.result) or turn.say("scan_unknown")
