"""Opening and moving cases: the rules (state machine, deadlines) and the resident's notice,
around the store's one-transaction write."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.cases.machine import InvalidMove, Move, check
from bot.clock import Clock
from bot.hours import when_label
from bot.knowledge.library import Library
from bot.personal import case_fields
from bot.store.base import TOPIC, Dialog
from bot.store.cases import Case, CaseLine, StaleCase
from bot.store.redis import StateUnavailable
from bot.store.staff import StaffMember
from bot.texts import Texts
from bot.workdays import WorkCalendar

log = logging.getLogger(__name__)


RATED_KINDS = ("proxy", "home_visit", "complaint")
# the same request again within this time is the same case: sent again after an apology, a double tap
SAME_CASE = timedelta(minutes=30)


@dataclass
class CaseDesk:
    store: Any
    texts: Texts
    clock: Clock
    library: Library
    calendar: WorkCalendar

    def _notice(self, case: Case, to: str, note: str, deadline: date | None, visit: str = "") -> str:
        """The resident's notice of a move; a 差评整改 followup's answers their rating, in words of its own."""
        template = "followup_notice" if case.kind == "followup" else "case_notice"
        return self.texts.chat(template, case=case, to=to, note=note, deadline=deadline, visit=visit,
                               ask_rating=self._asks_rating(case, to), brought=_brought(case))

    def _topic(self, case: Case, to: str) -> dict[str, str]:
        """What a template message's fields say of the notice: case number, matter, status."""
        return dict(zip(TOPIC, self.texts.chat("notice_topic", case=case, to=to).splitlines()))

    @staticmethod
    def _asks_rating(case: Case, to: str) -> bool:
        """好差评: when a matter ends, the resident is asked to rate it — a 代办 whose result is
        brought to their home (送证上门) once it is delivered, not when it is done at the office."""
        if case.kind not in RATED_KINDS:
            return False
        return to == ("delivered" if _brought(case) else "completed")

    async def open(self, *, kind: str, openid: str, guide: str | None, center: str, data: dict[str, Any],
                   actor: str = "resident", reply_within: int | None = None, lines: tuple[CaseLine, ...] = ()) -> Case:
        """Open a case; `reply_within` working days sets its deadline at once (投诉: the reply).
        The same request from the same resident within `SAME_CASE` gives back the case it opened.
        `lines`: a life event's steps (one 代办 request for the whole event)."""
        now = self.clock.now()
        deadline = self.calendar.add_workdays(now.date(), reply_within) if reply_within else None
        return await self.store.cases.create(kind=kind, openid=openid, guide=guide, center=center, data=data,
                                             now=now, actor=actor, deadline=deadline, same_since=now - SAME_CASE,
                                             lines=lines)

    def _deadline_on_acceptance(self, case: Case) -> date | None:
        """A 代办's deadline from its guide's 承诺时限; a life event's from its slowest service's."""
        knowledge = self.library.knowledge
        found = [knowledge.guide(line.service) for line in case.lines if line.ours] or [knowledge.guide(case.guide or "")]
        guides = [g for g in found if g is not None]
        if not guides or case.kind != "proxy":
            return None
        today = self.clock.now().date()
        return max(self.calendar.due(today, g.promised_days, g.promised_days_unit) for g in guides)

    async def set_line(self, number: str, position: int, status: str, actor: str) -> Case:
        """Mark one service of a life event's case done (or pending again); the history says which.
        LookupError: no such case, or no such service in it."""
        case = await self.store.cases.get(number)
        line = next((l for l in case.lines if l.position == position), None) if case is not None else None
        if line is None:
            raise LookupError(number)
        note = self.texts.chat("case_line_note", line=line, status=status).strip()
        # the resident hears of each service done, and of one marked done by mistake (the store
        # tells nothing when the service was already so marked)
        left = [l.service for l in case.lines if l.ours and l.status != "done" and l.position != position]
        notice = self.texts.chat("case_line_notice", case=case, line=line, status=status, left=left)
        return await self.store.cases.set_line(case, position, status=status, actor=actor, note=note,
                                               now=self.clock.now(), notice=notice,
                                               topic=self._topic(case, "in_progress"))

    async def move(self, number: str, move: Move, actor: str) -> Case:
        """Check and apply a move; InvalidMove names what is allowed, StaleCase a lost race."""
        case = await self.store.cases.get(number)
        if case is None:
            raise LookupError(number)
        today = self.clock.now().date()
        check(case.kind, case.state, move, today)
        deadline = move.deadline
        if move.to == "accepted" and deadline is None:
            deadline = self._deadline_on_acceptance(case)
        note, visit = move.note, ""
        if move.visit_at is not None:   # a home visit scheduled: its day is the deadline
            deadline = move.visit_at.date()
            visit = when_label(move.visit_at, self.clock.now())
            note = f"上门时间 {move.visit_at:%Y-%m-%d %H:%M}" + (f"；{move.note}" if move.note else "")
        notice = self._notice(case, move.to, move.note, deadline or case.deadline, visit)
        moved = await self.store.cases.move(case, to=move.to, actor=actor, note=note, deadline=deadline,
                                            now=self.clock.now(), notice=notice, topic=self._topic(case, move.to))
        if self._asks_rating(case, move.to):
            await self._await_rating(moved)
        return moved

    async def reveal(self, case: Case, *, member: StaffMember, address: str) -> dict[str, Any]:
        """The case's personal data in full — name, phone, 身份证号, address — for a clerk who must
        call or act; the look is recorded in the audit log (电子监察). The console and the JSON API
        both reveal through here; whether the member may act is theirs to check first."""
        await self.store.audit.add(actor=member.name, role=member.role, action="reveal_personal", center=case.center,
                                   target=case.number, address=address, now=self.clock.now())
        return case_fields(case.data, revealed=True)

    async def resend_notices(self, *, member: StaffMember, address: str, centers: list[str] | None,
                             item_id: int | None = None, since: datetime | None = None) -> list[int]:
        """Dead notices of `centers`' residents owed again (one, or all dead since `since`): their
        ids, recorded in the audit log unless one was asked for and none was found. The console
        and the JSON API both resend through here; whether the member may act is theirs to check."""
        resent = await self.store.outbox.resend(self.clock.now(), centers=centers, item_id=item_id, since=since)
        if resent or item_id is None:
            await self.store.audit.add(actor=member.name, role=member.role, action="notice_resent",
                                       target=", ".join(f"#{n}" for n in resent) or "-",
                                       detail=f"since {since.isoformat()}" if since else "", address=address,
                                       now=self.clock.now())
        return resent

    async def _await_rating(self, case: Case) -> None:
        """Let the resident's next message be their rating — unless they are in the middle of
        something else (a booking, another 代办); then 评价 still finds the case. With Redis (which
        keeps dialogs) down the move stands all the same: 评价 finds the case then too."""
        now = self.clock.now()
        try:
            current = await self.store.dialogs.get(case.openid, now, timedelta(hours=48))
            if current is None or current.state.startswith("faq:"):
                await self.store.dialogs.set(case.openid, Dialog(state="rating:score", data={"case": case.number}),
                                             now)
        except StateUnavailable as e:
            log.warning("case %s moved; its rating is not awaited in the dialog: %s", case.number, e)


def _brought(case: Case) -> bool:
    """送证上门: the resident asked for the result to be brought to an address they gave."""
    return case.kind == "proxy" and bool(case.data.get("address"))


__all__ = ["CaseDesk", "InvalidMove", "StaleCase"]
