"""Kindness where it matters: a word of condolence before the answer when a resident's message
tells of a death (殡葬, 丧葬, 老人走了), and a calm reply that still helps when a message is
an insult. The answer itself is what the handlers gave; only its opening changes, or, for an
insult with no question in it, the reply becomes the calm one."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.knowledge.lexical import normalise
from bot.replies import Reply, TextReply
from bot.texts import split_text

if TYPE_CHECKING:
    from bot.context import Turn

DEATH_WORDS = ("去世", "过世", "离世", "病故", "病逝", "逝世", "死了", "殡葬", "丧葬", "火化", "后事", "丧事", "身后",
               "办丧", "遗属", "死亡")
_GONE = re.compile(r"(老人|老爷子|老太太|爸|妈|父亲|母亲|爷爷|奶奶|姥姥|姥爷|外公|外婆|老伴|公公|婆婆|丈夫|老公|"
                   r"媳妇|妻子|儿子|女儿|家里人|亲人).{0,4}(走了|没了|不在了)")
INSULTS = ("废物", "垃圾", "傻逼", "煞笔", "智障", "弱智", "狗屁", "破玩意", "干什么吃的", "干啥吃的",
           "混蛋", "王八蛋", "饭桶", "去死", "蠢", "白痴", "脑残", "他妈的", "tmd", "尼玛", "破系统", "破机器人")


def tells_of_a_death(text: str) -> bool:
    q = normalise(text)
    return any(w in q for w in DEATH_WORDS) or bool(_GONE.search(q))


def insults(text: str) -> bool:
    q = normalise(text)
    return any(w in q for w in INSULTS)


async def kindly(turn: "Turn", reply: Reply | None) -> Reply | None:
    """The reply with the word its occasion asks for."""
    if not isinstance(reply, TextReply) or not turn.text:
        return reply
    if tells_of_a_death(turn.text):
        return _opened(turn.ctx.texts.chat("condolence"), reply)
    if insults(turn.text):
        match = turn.match   # an insult with no question in it: the bot could not answer it
        if match is not None and match.decision in ("fallback", "clarify") and match.intent in ("unknown", "guide") \
                and (turn.dialog is None or turn.dialog.state.startswith("faq:")):
            await turn.leave()   # no choice of guides offered for an insult
            return turn.say("calm", service=turn.ctx.config.service)
        return _opened(turn.ctx.texts.chat("calm_opening"), reply)
    return reply


def _opened(line: str, reply: TextReply) -> TextReply:
    parts = split_text(f"{line}\n{reply.text}")
    return TextReply(parts[0], more=(*parts[1:], *reply.more))
