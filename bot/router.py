"""Routers: each feature module builds one; the root includes them in a visible order.

A turn is routed: message kinds other than text (subscribe, location, media …) to the
handler registered for that kind; a menu click to the intent its key stands for; a text to
the resident's dialog first, then to the handler of the detected intent, then to the
catch-all. A handler returns a reply, or None to let the next one try.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from bot.context import Turn
from bot.replies import Reply

log = logging.getLogger(__name__)

Handler = Callable[[Turn], Awaitable[Reply | None]]
BACK_WORDS = ("返回", "上一步", "返回上一步", "后退")


@dataclass
class Router:
    name: str
    states: dict[str, Handler] = field(default_factory=dict)
    intents: dict[str, Handler] = field(default_factory=dict)
    kinds: dict[type, Handler] = field(default_factory=dict)
    catch_all: list[Handler] = field(default_factory=list)
    backs: dict[str, Handler] = field(default_factory=dict)
    asks: dict[str, Handler] = field(default_factory=dict)
    aheads: list[Handler] = field(default_factory=list)
    relays: list[Handler] = field(default_factory=list)

    def state(self, name: str, *, back: Handler | None = None, ask: Handler | None = None
              ) -> Callable[[Handler], Handler]:
        """Handle residents whose dialog is in state `name` ("feature:step"). `back` answers
        返回 in that state (one step back); in a state without it, 返回 leaves the dialog.
        `ask` asks the state's question again from what the dialog holds: a step that has it
        is kept when the resident leaves it, and 继续 takes them back to it."""
        if back is not None:
            self.backs[name] = back
        if ask is not None:
            self.asks[name] = ask
        return self._register(self.states, name)

    def intent(self, name: str) -> Callable[[Handler], Handler]:
        return self._register(self.intents, name)

    def kind(self, message_type: type) -> Callable[[Handler], Handler]:
        return self._register(self.kinds, message_type)

    def ahead(self, handler: Handler) -> Handler:
        """Tried for every text before the handler of its intent (an answer that depends on
        the resident's own case rather than on the words alone)."""
        self.aheads.append(handler)
        return handler

    def fallback(self, handler: Handler) -> Handler:
        self.catch_all.append(handler)
        return handler

    def relay(self, handler: Handler) -> Handler:
        """Tried for every message a resident writes while they have a conversation with a person
        (`Handoffs.current`), before their dialog and any intent: it takes the resident's messages
        while it lasts."""
        self.relays.append(handler)
        return handler

    def _register(self, table: dict, key) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            if key in table:
                raise ValueError(f"{self.name}: {key!r} registered twice")
            table[key] = handler
            return handler
        return decorator


class RootRouter:
    """Routers included in order; the first that answers a key owns it."""

    def __init__(self, *routers: Router):
        self.routers = routers
        self.states: dict[str, Handler] = {}
        self.intents: dict[str, Handler] = {}
        self.kinds: dict[type, Handler] = {}
        self.catch_all: list[Handler] = []
        self.backs: dict[str, Handler] = {}
        self.asks: dict[str, Handler] = {}
        self.aheads: list[Handler] = []
        self.relays: list[Handler] = []
        for router in routers:
            self.aheads.extend(router.aheads)
            self.relays.extend(router.relays)
            for key, handler in router.backs.items():
                self.backs.setdefault(key, handler)
            for key, handler in router.asks.items():
                self.asks.setdefault(key, handler)
            for table, own in ((self.states, router.states), (self.intents, router.intents),
                               (self.kinds, router.kinds)):
                for key, handler in own.items():
                    table.setdefault(key, handler)
            self.catch_all.extend(router.catch_all)

    async def for_state(self, turn: Turn) -> Reply | None:
        if turn.dialog is None:
            return None
        handler = self.states.get(turn.dialog.state)
        if handler is None:
            log.warning("dialog state %r has no handler; leaving it", turn.dialog.state)
            await turn.leave()
            return None
        return await handler(turn)

    async def for_back(self, turn: Turn) -> Reply | None:
        """返回 in a dialog: its state's step back, or None where the state has none."""
        handler = self.backs.get(turn.dialog.state) if turn.dialog else None
        return await handler(turn) if handler is not None else None

    def resumable(self, state: str) -> bool:
        return state in self.asks

    async def for_ask(self, turn: Turn) -> Reply | None:
        """The question of the resident's step again (after 继续)."""
        handler = self.asks.get(turn.dialog.state) if turn.dialog else None
        return await handler(turn) if handler is not None else None

    async def for_intent(self, turn: Turn) -> Reply | None:
        if turn.text:
            for handler in self.aheads:
                if (reply := await handler(turn)) is not None:
                    return reply
        handler = self.intents.get(turn.intent or "")
        if handler is not None and (reply := await handler(turn)) is not None:
            return reply
        for handler in self.catch_all:
            if (reply := await handler(turn)) is not None:
                return reply
        return None

    async def for_relay(self, turn: Turn) -> Reply | None:
        """The reply of the first relay that takes the message; None when none does."""
        for handler in self.relays:
            if (reply := await handler(turn)) is not None:
                return reply
        return None

    async def for_kind(self, turn: Turn) -> Reply | None:
        for kind, handler in self.kinds.items():
            if isinstance(turn.message, kind):
                return await handler(turn)
        return None
