"""好差评: the resident rates a matter that ended; a bad rating (1–2) opens a followup case
(差评整改) for the center, which must call back and put it right."""

from __future__ import annotations

import re

from bot.context import Turn
from bot.router import Router

router = Router("rating")

SCORE = "rating:score"
WORDS = (("非常不满意", 1), ("非常满意", 5), ("基本满意", 3), ("不满意", 2), ("满意", 4))


def parse_score(text: str) -> tuple[int, str] | None:
    """"5", "4分 办得快", "非常满意" → (score, the words that came with it)."""
    text = text.strip()
    if m := re.match(r"^([1-5])\s*(?:分|星)?[\s,，。.、:：]*(.*)$", text, re.S):
        return int(m.group(1)), m.group(2).strip()
    for word, score in WORDS:
        if text.startswith(word):
            return score, text[len(word):].strip("，,。. ")
    return None


@router.state(SCORE)
async def score(turn: Turn):
    parsed = parse_score(turn.text)
    if parsed is None:
        return None  # not a rating: answered as any other message; 评价 finds the case again
    case = await turn.ctx.store.cases.get(turn.dialog.data.get("case", ""))
    await turn.leave()
    if case is None:
        return None
    return await _record(turn, case, *parsed)


async def _record(turn: Turn, case, score: int, words: str):
    ctx = turn.ctx
    if not await ctx.store.ratings.add(case, score, words, ctx.clock.now()):
        return turn.say("rating_thanks", score=score, already=True, followup=None)
    followup = None
    if score <= 2:
        followup = await ctx.cases.open(kind="followup", openid=case.openid, guide=case.guide, center=case.center,
                                        data={"case": case.number, "score": score, "words": words},
                                        actor="system", reply_within=ctx.config.service.complaint_reply_days)
    return turn.say("rating_thanks", score=score, already=False, followup=followup)


@router.intent("rating")
async def rate(turn: Turn):
    case = await turn.ctx.store.ratings.unrated_closed_case(turn.openid)
    if case is None:
        return turn.say("rating_nothing")
    parsed = parse_score(turn.text.replace("评价", "").replace("打分", ""))
    if parsed is not None:
        return await _record(turn, case, *parsed)
    await turn.enter(SCORE, case=case.number)
    return turn.say("rating_ask", case=case)
