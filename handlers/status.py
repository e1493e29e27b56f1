"""查进度 / 我的办件: the resident's cases with their state and deadline."""

from bot.context import Turn
from bot.router import Router

router = Router("status")


@router.intent("status")
async def my_cases(turn: Turn):
    cases = await turn.ctx.store.cases.list(centers=None, openid=turn.openid, limit=5)
    return turn.say("status_cases", cases=cases, service=turn.ctx.config.service)
