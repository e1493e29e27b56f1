"""The clerk's side of a conversation with a person (转人工), shared by the console and the JSON
API: take it, write (each message pushed to the resident through the outbox), close it (the
resident is asked to rate it), transfer it to another center, make a 代办 or complaint case of it;
and what WeChat still lets us send the resident before they write again.

Conversations are in `bot.store.handoffs`; the resident's side is `handlers/handoff.py`; the
timeouts run in `bot.jobs.HandoffTimeouts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.appointments import Appointments
from bot.cases.desk import CaseDesk
from bot.clock import Clock
from bot.config import Config
from bot.knowledge.library import Library
from bot.pusher import CUSTOMER_SERVICE_QUOTA
from bot.store.base import TOPIC
from bot.store.cases import Case
from bot.store.handoffs import Said, Taken
from bot.texts import Texts

TEXT_LIMIT = 600   # characters a clerk writes at once: one WeChat message with the greeting around it
CASE_KINDS = ("proxy", "complaint")

__all__ = ["HandoffDesk", "Taken", "Refused", "TEXT_LIMIT", "CASE_KINDS"]


class Refused(Exception):
    """What the clerk asked cannot be done: `code` says why (empty, too_long, closed, no_center,
    same_center, no_guide)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class HandoffDesk:
    store: Any
    texts: Texts
    clock: Clock
    library: Library
    cases: CaseDesk
    appointments: Appointments
    config: Config

    def center(self, center_id: str | None):
        return self.library.knowledge.centers.get(center_id or "")

    async def take(self, handoff: dict[str, Any], by: str) -> dict[str, Any]:
        if handoff["status"] == "closed":
            raise Refused("closed")
        return await self.store.handoffs.take(handoff["id"], by, self.clock.now())

    async def write(self, handoff: dict[str, Any], by: str, text: str) -> dict[str, Any]:
        """The clerk's message to the resident (raise Taken when another clerk has it)."""
        text = text.strip()
        if not text:
            raise Refused("empty")
        if len(text) > TEXT_LIMIT:
            raise Refused("too_long")
        if handoff["status"] == "closed":
            raise Refused("closed")
        notice = self.texts.chat("handoff_staff", text=text, center=self.center(handoff["center"]))
        topic = dict(zip(TOPIC, self.texts.chat("handoff_topic").splitlines()))
        return await self.store.handoffs.write(handoff["id"], by, text, notice, self.clock.now(), topic=topic)

    async def close(self, handoff: dict[str, Any], by: str) -> dict[str, Any]:
        closed = await self.store.handoffs.close(
            handoff["id"], by=f"staff:{by}", reason="staff", now=self.clock.now(),
            note=self.texts.chat("handoff_note", what="staff_closed", by=by),
            notices=[self.texts.chat("handoff_closed", by="staff", rate=True)])
        if closed is None:
            raise Refused("closed")
        return closed

    async def transfer(self, handoff: dict[str, Any], to: str, by: str) -> dict[str, Any]:
        center = self.center(to)
        if center is None:
            raise Refused("no_center")
        if to == handoff["center"]:
            raise Refused("same_center")
        moved = await self.store.handoffs.transfer(
            handoff["id"], to, self.texts.chat("handoff_note", what="transfer", by=by, center=center, to=to),
            self.clock.now())
        if moved is None:
            raise Refused("closed")
        return moved

    async def make_case(self, handoff: dict[str, Any], kind: str, by: str, words: str, guide: str = "") -> Case:
        """A 代办 (for a guide) or a complaint opened from the conversation, for its center."""
        words = (words.strip() or handoff["question"])[:2000]
        if kind == "proxy":
            found = self.library.knowledge.guide(guide.strip())
            if found is None:
                raise Refused("no_guide")
            case = await self.cases.open(kind="proxy", openid=handoff["openid"], guide=found.name,
                                         center=handoff["center"] or self.config.service.default_center,
                                         data={"handoff": handoff["id"], "words": words}, actor=f"staff:{by}")
        else:
            case = await self.cases.open(kind="complaint", openid=handoff["openid"], guide=None,
                                         center=handoff["center"] or self.config.service.default_center,
                                         data={"handoff": handoff["id"], "words": words}, actor=f"staff:{by}",
                                         reply_within=self.config.service.complaint_reply_days)
        await self.store.handoffs.note(handoff["id"], Said("bot", self.texts.chat(
            "handoff_note", what="case", by=by, kind={"proxy": "代办", "complaint": "投诉"}[kind],
            number=case.number), self.clock.now()))
        return case

    async def quota_left(self, openid: str) -> int:
        """Customer-service messages WeChat still takes for the resident until they write again,
        less those already waiting in the outbox for them."""
        resident = await self.store.residents.get(openid)
        if resident is None or not resident.get("quota_at"):
            return 0
        count, within = CUSTOMER_SERVICE_QUOTA.get(resident.get("quota_kind") or "message", (0, timedelta()))
        if datetime.fromisoformat(resident["quota_at"]) + within <= self.clock.now():
            return 0
        waiting = len(await self.store.outbox.waiting(openid))
        return max(count - int(resident.get("quota_used") or 0) - waiting, 0)

    async def office_minutes(self, center_id: str | None, since: datetime, now: datetime) -> float:
        """Minutes the center was open between `since` and `now` (its hours, the holiday
        calendar, days staff closed it)."""
        center = self.center(center_id) or self.center(self.config.service.default_center)
        if center is None or not center.hours:
            return (now - since).total_seconds() / 60
        closed = await self.store.bookings.closed_days(center.id, since.date(), now.date())
        total, day = 0.0, since.date()
        while day <= now.date():
            for o in self.appointments.schedule.openings(center, day, closed):
                start, end = max(o.start, since), min(o.end, now)
                if end > start:
                    total += (end - start).total_seconds() / 60
            day += timedelta(days=1)
        return total
