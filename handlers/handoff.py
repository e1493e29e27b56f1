"""转人工: WeChat's customer-service seats when configured, otherwise a callback request."""

from bot.context import Turn
from bot.hours import Hours, when_label
from bot.replies import TransferToAgent
from bot.router import Router

router = Router("handoff")


@router.intent("handoff")
async def handoff(turn: Turn):
    ctx = turn.ctx
    await turn.leave()
    if ctx.config.handoff.mode == "wechat_kf":
        return TransferToAgent()
    now = ctx.clock.now()
    _, new = await ctx.store.handoffs.request(turn.openid, turn.text or "（菜单：转人工）", now)
    hours = Hours.from_config(ctx.config.service.workdays, ctx.config.service.hours)
    return turn.say("handoff_callback", new=new, open_now=hours.is_open(now),
                    next_open=when_label(hours.next_open(now), now), hours=hours.label(),
                    service=ctx.config.service)
