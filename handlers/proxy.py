"""代办: the station handles a matter for the resident (全程代办: 委托 → 受理 → 承办 → 回交).

    代办 ──▶ proxy:service ──▶ (all materials shown) proxy:name ──▶ proxy:phone ──▶ proxy:id
                                                                              │
                       case number ◀── 确认 ◀── proxy:confirm ◀── proxy:delivery ◀┘

A guide that cannot be handled by proxy says why and what to do instead. An answer that is not
valid re-asks without losing what was given (a command or a service's name is never taken for a
name or an address); 取消 leaves at any step; a step left for another question is kept, and
继续代办 asks its question again (bot/steps.py).
"""

from __future__ import annotations

import re

from bot.choices import agrees
from bot.context import Turn
from bot.knowledge.model import Guide
from bot.knowledge.situations import named_situation
from bot.personal import id_number_ok, mask_id_number, mask_mobile, mobile_ok
from bot.router import Router
from bot.steps import not_a_name, not_an_answer
from bot.knowledge.bundles import Bundle, merged_materials
from handlers.bundle import bundle_asked, bundle_at_hand, case_lines, proxy_services
from handlers.faq import guide_at_hand

router = Router("proxy")

SERVICE, NAME, PHONE, ID, DELIVERY, CONFIRM = (
    "proxy:service", "proxy:name", "proxy:phone", "proxy:id", "proxy:delivery", "proxy:confirm")
NO_DELIVERY = ("不用", "不需要", "自己领", "到站领", "自取", "不要", "去领")


async def _start_bundle(turn: Turn, bundle: Bundle):
    """One 代办 request for a whole life event (高效办成一件事): the services the station can
    handle, one merged material list; the rest are told as what the resident does themselves."""
    knowledge = turn.ctx.library.knowledge
    services = proxy_services(bundle, knowledge)
    if not services:
        await turn.leave()
        return turn.say("proxy_not_possible_bundle", b=bundle)
    await turn.enter(NAME, guide=bundle.name, services=list(services))
    return turn.say("proxy_start_bundle", b=bundle, services=services, guides=knowledge.guides,
                    materials=merged_materials(bundle, knowledge.guides))


async def _start(turn: Turn, guide: Guide):
    if not guide.proxy:
        await turn.leave()
        return turn.say("proxy_not_possible", g=guide)
    await turn.enter(NAME, guide=guide.name, situation=guide.situation)
    return turn.say("proxy_start", g=guide)


def _in_situation(turn: Turn, guide: Guide | None) -> Guide | None:
    """The guide in the situation the resident's words name ("代办残疾证补办"), if any."""
    named = named_situation(guide, turn.text, turn.ctx.library.knowledge) if guide else None
    return guide.in_situation(named.name) if named is not None else guide


@router.intent("proxy")
async def proxy(turn: Turn):
    at_hand = guide_at_hand(turn)
    guide = _in_situation(turn, await turn.guide())
    if guide is None and (bundle := bundle_asked(turn) or bundle_at_hand(turn)) is not None:
        return await _start_bundle(turn, bundle)
    if guide is None or (at_hand is not None and at_hand.name == guide.name and not guide.situation):
        guide = at_hand   # "代办" after an answer: the guide and the situation just told
    if guide is None:
        await turn.enter(SERVICE)
        return turn.say("proxy_ask_service", again=False)
    return await _start(turn, guide)


FIELDS = {NAME: "name", PHONE: "phone", ID: "id", DELIVERY: "delivery"}


async def ask(turn: Turn):
    """The question of the step the resident is in, asked again (after 继续代办)."""
    state = turn.dialog.state
    if state == SERVICE:
        return turn.say("proxy_ask_service", again=False)
    if state == CONFIRM:
        return await _confirm(turn, turn.dialog.data)
    return turn.say("proxy_ask", field=FIELDS[state], again=False)


@router.state(SERVICE, ask=ask)
async def which_service(turn: Turn):
    guide = _in_situation(turn, await turn.guide(turn.text))
    if guide is None and (bundle := bundle_asked(turn)) is not None:
        return await _start_bundle(turn, bundle)
    if guide is None:
        return turn.ask_again("proxy_ask_service")
    return await _start(turn, guide)


async def _next(turn: Turn, state: str, field: str, **data):
    """Keep what was given, move to the next step and ask for `field`."""
    await turn.enter(state, **{**turn.dialog.data, **data})
    return turn.say("proxy_ask", field=field, again=False)


@router.state(NAME, ask=ask)
async def name(turn: Turn):
    if await not_a_name(turn):
        return turn.ask_again("proxy_ask", field="name")
    return await _next(turn, PHONE, "phone", name=turn.text.strip())


@router.state(PHONE, ask=ask)
async def phone(turn: Turn):
    digits = "".join(ch for ch in turn.text if ch.isdigit())
    if not mobile_ok(digits):
        return turn.ask_again("proxy_ask", field="phone")
    return await _next(turn, ID, "id", phone=digits)


# 记不清, 没带, 跳过 …: the number is not at hand; the station reads it off the card with the materials
_NO_ID_AT_HAND = re.compile(r"记不(清|住|得)|不记得|忘(了|记)|不知道|没带|不在(身边|手边|跟前)|找不(到|着)|"
                            r"跳过|先不填|不想填|以后再|到时候|收材料")


@router.state(ID, ask=ask)
async def id_number(turn: Turn):
    value = turn.text.strip().replace(" ", "").upper()
    if id_number_ok(value):
        return await _next(turn, DELIVERY, "delivery", id_number=value)
    if _NO_ID_AT_HAND.search(turn.text) and not any(c.isdigit() for c in value):
        return await _next(turn, DELIVERY, "delivery", id_number="")
    return turn.ask_again("proxy_ask", field="id")


@router.state(DELIVERY, ask=ask)
async def delivery(turn: Turn):
    text = turn.text.strip()
    address = "" if any(w in text for w in NO_DELIVERY) else text
    if address and (len(address) < 5 or await not_an_answer(turn)):
        return turn.ask_again("proxy_ask", field="delivery")
    data = {**turn.dialog.data, "address": address}
    await turn.enter(CONFIRM, **data)
    return await _confirm(turn, data)


async def _confirm(turn: Turn, data: dict):
    """Everything entered, so a mistake can be seen before it is sent: the name as typed, the
    phone and 身份证号 masked (the number's check digit has caught typing slips)."""
    centers = turn.ctx.library.knowledge.centers
    center = centers.get(await turn.home() or turn.ctx.config.service.default_center)
    return turn.say("proxy_confirm", data=data, name=data["name"], phone=mask_mobile(data["phone"]),
                    id_number=mask_id_number(data["id_number"]) if data["id_number"] else "", center=center)


@router.state(CONFIRM, ask=ask)
async def confirm(turn: Turn):
    if not agrees(turn.text):
        return turn.ask_again("proxy_confirm_again")
    data = turn.dialog.data
    bundle = turn.ctx.library.knowledge.bundle(data["guide"]) if data.get("services") else None
    case = await turn.ctx.cases.open(   # the resident's own station handles it for them (村代办员)
        kind="proxy", openid=turn.openid, guide=data["guide"],
        lines=case_lines(bundle, turn.ctx.library.knowledge, turn.ctx.texts) if bundle is not None else (),
        center=await turn.home() or turn.ctx.config.service.default_center,
        data={"name": data["name"], "phone": data["phone"], "phone_masked": mask_mobile(data["phone"]),
              "id_number": data["id_number"],
              "id_number_masked": mask_id_number(data["id_number"]) if data["id_number"] else "",
              "address": data.get("address", ""),
              **({"situation": data["situation"]} if data.get("situation") else {})})
    await turn.leave()
    return turn.say("proxy_submitted", case=case)
