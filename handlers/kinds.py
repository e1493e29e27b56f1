"""Message kinds the bot cannot read (voice it could not recognise, pictures, video, links,
files), and the events WeChat sends that need no answer: a template message's report is kept
with its notice; the others are acknowledged with an empty body."""

import logging

from bot.context import Turn
from bot.messages import SILENT_EVENTS, Acknowledged, Media, TemplateReport, Unknown, Voice
from bot.router import Router

log = logging.getLogger(__name__)

router = Router("kinds")


@router.kind(Voice)
async def voice_unclear(turn: Turn):
    if turn.message.recognition is None:   # recognition is switched off on the account
        return turn.say("voice_unreadable")
    return turn.say("voice_unclear")


@router.kind(Media)
async def media(turn: Turn):
    return turn.say("media", media=turn.message.media)


@router.kind(Unknown)
async def unknown_kind(turn: Turn):
    return turn.say("media", media="unknown")


@router.kind(TemplateReport)
async def template_report(turn: Turn):
    """TEMPLATESENDJOBFINISH: a failure puts its notice among those WeChat refused, for a clerk
    to call the resident; success is only noted."""
    report = turn.message
    found = await turn.ctx.store.outbox.reported(turn.openid, report.template_msgid, report.status,
                                                 turn.ctx.clock.now())
    if not found:
        log.warning("WeChat reported template message %r to %s as %r, but no notice has that msgid",
                    report.template_msgid, turn.openid, report.status)
    elif not report.delivered:
        log.warning("template message %s to %s was not delivered: %s", report.template_msgid, turn.openid,
                    report.status)
    return None


@router.kind(Acknowledged)
async def acknowledged(turn: Turn):
    event = turn.message.event
    if event not in SILENT_EVENTS:
        log.info("event %r from %s is not one we know; acknowledged without an answer", event, turn.openid)
    return None
