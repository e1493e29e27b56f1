"""转人工: a conversation with the center's clerks (or WeChat's own customer-service seats, when
`[handoff] mode = "wechat_kf"`).

    转人工 ──▶ waiting (place in the queue; outside office hours: when someone will read it)
      │          │ the resident's messages go to it, stored before any reply; the bot says
      │          │ 已转给工作人员，请稍候 once while no clerk has written, then nothing
      │          ▼
      │        open (a clerk writes; each message pushed to the resident)
      │          │ 结束 / 取消 from the resident, the clerk's 结束对话, or idle → closed
      ▼          ▼
    closed ──the resident's next message, if it is a rating──▶ rated (a bad one: 差评整改)

The conversation starts with the resident's recent questions and what the bot made of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.context import Turn
from bot.messages import Location, Media, MenuClick, Text, Voice
from bot.replies import NoReply, TransferToAgent
from bot.router import Router
from bot.satisfaction import LEVELS, read
from bot.store.handoffs import Said
from handlers.case_talk import case_in_question
from handlers.centers import my_centers

router = Router("handoff")

END_WORDS = ("结束", "取消", "结束对话", "结束人工", "退出", "退出人工", "不用了", "不需要了")
RECENT = timedelta(hours=2)        # questions asked this long before 转人工 start the conversation
EARLIER_SHOWN = 6
RATING_FOR = timedelta(days=1)     # the rating question is answered by the next message within this
MEDIA_NAMES = {"image": "图片", "voice": "语音", "video": "视频", "shortvideo": "小视频", "link": "链接",
               "file": "文件", "location": "位置"}


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
    handoff, new = await ctx.store.handoffs.open(turn.openid, question, now, center=center,
                                                 before=await _before(turn))
    where = ctx.library.knowledge.centers.get(handoff["center"] or "")
    opening = await ctx.appointments.opening(where) if where is not None and where.hours else None
    return turn.say("handoff_opened", new=new, opening=opening, service=ctx.config.service, center=where,
                    place=await ctx.store.handoffs.place(handoff))


async def _before(turn: Turn) -> list[Said]:
    """The resident's recent questions and what the bot made of each, for the clerk: the
    request itself (the last question logged) left out."""
    ctx = turn.ctx
    asked = await ctx.store.inquiries.of_resident(turn.openid, limit=EARLIER_SHOWN + 1)
    if asked and asked[-1]["intent"] == "handoff":
        asked = asked[:-1]
    since = ctx.clock.now() - RECENT
    lines: list[Said] = []
    for line in asked[-EARLIER_SHOWN:]:
        at = datetime.fromisoformat(line["at"])
        if at < since:
            continue
        lines.append(Said("resident", line["question"], at))
        lines.append(Said("bot", ctx.texts.chat("handoff_note", what="before", line=line), at))
    return lines


@router.relay
async def to_the_person(turn: Turn):
    """While the resident has a conversation with a person, what they write goes to it."""
    message = turn.message
    if not isinstance(message, (Text, Voice, Media, Location, MenuClick)):
        return None
    ctx = turn.ctx
    handoff = await ctx.store.handoffs.current(turn.openid)
    if handoff is None:
        return None
    if handoff["status"] == "closed":
        return await _rating(turn, handoff)
    if isinstance(message, MenuClick):
        return None   # the menu still works; its answer does not end the conversation
    said = _said(turn)
    if isinstance(message, Text) and said.text.strip("。.!！ ") in END_WORDS:
        return await _resident_ends(turn, handoff)
    if await ctx.store.handoffs.hear(handoff["id"], said):
        await ctx.store.handoffs.note(handoff["id"], Said("bot", ctx.texts.chat("handoff_note", what="wait"),
                                                          ctx.clock.now()))
        return turn.say("handoff_wait")
    return NoReply()


def _said(turn: Turn) -> Said:
    message, now, texts = turn.message, turn.ctx.clock.now(), turn.ctx.texts
    if isinstance(message, Text):
        return Said("resident", message.content.strip()[:2000], now)
    if isinstance(message, Voice):
        heard = texts.chat("handoff_note", what="media", kind="语音", words=message.recognition or "")
        return Said("resident", heard, now, kind="voice", media_id=message.media_id or None)
    if isinstance(message, Location):
        return Said("resident", texts.chat("handoff_note", what="media", kind="位置", words=message.label), now,
                    kind="location")
    kind = MEDIA_NAMES.get(message.media, message.media)
    return Said("resident", texts.chat("handoff_note", what="media", kind=kind, words=""), now,
                kind=message.media, media_id=message.media_id or None)


async def _resident_ends(turn: Turn, handoff: dict):
    ctx = turn.ctx
    served = handoff["first_reply_at"] is not None   # rated only when a clerk wrote in it
    closed = await ctx.store.handoffs.close(handoff["id"], by="resident", reason="resident", now=ctx.clock.now(),
                                            note=ctx.texts.chat("handoff_note", what="resident_closed"),
                                            ask_rating=served)
    if closed is None:
        return None
    return turn.say("handoff_closed", by="resident", rate=served)


async def _rating(turn: Turn, handoff: dict):
    """The message after the rating question: a rating is recorded; anything else is answered as
    usual, and the question is not asked again."""
    ctx = turn.ctx
    now = ctx.clock.now()
    reading = read(turn.message.content) if isinstance(turn.message, Text) else None
    recent = handoff["closed_at"] and datetime.fromisoformat(handoff["closed_at"]) + RATING_FOR > now
    if reading is None or reading.level is None or not recent:
        await ctx.store.handoffs.rating_done(handoff["id"])
        return None
    score, words = reading.level, reading.words
    if not await ctx.store.handoffs.rate(handoff["id"], score, words, now):
        return None
    await ctx.store.handoffs.note(handoff["id"], Said("bot", ctx.texts.chat(
        "handoff_note", what="rated", level=LEVELS[score], score=score, words=words), now))
    followup = None
    if score <= 2:
        followup = await ctx.cases.open(
            kind="followup", openid=turn.openid, guide=None,
            center=handoff["center"] or ctx.config.service.default_center,
            data={"handoff": handoff["id"], "score": score, "words": words}, actor="system",
            reply_within=ctx.config.service.complaint_reply_days)
    return turn.say("handoff_rated", score=score, level=LEVELS[score], followup=followup)
