"""Guide answers (一次性告知) and the honest "don't know".

    question ──answer──▶ full guide ──▶ faq:topic ──要带什么/多久/在哪办/要钱吗──▶ that part
        │         │                         ▲
        │         └─a guide with situations, none named──▶ faq:situation ──1/2/结婚…─┤
        ├──clarify──▶ faq:choose ──1/2/3────┘
        ├──refer────▶ who handles it elsewhere and how to reach them (首问负责), offer 转人工
        └──fallback─▶ "don't know", offer 转人工 (the question is in the inquiry log)

An answer the matcher is not sure of names the runner-up in one line ("如果您问的是…，回复2");
2 in faq:topic then answers that one.

A guide with situations (情形: 结婚登记, 离婚登记 …) is told for one situation only: the one the
question names ("协议离婚要带什么"), or the one the resident picks when asked; follow-ups are
about that situation, and naming another ("那离婚呢") tells that one.

In faq:topic or faq:choose, anything that is not a follow-up or a choice goes on to normal
routing, so a new question is simply answered; in faq:situation it is a step's answer that
missed, and the ways out of a step apply (bot/steps.py).
"""

from __future__ import annotations

import re

from bot.choices import number, pick
from bot.config import Section
from bot.context import Turn
from bot.knowledge.lexical import normalise
from bot.knowledge.matcher import detect_aspect
from bot.knowledge.model import Guide
from bot.knowledge.situations import named_situation
from bot.replies import TextReply
from bot.router import Router
from bot.texts import Texts, fits, split_text

router = Router("faq")

CHOOSE, TOPIC, SITUATION = "faq:choose", "faq:topic", "faq:situation"


def guide_at_hand(turn: Turn) -> Guide | None:
    """The guide just answered (in the situation told): what 预约, 代办 or 上门 right after the
    answer is about when the message names no service of its own ("能预约吗")."""
    dialog = turn.dialog
    if dialog is None or dialog.state != TOPIC:
        return None
    guide = turn.ctx.library.knowledge.guide(dialog.data.get("guide", ""))
    return guide.in_situation(dialog.data.get("situation", "")) if guide is not None else None
MATERIAL_WORDS = ("材料", "全部材料", "材料清单", "看材料")
VAGUE_WORDS = ("证", "补贴", "补助", "津贴", "材料", "手续", "带什么", "带啥", "东西", "卡", "报销", "救助", "登记")
# what a guide with situations answers alike for each of them, asked before saying which
SAME_FOR_EVERY_SITUATION = ("place", "online", "proxy", "home_visit", "phone")
VAGUE_LENGTH = 12
VAGUE_SCORE = 0.02   # below this a candidate is noise, not a likely guide
# follow-ups about the guide just answered that are not among the matcher's aspects: asked
# right after a guide, "别人能代办吗" is about that guide, not a request to start 代办
PROXY_WORDS = ("代办", "代理", "别人", "替我", "帮我办", "帮忙办", "家里人", "子女", "儿子", "女儿", "亲戚",
               "本人", "亲自", "自己去", "代领", "委托")
ASKING = ("吗", "嘛", "么", "能", "可以", "行不行", "可不可", "不能", "能不能", "是不是", "必须", "一定要", "非得",
          "得", "要不要", "中不中", "成不成")
HOME_WORDS = ("上门", "来家", "到家里", "家里办", "走不动", "来不了", "去不了")
# said right after a guide, "我走不动" or "老伴瘫在床上" is asking whether it can be done at home
CANNOT_COME = ("走不动", "走不了", "来不了", "去不了", "下不了床", "起不来床", "卧床", "瘫在床", "瘫痪在床", "腿脚不好",
               "腿脚不方便", "行动不便")
CANNOT_COME_LONGEST = 16
GENERIC_PAIRS = {"原件", "复印", "印件", "证明", "材料", "一张", "一份", "两张", "本人", "的证"}
_BRING = re.compile(r"(?:要|需要|得|用|还要|还得)?(?:带|拿|交|准备|提供|开)(?:上|着)?(.{1,12}?)(?:吗|嘛|么|不|没|呢|啊)?$")
_BRING_AFTER = re.compile(r"^(.{1,12}?)(?:也|还)?(?:要|需要|得|用)?(?:带|拿|交|准备|提供)(?:吗|嘛|么|不|没)$")
_WILL_DO = re.compile(r"^(.{1,12}?)(?:行不行|行吗|可以吗|可不可以|能用吗|管用吗|算不算|能不能用)$")


def full_answer(texts: Texts, service: Section, guide: Guide) -> str:
    """The whole guide with every material (一次性告知): with the materials' notes when that
    fits one WeChat message, else without them; a guide longer than one message is sent in
    two (`answer_guide`), never cut short. The console shows it too, so staff read a guide as
    residents do. A guide is read the same way until it is published anew: rendered once."""
    def render() -> str:
        text = texts.chat("guide_answer", g=guide, service=service, notes=True, limit=len(guide.materials))
        if fits(text):
            return text
        return texts.chat("guide_answer", g=guide, service=service, notes=False, limit=len(guide.materials))
    return texts.once(("guide_answer", guide, service), render)


def _materials(turn: Turn, guide: Guide) -> TextReply:
    parts = split_text(turn.ctx.texts.chat("guide_materials", g=guide))
    return TextReply(parts[0], more=tuple(parts[1:]))


async def answer_guide(turn: Turn, guide: Guide, runner_up: str | None = None, also_asked: bool = False) -> TextReply:
    """The guide's answer; `runner_up` is offered after it in one line, answered by 2 — another
    guide the resident may have meant, or (`also_asked`) a second one the message asked about.
    A guide with situations is told for the one the message names, or asks which."""
    situation = ""
    if guide.situations:
        named = named_situation(guide, turn.text, turn.ctx.library.knowledge)
        if named is None:
            await turn.enter(SITUATION, guide=guide.name)
            return turn.say("situation_choice", g=guide, again=False)
        situation, guide = named.name, guide.in_situation(named.name)
    await turn.enter(TOPIC, guide=guide.name, situation=situation, runner_up=runner_up)
    text = full_answer(turn.ctx.texts, turn.ctx.config.service, guide)
    if runner_up:
        offer = turn.ctx.texts.chat("also_asked" if also_asked else "runner_up", name=runner_up)
        text = f"{text}\n\n{offer}"
    return turn.reply(text)


@router.state(SITUATION)
async def which_situation(turn: Turn):
    """The answer to "您要办的是哪一种": its number or its words."""
    guide = turn.ctx.library.knowledge.guide(turn.dialog.data.get("guide", ""))
    if guide is None or not guide.situations:
        await turn.leave()
        return None
    picked = pick(turn.text, len(guide.situations))
    named = guide.situations[picked - 1] if picked else named_situation(
        guide, turn.text, turn.ctx.library.knowledge)
    if named is None:
        q = normalise(turn.text, turn.ctx.library.knowledge.synonyms)
        aspect = _own_aspect(q) or detect_aspect(q, turn.ctx.library.knowledge)
        if aspect in SAME_FOR_EVERY_SITUATION:   # "能上门吗" is answered, and the question stands
            said = turn.ctx.texts.chat("guide_aspect", g=guide, aspect=aspect, service=turn.ctx.config.service)
            return turn.reply(f"{said}\n\n{turn.ctx.texts.chat('situation_choice', g=guide, again=True)}")
        return turn.ask_again("situation_choice", g=guide)
    told = guide.in_situation(named.name)
    await turn.enter(TOPIC, guide=guide.name, situation=named.name, runner_up=None)
    return turn.reply(full_answer(turn.ctx.texts, turn.ctx.config.service, told))


@router.state(TOPIC)
async def follow_up(turn: Turn):
    guide = turn.ctx.library.knowledge.guide(turn.dialog.data.get("guide", ""))
    if guide is None:
        return None
    text = turn.text.strip("？?。.！! ")
    runner_up = turn.ctx.library.knowledge.guide(turn.dialog.data.get("runner_up") or "")
    if runner_up is not None and number(text) == 2:
        return await answer_guide(turn, runner_up)
    told, turned_to = guide, None
    if guide.situations:   # "结婚证要带吗" asked about 离婚 names a thing to bring, not the situation 结婚
        q = normalise(text, turn.ctx.library.knowledge.synonyms)
        thing = _thing(q)
        named = named_situation(guide, q.replace(thing, "") if thing else q, turn.ctx.library.knowledge)
        situation = named.name if named else turn.dialog.data.get("situation", "")
        if not situation:
            return None
        told = guide.in_situation(situation)
        turned_to = situation if situation != turn.dialog.data.get("situation") else None   # "那离婚呢"
    if text in MATERIAL_WORDS:
        return _materials(turn, told)
    q = normalise(text, turn.ctx.library.knowledge.synonyms)
    aspect = _own_aspect(q) or detect_aspect(q, turn.ctx.library.knowledge)
    if aspect is None and turned_to is None:
        return None
    # "多久" alone is about this guide; "社保卡要多久" is about another one, which it names in so
    # many words ("照片要带吗" names none, however much the examples make of it).
    other = await turn.ctx.library.match(turn.text)
    if other.best and other.best.name != guide.name and other.decision == "answer" and other.intent == "guide" \
            and await turn.ctx.library.named(other) not in (None, guide.name):
        turn.match = other   # no follow-up: the front desk answers from this very match
        return None
    if other.best and other.decision == "answer" and turn.ctx.library.knowledge.bundle(other.best.name):
        turn.match = other
        return None   # "孩子刚出生要办哪些手续" after 出生登记 asks about the whole life event
    guide = told
    if turned_to is not None:
        await turn.enter(TOPIC, guide=guide.name, situation=turned_to, runner_up=None)
        if aspect is None:
            return turn.reply(full_answer(turn.ctx.texts, turn.ctx.config.service, guide))
    if aspect == "bring":
        return _bring(turn, guide, q)
    if aspect == "materials":
        return _materials(turn, guide)
    return turn.say("guide_aspect", g=guide, aspect=aspect, service=turn.ctx.config.service)


def _own_aspect(q: str) -> str | None:
    """代办 and 上门 asked about the guide at hand ("别人能代办吗"; "代办" alone is a request),
    and "要带X吗" / "X行不行" about one thing to bring."""
    asking = any(w in q for w in ASKING)
    if asking and any(w in q for w in PROXY_WORDS):
        return "proxy"
    if asking and any(w in q for w in HOME_WORDS):
        return "home_visit"
    if len(q) <= CANNOT_COME_LONGEST and any(w in q for w in CANNOT_COME):
        return "home_visit"
    if _thing(q) is not None:
        return "bring"
    return None


def _thing(q: str) -> str | None:
    """The thing "要带发票吗" or "户口本复印件行不行" asks about."""
    m = _BRING_AFTER.search(q) or _BRING.search(q) or _WILL_DO.search(q)
    if m is None:
        return None
    thing = m.group(1).strip("的了个些啥什么")
    return thing if len(thing) >= 2 and thing not in ("什么", "哪些", "材料", "东西") else None


def _bring(turn: Turn, guide: Guide, q: str) -> TextReply:
    """Is this thing among the guide's materials? The whole list either way (一次性告知)."""
    thing = _thing(q) or ""
    pairs = {thing[i:i + 2] for i in range(len(thing) - 1)} - GENERIC_PAIRS   # 户口本 finds 户口簿
    listed = [m for m in guide.materials if any(p in m.name for p in pairs)]
    return turn.reply(turn.ctx.texts.chat("guide_bring", g=guide, thing=thing, listed=listed))


@router.state(CHOOSE)
async def choose(turn: Turn):
    names = turn.dialog.data.get("candidates", [])
    picked = number(turn.text)
    if picked is None:
        return None
    if picked > len(names):
        return turn.say("clarify", names=names, again=True)
    guide = turn.ctx.library.knowledge.guide(names[picked - 1])
    if guide is None and (bundle := turn.ctx.library.knowledge.bundle(names[picked - 1])) is not None:
        from handlers.bundle import answer_bundle   # a life event among the choices; that module builds on this one
        return await answer_bundle(turn, bundle)
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


def _vague(turn: Turn) -> list[str]:
    """A short question that names a kind of thing (证, 补贴, 材料) but no service: the guides
    the matcher ranks for it, to choose from rather than hear "答不上来"."""
    match = turn.match
    q = normalise(turn.text, turn.ctx.library.knowledge.synonyms)
    if match is None or len(q) > VAGUE_LENGTH or not any(w in q for w in VAGUE_WORDS):
        return []
    return [c.name for c in match.candidates if c.score >= VAGUE_SCORE and turn.ctx.library.knowledge.guide(c.name)]


@router.fallback
async def guide_or_dont_know(turn: Turn):
    match = turn.match
    knowledge = turn.ctx.library.knowledge
    if match is not None and match.decision == "fallback" and (names := _vague(turn)):
        await turn.enter(CHOOSE, candidates=names)
        return turn.say("clarify", names=names, again=False)
    if match is None or match.decision == "fallback" or not match.candidates:
        await turn.leave()
        return turn.say("fallback", service=turn.ctx.config.service)
    if match.decision == "refer" and (referral := knowledge.referrals.get(match.candidates[0].name)):
        await turn.leave()
        return turn.say("referral", r=referral, service=turn.ctx.config.service, complaint="投诉" in turn.text)
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
