"""投诉: every complaint is registered as a case with a reply deadline; the reply reaches the
complainant in WeChat when staff close it.

    投诉 ──▶ complaint:details ──(what happened)──▶ case number and reply date
"""

import re

from bot.context import Turn
from bot.knowledge.model import Referral
from bot.router import Router
from handlers.case_talk import case_in_question
from handlers.centers import my_centers

router = Router("complaint")

DETAILS = "complaint:details"
MIN_WORDS = 6


async def _register(turn: Turn, words: str):
    ctx = turn.ctx
    # the town center above the resident's station answers it, not the station complained about
    centers = await my_centers(turn)
    case = await ctx.cases.open(kind="complaint", openid=turn.openid, guide=None,
                                center=centers[-1].id if centers else ctx.config.service.default_center,
                                data={"words": words[:2000]},
                                reply_within=ctx.config.service.complaint_reply_days)
    await turn.leave()
    return turn.say("complaint_registered", case=case)


# the words that make a message a complaint, left out to see what it is about
_COMPLAINING = re.compile(r"(我|俺)?(要|想)?(去)?(投诉|举报)(一下)?(他们|他|她|它|这个|这事)?|到哪里?|去哪里?|找谁|怎么办")


# a complaint naming these is about our centers, stations and their staff, whatever else it says
OURS = ("便民服务", "服务站", "服务中心", "窗口", "工作人员", "代办员", "网格员", "你们", "村委", "镇政府", "开门", "上班")
ELSEWHERE_AT = 0.8   # how sure the reading of what it is about must be to send the complaint elsewhere


async def _elsewhere(turn: Turn) -> Referral | None:
    """The office that handles what a complaint is about, when that is not the front desk's
    service: unpaid wages (劳动监察), a faulty purchase (消费投诉), pollution …"""
    if any(w in turn.text for w in OURS):
        return None
    about = _COMPLAINING.sub(" ", turn.text).strip("，,。.！!？? ")
    if len(about) < 4:
        return None
    match = await turn.ctx.library.match(about)
    if match.decision != "refer" or not match.candidates or match.candidates[0].score < ELSEWHERE_AT:
        return None
    return turn.ctx.library.knowledge.referrals.get(match.candidates[0].name)


@router.intent("complaint")
async def complaint(turn: Turn):
    # "窗口的人一直在玩手机，这个去哪投诉" already says what happened; "我要投诉" does not
    words = turn.text.strip()
    if (about := case_in_question(turn)) is not None:   # chosen after a refusal was explained
        words = f"关于办件 {about[0]}（{about[1]}）：{words}"
    elif (referral := await _elsewhere(turn)) is not None:   # "老板欠我工资，我要投诉他"
        await turn.leave()
        return turn.say("referral", r=referral, service=turn.ctx.config.service, complaint=True)
    stripped = words.replace("我要投诉", "").replace("投诉", "").replace("我要", "").strip("，,。.！! ")
    if len(stripped) >= MIN_WORDS * 2:
        return await _register(turn, words)
    await turn.enter(DETAILS, first=words)
    return turn.say("complaint_ask", again=False)


@router.state(DETAILS)
async def details(turn: Turn):
    words = turn.text.strip()
    if len(words) < MIN_WORDS:
        return turn.ask_again("complaint_ask")
    first = turn.dialog.data.get("first", "")
    return await _register(turn, f"{first}\n{words}" if first else words)
