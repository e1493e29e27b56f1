"""Ways out of a step of a dialog, for every feature at once.

A step asks one question and reads its answer. A step's handler that cannot read the message
as its answer says so with `Turn.ask_again`; the front desk then tries the ways out before
asking again:

    message in a step ──取消 / 不想办了 / 算了不约了 …──▶ leave the step (a submitted case stays)
        │        ──继续预约 (its own feature) ──▶ its question again
        ▼
    the step's handler ──an answer──▶ the next step
        │ not an answer
        ├──以后再说, 我再想想, 不用了 ──▶ leave it, kept for 继续 (不用了 may be a step's answer: read first)
        ├──取消预约 while booking ──▶ this booking is not made; one made before stays
        ├──转人工, 进度, 投诉, another request, a question about a service
        │       ──▶ leave the step; the message is answered as any other
        └──otherwise──▶ ask again; at the second miss, say what the step needs and offer
                        转人工 or 取消 instead of the same question

A step that can ask its question again (registered with `ask=`: booking, 代办, 上门) is kept
when the resident leaves it, for as long as a dialog is kept; "继续预约" (继续代办, 继续上门,
继续) takes them back to the question where they left. A parser of a free answer (a name, an
address, a reason) never takes a command or a service's name as that answer:
`not_an_answer`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.knowledge.lexical import normalise
from bot.personal import name_ok
from bot.replies import Reply, TextReply
from bot.store.base import Dialog, kept_key
from bot.store.redis import StateUnavailable

if TYPE_CHECKING:
    from bot.context import Turn
    from bot.router import RootRouter

EXIT_WORDS = ("取消", "退出", "不办了", "算了", "退出办理", "不约了", "取消办理", "不弄了",
              "不预约了", "不代办了", "先不办了", "先不约了", "暂时不办了", "不想弄了", "不想约了")
_LEAD = r"(哎呀|哎|唉|嗯|那|好吧|行吧|好的|算了)*"          # words a way out begins with
_THANKS = r"(谢谢(你|您|啦)?|谢了|多谢)?"                      # … and ends with
_EXIT = re.compile(_LEAD + r"(我|那)?(就|还是|先|暂时)?((不想|不用|不|不要)(办|约|弄|预约|代办|申请)了?|算了|取消)"
                   r"(吧|啦|呀|哈|了)?(算了)?" + _THANKS)
# 不用了, 以后再说, 我再想想 …: the resident declines or puts the matter off. In a step that asks
# yes or no, 不用了 may be its answer, so there it is read only when the step could not read it.
_PUT_OFF = re.compile(_LEAD + r"(我|那)?(就|还是|先)?(不用了?|不需要了?|不要了|没事了|没有了|没别的了|没别的事了|"
                      r"(以后|改天|下次|回头|过几天|过两天|等等|明天|过段时间)再(说|来|约|办)|再说|我?再想想|我?想一想|"
                      r"我?想想|再考虑(考虑|一下)?|考虑一下|先这样)(吧|啦|哈|呀)?" + _THANKS)
_RESUME = re.compile(r"(继续|接着|接著)(办|办理|填|弄)?(预约|代办|上门|上门服务)?(吧|啦)?")
# what a message in a step may ask for instead of answering it
LEAVING_INTENTS = ("handoff", "status", "complaint", "proxy", "booking", "home_visit", "withdraw",
                   "cancel_booking", "reschedule", "my_bookings", "rating", "materials_reply")
# a request that, in the middle of a feature's steps, means those steps are not wanted: 取消预约
# while booking is this booking not made (an appointment already made is cancelled by asking again)
ENDS_STEPS = {"booking": ("cancel_booking",)}
MISSES_BEFORE_WAY_OUT = 2
MISSES = "_misses"


def _said(text: str) -> str:
    return normalise(text).replace(" ", "")


def wants_out(text: str) -> bool:
    """取消, 不想办了, 算了 …: the resident wants to stop the step."""
    said = _said(text)
    return said in EXIT_WORDS or bool(_EXIT.fullmatch(said))


PUT_OFF_LONGEST = 20   # longer than any way of saying it: a question is not normalised for it


def puts_off(text: str) -> bool:
    """不用了, 以后再说, 我再想想 …: not now."""
    return len(text) <= PUT_OFF_LONGEST and bool(_PUT_OFF.fullmatch(_said(text)))


def wants_back_in(text: str) -> bool:
    """继续预约, 继续代办, 接着办 …"""
    return bool(_RESUME.fullmatch(_said(text)))


_FEATURES = {"预约": "booking", "代办": "proxy", "上门": "home", "上门服务": "home"}


def back_into(text: str, state: str) -> bool:
    """Does 继续… take up the steps of `state`'s feature (继续, 接着办, or that feature named)?"""
    found = _RESUME.fullmatch(_said(text))
    return found is not None and _FEATURES.get(found.group(3) or "", state.split(":")[0]) == state.split(":")[0]


_NUMBERS_ONLY = re.compile(r"[0-9零一二两三四五六七八九十百千万第号个点半:：\s]+")


async def leaves(turn: "Turn") -> bool:
    """Is a message that did not answer the step a request or a question of its own? A message
    of numbers alone ("八十八", "12") is a try at the step's answer, whatever it may match."""
    if _NUMBERS_ONLY.fullmatch(_said(turn.text)):
        return False
    match = turn.match = turn.match if turn.match is not None else await turn.ctx.library.match(turn.text)
    if match.intent in LEAVING_INTENTS:
        return True
    return match.intent == "guide" and match.decision in ("answer", "refer")


_ADDRESS = re.compile(r"[0-9一二三四五六七八九十]+\s*(组|号|栋|幢|单元|室|楼|巷|弄|排)")


async def not_an_answer(turn: "Turn") -> bool:
    """A command or a service's name where a name, an address or a reason is asked for
    ("代办高龄津贴" is no name, "养老金认证" no address); an address with its numbers
    ("东村3组12号") is one, whatever else it may match."""
    if _ADDRESS.search(_said(turn.text)):
        return False
    match = turn.match = turn.match if turn.match is not None else await turn.ctx.library.match(turn.text)
    if wants_out(turn.text) or match.intent in LEAVING_INTENTS:
        return True
    return match.intent == "guide" and match.decision == "answer"


async def not_a_name(turn: "Turn") -> bool:
    """What a name step cannot take as the applicant's name: no name's shape, a command, or a
    service named in so many words. A name that only sounds like a service — 高丽娟 read in
    pinyin is close to 高龄 — is a name."""
    if not name_ok(turn.text):
        return True
    if not await not_an_answer(turn):
        return False
    match = turn.match
    return not (match is not None and match.intent == "guide" and match.decision == "answer"
                and await turn.ctx.library.named(match) is None)


class Steps:
    """The ways out of a step and back in, used by the front desk for every dialog."""

    def __init__(self, root: "RootRouter"):
        self.root = root

    async def keep(self, turn: "Turn") -> str | None:
        """Keep the step the resident is leaving, if it can be taken up again; its state."""
        dialog = turn.dialog
        if dialog is None or not self.root.resumable(dialog.state):
            return None
        data = {k: v for k, v in dialog.data.items() if k != MISSES}
        await turn.ctx.store.dialogs.set(kept_key(turn.openid), Dialog(state=dialog.state, data=data),
                                         turn.ctx.clock.now())
        return dialog.state

    async def resume(self, turn: "Turn") -> Reply | None:
        """继续: the kept step's question again, or None when nothing is kept."""
        store = turn.ctx.store
        kept = await store.dialogs.get(kept_key(turn.openid), turn.ctx.clock.now(), turn.ctx.dialog_idle)
        if kept is None:
            return None
        await store.dialogs.clear(kept_key(turn.openid))
        await turn.enter(kept.state, **kept.data)
        return await self.root.for_ask(turn)

    async def forget(self, openid: str, store) -> None:
        await store.dialogs.clear(kept_key(openid))

    async def missed(self, turn: "Turn", state: str, misses: int, reply: Reply) -> Reply:
        """The step asked again: count it; from the second miss on, offer the way out too."""
        misses += 1
        if turn.dialog is not None and turn.dialog.state == state:
            turn.dialog.data[MISSES] = misses
            try:
                await turn.ctx.store.dialogs.set(turn.openid, turn.dialog, turn.ctx.clock.now())
            except StateUnavailable:
                turn.state_unkept = True
        if misses < MISSES_BEFORE_WAY_OUT:
            return reply
        return turn.say("step_stuck", state=state, misses=misses)

    @staticmethod
    def with_note(turn: "Turn", reply: Reply | None, kept: str | None) -> Reply | None:
        """A reply after leaving a kept step says how to take it up again."""
        if kept is None or not isinstance(reply, TextReply):
            return reply
        note = turn.ctx.texts.chat("step_kept", state=kept, later=turn.intent == "handoff")
        if not reply.more:
            return turn.reply(f"{reply.text}\n\n{note}")
        return TextReply(reply.text, more=(*reply.more[:-1], f"{reply.more[-1]}\n\n{note}"))
