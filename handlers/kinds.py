"""Message kinds the bot cannot read: voice it could not recognise, pictures, video, links, files."""

from bot.context import Turn
from bot.messages import Media, Unknown, Voice
from bot.router import Router

router = Router("kinds")


@router.kind(Voice)
async def voice_unclear(turn: Turn):
    return turn.say("voice_unclear")


@router.kind(Media)
async def media(turn: Turn):
    return turn.say("media", media=turn.message.media)


@router.kind(Unknown)
async def unknown_kind(turn: Turn):
    return turn.say("media", media="unknown")
