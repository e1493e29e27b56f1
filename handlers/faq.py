"""Guide answers (一次性告知) and the honest "don't know".

    question ──answer──▶ full guide ──▶ faq:topic ──要带什么/多久/在哪办/要钱吗──▶ that part
        │                                   ▲
        ├──clarify──▶ faq:choose ──1/2/3────┘
        ├──refer────▶ who handles it elsewhere and how to reach them (首问负责), offer 转人工
        └──fallback─▶ "don't know", offer 转人工 (the question is in the inquiry log)

An answer the matcher is not sure of names the runner-up in one line ("如果您问的是…，回复2");
2 in faq:topic then answers that one.

In faq:topic or faq:choose, anything that is not a follow-up or a choice goes on to normal
routing, so a new question is simply answered.
"""

from __future__ import annotations

from bot.choices import number
from bot.config import Section
from bot.context import Turn
from bot.knowledge.matcher import detect_aspect, normalise
from bot.knowledge.model import Guide
from bot.replies import TextReply
from bot.router import Router
from bot.texts import Texts, fits, split_text

router = Router("faq")

CHOOSE, TOPIC = "faq:choose", "faq:topic"
MATERIAL_WORDS = ("材料", "全部材料", "材料清单", "看材料")


def full_answer(texts: Texts, service: Section, guide: Guide) -> str:
    """The whole guide in one message; trimmed step by step until it fits WeChat's limit.
    The console shows it too, so staff read a guide as residents do."""
    for notes, limit in ((True, None), (False, None), (False, 8), (False, 5), (False, 3)):
        text = texts.chat("guide_answer", g=guide, service=service, notes=notes, limit=limit or len(guide.materials))
        if fits(text):
            return text
    return split_text(text)[0]


def _materials(turn: Turn, guide: Guide) -> TextReply:
    parts = split_text(turn.ctx.texts.chat("guide_materials", g=guide))
    return TextReply(parts[0], more=tuple(parts[1:]))


async def answer_guide(turn: Turn, guide: Guide, runner_up: str | None = None, also_asked: bool = False) -> TextReply:
    """The guide's answer; `runner_up` is offered after it in one line, answered by 2 — another
    guide the resident may have meant, or (`also_asked`) a second one the message asked about."""
    await turn.enter(TOPIC, guide=guide.name, runner_up=runner_up)
    text = full_answer(turn.ctx.texts, turn.ctx.config.service, guide)
    if runner_up:
        offer = turn.ctx.texts.chat("also_asked" if also_asked else "runner_up", name=runner_up)
        return TextReply(f"{text}\n\n{offer}") if fits(f"{text}\n\n{offer}") else TextReply(text, more=(offer,))
    return TextReply(text)


@router.state(TOPIC)
async def follow_up(turn: Turn):
    guide = turn.ctx.library.knowledge.guide(turn.dialog.data.get("guide", ""))
    if guide is None:
        return None
    text = turn.text.strip("？?。.！! ")
    runner_up = turn.ctx.library.knowledge.guide(turn.dialog.data.get("runner_up") or "")
    if runner_up is not None and number(text) == 2:
        return await answer_guide(turn, runner_up)
    if text in MATERIAL_WORDS:
        return _materials(turn, guide)
    q = normalise(text, turn.ctx.library.knowledge.synonyms)
    aspect = detect_aspect(q, turn.ctx.library.knowledge)
    if aspect is None:
        return None
    # "多久" alone is about this guide; "社保卡要多久" may be about another one.
    other = turn.ctx.library.matcher.match(turn.text)
    if other.best and other.best.name != guide.name and other.decision == "answer":
        return None
    if aspect == "materials":
        return _materials(turn, guide)
    return turn.say("guide_aspect", g=guide, aspect=aspect, service=turn.ctx.config.service)


@router.state(CHOOSE)
async def choose(turn: Turn):
    names = turn.dialog.data.get("candidates", [])
    picked = number(turn.text)
    if picked is None:
        return None
    if picked > len(names):
        return turn.say("clarify", names=names, again=True)
    guide = turn.ctx.library.knowledge.guide(names[picked - 1])
    if guide is None:
        await turn.leave()
        return None
    return await answer_guide(turn, guide)


@router.intent("guide")
async def from_menu(turn: Turn):
    """The 办事指南 menu button: no question yet, so ask for one."""
    if turn.match is None:
        return turn.say("ask_service")
    return None


@router.fallback
async def guide_or_dont_know(turn: Turn):
    match = turn.match
    knowledge = turn.ctx.library.knowledge
    if match is None or match.decision == "fallback" or not match.candidates:
        await turn.leave()
        return turn.say("fallback", service=turn.ctx.config.service)
    if match.decision == "refer" and (referral := knowledge.referrals.get(match.candidates[0].name)):
        await turn.leave()
        return turn.say("referral", r=referral, service=turn.ctx.config.service)
    if match.decision == "answer":
        guide = knowledge.guide(match.candidates[0].name)
        if guide is not None:
            if match.also and knowledge.guide(match.also):
                return await answer_guide(turn, guide, match.also, also_asked=True)
            others = [c.name for c in match.candidates[1:] if knowledge.guide(c.name)]
            return await answer_guide(turn, guide, None if match.sure or not others else others[0])
    names = [c.name for c in match.candidates]
    await turn.enter(CHOOSE, candidates=names)
    return turn.say("clarify", names=names, again=False)
