"""查进度 / 我的办件: the resident's cases with their state and deadline. A question that names a
service ("建房审批交上去两个月了卡在哪一步") is answered with the cases of that service; if the
resident has none of it, they are told so, with their other cases and how to ask elsewhere."""

from bot.context import Turn
from bot.router import Router

router = Router("status")
SHOWN = 5


@router.intent("status")
async def my_cases(turn: Turn):
    cases = await turn.ctx.store.cases.list(centers=None, openid=turn.openid, limit=50)
    named = await turn.guide()
    about = [c for c in cases if named is not None and c.guide == named.name]
    shown = await turn.ctx.store.cases.with_lines((about or cases)[:SHOWN])   # a life event: each service
    return turn.say("status_cases", cases=shown, named=named, found=bool(about),
                    service=turn.ctx.config.service)
