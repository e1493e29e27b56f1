"""Questions about the resident's own case while it waits: asked for more materials
("卡是农商银行的行不行"), extended ("咋又延期了"), or refused ("凭啥不给办").

    a question ──the resident has a case in need_materials / extended / rejected──▶
        that case: its state, the reason the clerk gave, its center; 转人工 for that case
        (and 投诉 after a refusal, registered only when the resident chooses it)
        ──▶ case:asked (holds the case, so 转人工 or 投诉 right after is about it)

A question that names another service with confidence, or an action asked for in so many
words (转人工, 进度, 撤回 …), goes on to its own handler.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.context import Turn
from bot.knowledge.lexical import normalise
from bot.router import Router

router = Router("case_talk")

ASKED = "case:asked"
WAITING = ("need_materials", "extended", "rejected")
REFUSED_WITHIN = timedelta(days=30)
DISAGREE = ("凭啥", "凭什么", "为啥不", "为什么不", "咋不", "怎么不给", "不服", "不合理", "不同意", "没道理",
            "不给办", "不给批", "不让办", "不予", "不公平", "有意见", "说不过去", "不讲理")
ABOUT_CASE = ("行不行", "行吗", "可以吗", "可不可以", "能用吗", "管用吗", "算不算", "中不中", "成不成", "材料", "补",
              "延期", "又延", "推迟", "拖", "为啥", "为什么", "咋又", "怎么又", "怎么还", "还没", "啥时候",
              "什么时候", "多久", "咋回事", "怎么回事", "退回", "不给")
# asked for in so many words: their own handlers answer them
ACTIONS = ("handoff", "status", "withdraw", "materials_reply", "rating", "booking", "proxy", "home_visit",
           "cancel_booking", "reschedule", "my_bookings", "bind", "greeting")


async def _waiting_case(turn: Turn):
    now = turn.ctx.clock.now()
    for case in await turn.ctx.store.cases.list(centers=None, openid=turn.openid, limit=20):
        if case.state not in WAITING:
            continue
        if case.state == "rejected" and now - datetime.fromisoformat(case.updated_at) > REFUSED_WITHIN:
            continue
        return case
    return None


@router.ahead
async def about_my_case(turn: Turn):
    if turn.intent in ACTIONS:
        return None
    q = normalise(turn.text)
    if "投诉" in q or "举报" in q:
        return None   # a complaint asked for in so many words is registered as one
    disagrees = any(w in q for w in DISAGREE)
    if not disagrees and not any(w in q for w in ABOUT_CASE):
        return None
    case = await _waiting_case(turn)
    if case is None:
        return None
    match = turn.match
    if match is not None and match.decision == "answer" and match.best and match.best.name != case.guide \
            and match.intent == "guide":
        return None   # a question about another service
    case = await turn.ctx.store.cases.get(case.number) or case
    reason = next((line.note for line in reversed(case.history) if line.to_state == case.state and line.note), "")
    await turn.enter(ASKED, case=case.number, question=turn.text[:300])
    return turn.say("case_talk", case=case, reason=reason, question=turn.text[:60], disagrees=disagrees,
                    c=turn.ctx.library.knowledge.centers.get(case.center), service=turn.ctx.config.service)


@router.state(ASKED)
async def asked(turn: Turn):
    return None   # holds the case for a 转人工 or 投诉 right after; anything else is routed as usual


def case_in_question(turn: Turn) -> tuple[str, str] | None:
    """The case and the question the resident asked about it just before, if they did."""
    dialog = turn.dialog
    if dialog is None or dialog.state != ASKED:
        return None
    return dialog.data.get("case", ""), dialog.data.get("question", "")
