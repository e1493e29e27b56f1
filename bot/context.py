"""What handlers are given: the shared services of the app and the turn at hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Config
from bot.knowledge.matcher import NAMED_AT
from bot.messages import Inbound
from bot.replies import TextReply
from bot.store.base import Dialog
from bot.store.redis import StateUnavailable
from bot.texts import Texts, split_text

if TYPE_CHECKING:
    from bot.appointments import Appointments
    from bot.cases.desk import CaseDesk
    from bot.knowledge.library import Library
    from bot.knowledge.matcher import Match
    from bot.knowledge.model import Guide
    from bot.store import Store

@dataclass
class Context:
    """Shared by every turn; built once by the app."""

    config: Config
    store: "Store"
    library: "Library"
    texts: Texts
    clock: Clock
    cases: "CaseDesk"
    appointments: "Appointments"

    @property
    def dialog_idle(self) -> timedelta:
        return timedelta(minutes=self.config.dialog.idle_timeout_minutes)


@dataclass
class Turn:
    """One resident message being answered."""

    ctx: Context
    message: Inbound
    text: str = ""                    # what the resident said (typed or recognised from voice)
    dialog: Dialog | None = None
    match: "Match | None" = None
    intent: str | None = None
    more: list[str] = field(default_factory=list)
    state_unread: bool = False        # the resident's dialog could not be read (Redis away)
    state_unkept: bool = False        # the next step of a dialog could not be kept (Redis away)
    missed: bool = False              # the message was not an answer to the step (see bot/steps.py)

    @property
    def openid(self) -> str:
        return self.message.openid

    def say(self, template: str, /, **context) -> TextReply:
        """A reply from a template (see `reply`)."""
        return self.reply(self.ctx.texts.chat(template, **context))

    def ask_again(self, template: str, /, **context) -> TextReply:
        """The step's question again: the message was not its answer. The front desk then tries
        the ways out of the step (bot/steps.py)."""
        self.missed = True
        return self.say(template, again=True, **context)

    @staticmethod
    def reply(text: str) -> TextReply:
        """A reply of `text`; a text longer than one WeChat message may hold is split at line
        ends and the rest follows through the customer-service API."""
        parts = split_text(text)
        return TextReply(parts[0], more=tuple(parts[1:]))

    async def enter(self, state: str, **data) -> None:
        data.pop("_misses", None)   # counted afresh for each step by the front desk
        self.dialog = Dialog(state=state, data=data)
        try:
            await self.ctx.store.dialogs.set(self.openid, self.dialog, self.ctx.clock.now())
        except StateUnavailable:
            self.state_unkept = True   # the front desk decides whether the reply still stands

    async def guide(self, text: str | None = None, at_least: float = NAMED_AT) -> "Guide | None":
        """The guide the resident's message (or `text`) names with some confidence, or None. In a
        message that asks for something else (进度, 预约, 代办 …) the request takes most of the
        likelihood; the service it names is then the one its own words name (`Matcher.named`)."""
        if text is not None:
            self.match = await self.ctx.library.match(text)
        match = self.match
        if match is None:
            return None
        if match.best is not None and match.best.score >= at_least:
            name = match.best.name
        elif match.intent != "guide" and (named := await self.ctx.library.named(match)) is not None:
            name = named
        else:
            return None
        return self.ctx.library.knowledge.guide(name)

    async def home(self) -> str | None:
        """The resident's bound village or community, if they bound one."""
        return await self.ctx.store.residents.center_of(self.openid)

    async def leave(self) -> None:
        self.dialog = None
        try:
            await self.ctx.store.dialogs.clear(self.openid)
        except StateUnavailable:
            pass   # what was left behind expires by itself
