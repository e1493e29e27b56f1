"""转人工: WeChat's customer-service seats when configured, otherwise a callback request."""

from bot.context import Turn
from bot.replies import TransferToAgent
from bot.router import Router
from handlers.case_talk import case_in_question
from handlers.centers import my_centers

router = Router("handoff")


@router.intent("handoff")
async def handoff(turn: Turn):
    ctx = turn.ctx
    about = case_in_question(turn)   # 转人工 right after asking about a waiting case: for that case
    await turn.leave()
    if ctx.config.handoff.mode == "wechat_kf":
        return TransferToAgent()
    now = ctx.clock.now()
    centers = await my_centers(turn)
    question, center = turn.text or "（菜单：转人工）", centers[0].id if centers else ctx.config.service.default_center
    if about is not None and (case := await ctx.store.cases.get(about[0])) is not None:
        question, center = f"关于办件 {case.number}：{about[1]}", case.center
    _, new = await ctx.store.handoffs.request(turn.openid, question, now, center=center)
    opening = await ctx.appointments.opening(centers[-1]) if centers else None
    return turn.say("handoff_callback", new=new, opening=opening, service=ctx.config.service)
