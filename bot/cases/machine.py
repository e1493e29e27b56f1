"""Which moves a case may make, by kind — the whole life of a case in one table.

代办 (proxy)::

    submitted ──▶ accepted ──▶ in_progress ──▶ completed ──▶ delivered
        │            │  ▲           │  ▲           ▲
        │            ▼  │           ▼  │           │
        │        need_materials ◀───┘  │           │
        │            extended ─────────┴───────────┘
        ├──▶ rejected (reason required, from any open state)
        └──▶ cancelled (by the resident, before acceptance)

A refused move names the moves allowed now. A rejection and an extension carry their reason;
an extension its new deadline; need_materials the list of what is missing (一次性告知); a
complaint or a followup is completed with the reply the resident receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.errors import FrontdeskError

KINDS = ("proxy", "home_visit", "complaint", "followup")
STATES = ("submitted", "accepted", "in_progress", "need_materials", "extended", "completed",
          "delivered", "rejected", "cancelled")
FINAL = frozenset({"delivered", "rejected", "cancelled"})

_WORKING = ("in_progress", "need_materials", "extended", "completed", "rejected")
MOVES: dict[str, dict[str, frozenset[str]]] = {
    "proxy": {
        "submitted": frozenset({"accepted", "rejected", "cancelled"}),
        "accepted": frozenset(_WORKING),
        "in_progress": frozenset(_WORKING) - {"in_progress"},
        "need_materials": frozenset({"in_progress", "extended", "rejected"}),
        "extended": frozenset({"in_progress", "need_materials", "completed", "rejected"}),
        "completed": frozenset({"delivered"}),
    },
    "home_visit": {
        "submitted": frozenset({"accepted", "rejected", "cancelled"}),
        "accepted": frozenset({"extended", "completed", "rejected"}),   # accepted = visit scheduled
        "extended": frozenset({"completed", "rejected"}),
    },
    "complaint": {
        "submitted": frozenset({"accepted"}),
        "accepted": frozenset({"in_progress", "extended", "completed"}),
        "in_progress": frozenset({"extended", "completed"}),
        "extended": frozenset({"completed"}),
    },
    "followup": {
        "submitted": frozenset({"accepted"}),
        "accepted": frozenset({"in_progress", "extended", "completed"}),
        "in_progress": frozenset({"extended", "completed"}),
        "extended": frozenset({"completed"}),
    },
}
NEEDS_NOTE = frozenset({"rejected", "extended", "need_materials"})
ANSWERED_KINDS = frozenset({"complaint", "followup"})   # closed with the reply the resident receives


def needs_note(kind: str, to: str) -> bool:
    return to in NEEDS_NOTE or (to == "completed" and kind in ANSWERED_KINDS)


class InvalidMove(FrontdeskError):
    def __init__(self, kind: str, current: str, wanted: str, allowed: list[str], why: str = ""):
        self.kind, self.current, self.wanted, self.allowed = kind, current, wanted, allowed
        detail = why or f"{kind} case in state {current} cannot move to {wanted}"
        super().__init__(f"{detail}; allowed now: {', '.join(allowed) or 'none (the case is closed)'}")


@dataclass(frozen=True)
class Move:
    to: str
    note: str = ""
    deadline: date | None = None
    by_resident: bool = False
    visit_at: datetime | None = None   # a home visit's time, set when it is scheduled (accepted)


def allowed(kind: str, current: str, *, by_resident: bool = False) -> list[str]:
    if kind not in MOVES:
        raise ValueError(f"unknown case kind {kind!r}")
    moves = MOVES[kind].get(current, frozenset())
    if by_resident:
        moves = moves & {"cancelled"}
    return sorted(moves, key=STATES.index)


def check(kind: str, current: str, move: Move, today: date) -> None:
    """Raise InvalidMove unless `move` is allowed now and carries what it needs."""
    permitted = allowed(kind, current, by_resident=move.by_resident)
    if move.to not in permitted:
        raise InvalidMove(kind, current, move.to, permitted)
    if needs_note(kind, move.to) and not move.note.strip():
        what = {"rejected": "a refusal needs its reason (退办答复)", "extended": "an extension needs its reason",
                "need_materials": "the list of missing materials is required",
                "completed": "a complaint is closed with the reply the resident receives"}[move.to]
        raise InvalidMove(kind, current, move.to, permitted, what)
    if kind == "home_visit" and move.to == "accepted" and (move.visit_at is None or move.visit_at.date() < today):
        raise InvalidMove(kind, current, move.to, permitted, "scheduling a home visit needs its time (visit_at), "
                                                             "today or later")
    if move.to == "extended" and (move.deadline is None or move.deadline <= today):
        raise InvalidMove(kind, current, move.to, permitted, "an extension needs a new deadline after today")
