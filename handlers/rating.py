"""好差评: the resident rates a matter that ended; a bad rating (1–2) opens a followup case
(差评整改) for the center, which must call back and put it right."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.context import Turn
from bot.router import Router
from bot.satisfaction import LEVELS, read, starts_with_score

router = Router("rating")

SCORE = "rating:score"
# how long a rating request stays answerable after the dialog that asked it has let go: the
# resident may answer in the evening what the notice asked at noon
ANSWERABLE = timedelta(hours=48)
SHORT = 8   # a level said on its own ("不满意", "非常满意"), not a sentence that holds one


def parse_score(text: str) -> tuple[int, str] | None:
    """"5", "4分 办得快", "非常满意", "挺好的 谢谢你们", "太慢了" → (score, the words that came with it)."""
    reading = read(text)
    return (reading.level, reading.words) if reading.level else None


@router.state(SCORE)
async def score(turn: Turn):
    reading = read(turn.text)
    if reading.level is None:
        if not reading.opinion:
            return None  # not a rating: answered as any other message; 评价 finds the case again
        if turn.dialog.data.get("asked"):
            await turn.leave()   # still no level after asking once: not held here; 评价 finds the case
            return None
        case = await turn.ctx.store.cases.get(turn.dialog.data.get("case", ""))
        if case is None:
            await turn.leave()
            return None
        await turn.enter(SCORE, **turn.dialog.data, asked=True)
        return turn.say("rating_ask", case=case, again=True)
    case = await turn.ctx.store.cases.get(turn.dialog.data.get("case", ""))
    await turn.leave()
    if case is None:
        return None
    return await _record(turn, case, reading.level, reading.words)


async def _record(turn: Turn, case, score: int, words: str):
    ctx = turn.ctx
    if not await ctx.store.ratings.add(case, score, words, ctx.clock.now()):
        return turn.say("rating_thanks", score=score, level=LEVELS[score], already=True, followup=None)
    followup = None
    if score <= 2:
        followup = await ctx.cases.open(kind="followup", openid=case.openid, guide=case.guide, center=case.center,
                                        data={"case": case.number, "score": score, "words": words},
                                        actor="system", reply_within=ctx.config.service.complaint_reply_days)
    return turn.say("rating_thanks", score=score, level=LEVELS[score], already=False, followup=followup)


@router.ahead
async def late(turn: Turn):
    """A score ("2 等了半个多月…") or a level on its own ("不满意") from a resident whose matter
    ended and was not rated in the last 48 hours: the answer to the rating request, however long
    after it came — not a complaint, not a new question."""
    if turn.dialog is not None:
        return None
    reading = read(turn.text)
    if reading.level is None or not (starts_with_score(turn.text) or len(turn.text.strip()) <= SHORT):
        return None
    case = await turn.ctx.store.ratings.unrated_closed_case(turn.openid)
    if case is None or datetime.fromisoformat(case.updated_at) + ANSWERABLE < turn.ctx.clock.now():
        return None
    return await _record(turn, case, reading.level, reading.words)


@router.intent("rating")
async def rate(turn: Turn):
    case = await turn.ctx.store.ratings.unrated_closed_case(turn.openid)
    if case is None:
        return turn.say("rating_nothing")
    parsed = parse_score(turn.text.replace("评价", "").replace("打分", ""))
    if parsed is not None:
        return await _record(turn, case, *parsed)
    await turn.enter(SCORE, case=case.number)
    return turn.say("rating_ask", case=case, again=False)
