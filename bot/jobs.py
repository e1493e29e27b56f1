"""Work a server does on its own, now and then: reminders, the retention purge, the timeouts of
conversations with a person."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from bot.store.handoffs import Said

if TYPE_CHECKING:
    from bot.handoffs import HandoffDesk

log = logging.getLogger(__name__)


async def every(seconds: float, work: Callable[[], Awaitable[Any]], stop: asyncio.Event, what: str) -> None:
    """Run `work` now and then every `seconds` until `stop` is set. A round that fails is logged
    and the next one tries again: one bad round never ends the job."""
    while not stop.is_set():
        try:
            await work()
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("%s failed", what)
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except TimeoutError:
            pass


class HandoffTimeouts:
    """The clocks of conversations with a person (`[handoff] wait_minutes`, `idle_minutes`):
    a resident who waited that many office-hours minutes without a clerk is told, once, that a
    clerk will write back later (the conversation stays waiting for one); an open conversation
    nobody wrote in for `idle_minutes` is closed, with a note to the clerk and to the resident."""

    def __init__(self, desk: "HandoffDesk"):
        self.desk = desk

    async def run(self) -> tuple[int, int]:
        """(waits told, conversations closed) in this round."""
        return await self.waits(), await self.idle()

    async def waits(self) -> int:
        desk = self.desk
        store, texts, now = desk.store, desk.texts, desk.clock.now()
        minutes = desk.config.handoff.wait_minutes
        told = 0
        for handoff in await store.handoffs.waiting_since(now - timedelta(minutes=minutes)):
            since = datetime.fromisoformat(handoff["created_at"])
            if await desk.office_minutes(handoff["center"], since, now) < minutes:
                continue
            if not await store.handoffs.wait_over(handoff["id"], now):
                continue
            await store.handoffs.note(handoff["id"], Said("bot", texts.chat("handoff_note", what="wait_over",
                                                                            minutes=minutes), now),
                                      notice=texts.chat("handoff_wait_over", service=desk.config.service))
            told += 1
        return told

    async def idle(self) -> int:
        desk = self.desk
        store, texts, now = desk.store, desk.texts, desk.clock.now()
        minutes = desk.config.handoff.idle_minutes
        closed = 0
        for handoff in await store.handoffs.idle_since(now - timedelta(minutes=minutes)):
            done = await store.handoffs.close(
                handoff["id"], by="system", reason="idle", now=now, ask_rating=False,
                note=texts.chat("handoff_note", what="idle", minutes=minutes), notices=[texts.chat("handoff_idle")])
            closed += done is not None
        return closed
