"""Every allowed move of every case kind, and the refused ones naming what is allowed."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.cases.machine import (
    FINAL,
    KINDS,
    MOVES,
    STATES,
    InvalidMove,
    Move,
    allowed,
    check,
    needs_note,
)

TODAY = date(2026, 11, 24)


def _move(to: str, kind: str = "proxy") -> Move:
    return Move(to=to, note="原因说明" if needs_note(kind, to) else "", deadline=date(2026, 12, 10) if to == "extended" else None,
                visit_at=datetime(2026, 11, 26, 9, 30) if to == "accepted" else None)


def test_a_home_visit_is_scheduled_with_its_time():
    with pytest.raises(InvalidMove, match="visit_at"):
        check("home_visit", "submitted", Move(to="accepted"), TODAY)
    with pytest.raises(InvalidMove, match="visit_at"):
        check("home_visit", "submitted", Move(to="accepted", visit_at=datetime(2026, 11, 23, 9, 0)), TODAY)
    check("home_visit", "submitted", Move(to="accepted", visit_at=datetime(2026, 11, 24, 15, 0)), TODAY)


@pytest.mark.parametrize("kind", KINDS)
def test_every_move_in_the_table_is_allowed_and_every_other_refused(kind):
    for current in STATES:
        permitted = set(allowed(kind, current))
        assert permitted == set(MOVES[kind].get(current, ()))
        for to in STATES:
            if to in permitted:
                check(kind, current, _move(to, kind), TODAY)
            else:
                with pytest.raises(InvalidMove) as e:
                    check(kind, current, _move(to, kind), TODAY)
                assert e.value.allowed == allowed(kind, current)


def test_proxy_runs_from_submission_to_delivery():
    path = ["submitted", "accepted", "in_progress", "need_materials", "in_progress", "extended", "completed",
            "delivered"]
    for current, to in zip(path, path[1:]):
        check("proxy", current, _move(to), TODAY)


def test_closed_cases_do_not_move():
    for state in FINAL:
        assert allowed("proxy", state) == []
    with pytest.raises(InvalidMove, match="none \\(the case is closed\\)"):
        check("proxy", "delivered", Move(to="in_progress"), TODAY)


def test_refusal_needs_a_reason_and_extension_a_later_deadline():
    with pytest.raises(InvalidMove, match="reason"):
        check("proxy", "accepted", Move(to="rejected", note="  "), TODAY)
    with pytest.raises(InvalidMove, match="new deadline"):
        check("proxy", "accepted", Move(to="extended", note="需要县里会签"), TODAY)
    with pytest.raises(InvalidMove, match="new deadline"):
        check("proxy", "accepted", Move(to="extended", note="需要县里会签", deadline=TODAY), TODAY)
    with pytest.raises(InvalidMove, match="missing materials"):
        check("proxy", "accepted", Move(to="need_materials"), TODAY)


def test_resident_may_withdraw_only_before_acceptance():
    check("proxy", "submitted", Move(to="cancelled", by_resident=True), TODAY)
    with pytest.raises(InvalidMove) as e:
        check("proxy", "accepted", Move(to="cancelled", by_resident=True), TODAY)
    assert e.value.allowed == []
    with pytest.raises(InvalidMove):
        check("proxy", "submitted", Move(to="accepted", by_resident=True), TODAY)


@pytest.mark.parametrize("kind", ["complaint", "followup"])
def test_a_complaint_is_closed_with_its_reply(kind):
    with pytest.raises(InvalidMove, match="reply"):
        check(kind, "accepted", Move(to="completed", note="  "), TODAY)
    check(kind, "accepted", Move(to="completed", note="已核实整改"), TODAY)
