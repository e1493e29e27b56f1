"""转人工: WeChat's customer-service seats when configured, otherwise a callback request."""

from bot.context import Turn
from bot.replies import TransferToAgent
from bot.router import Router
from handlers.centers import my_centers

router = Router("handoff")


@router.intent("handoff")
async def handoff(turn: Turn):
    ctx = turn.ctx
    await turn.leave()
    if ctx.config.handoff.mode == "wechat_kf":
        return TransferToAgent()
    now = ctx.clock.now()
    centers = await my_centers(turn)
    _, new = await ctx.store.handoffs.request(turn.openid, turn.text or "（菜单：转人工）", now,
                                              center=centers[0].id if centers else ctx.config.service.default_center)
    opening = await ctx.appointments.opening(centers[-1]) if centers else None
    return turn.say("handoff_callback", new=new, opening=opening, service=ctx.config.service)
