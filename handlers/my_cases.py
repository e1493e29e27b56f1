"""What a resident does to their own cases: withdraw one not yet accepted (撤回), answer a
request for missing materials (补材料)."""

from __future__ import annotations

import re

from bot.cases.machine import InvalidMove, Move
from bot.context import Turn
from bot.knowledge.matcher import QUESTION_WORDS
from bot.router import Router
from bot.store.cases import StaleCase

router = Router("my_cases")

NUMBER = re.compile(r"[DSTZ]\d{8}-\d{4}", re.IGNORECASE)


async def _own_case(turn: Turn, states: tuple[str, ...]):
    """The case the resident names by number, or their latest one in one of `states`."""
    if m := NUMBER.search(turn.text):
        case = await turn.ctx.store.cases.get(m.group(0).upper())
        return case if case is not None and case.openid == turn.openid else None
    for case in await turn.ctx.store.cases.list(centers=None, openid=turn.openid, limit=20):
        if case.state in states:
            return case
    return None


# Words that withdraw a case as they stand; 不想办了 or 算了 only ask whether to (a resident who
# gives up on a question must not lose an application by it).
EXPLICIT = ("撤回", "撤销")


@router.intent("withdraw")
async def withdraw(turn: Turn):
    case = await _own_case(turn, ("submitted",))
    if case is None:
        return turn.say("withdraw", case=None, refused=False, confirm=False)
    if not NUMBER.search(turn.text) and not any(word in turn.text for word in EXPLICIT):
        return turn.say("withdraw", case=case, refused=False, confirm=True)
    try:
        await turn.ctx.cases.move(case.number, Move(to="cancelled", by_resident=True), actor="resident")
    except (InvalidMove, StaleCase):
        return turn.say("withdraw", case=case, refused=True, confirm=False)
    return turn.say("withdraw", case=case, refused=False, confirm=False)


def says_asking(text: str) -> bool:
    return any(word in text for word in QUESTION_WORDS)


@router.intent("materials_reply")
async def materials_reply(turn: Turn):
    case = await _own_case(turn, ("need_materials",))
    if case is None or case.state != "need_materials":
        if says_asking(turn.text):
            return None   # "户口本复印件行不行" with no case waiting: a question, answered as any other
        return turn.say("materials_reply", case=None)
    words = NUMBER.sub("", turn.text).replace("补材料", "").strip("，,。. ")
    await turn.ctx.store.cases.note(case, actor="resident", note=f"居民答复补材料：{words or '（已知悉）'}",
                                    now=turn.ctx.clock.now())
    return turn.say("materials_reply", case=case)
