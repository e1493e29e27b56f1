"""The store's contract for cases, their ratings and the reports drawn from them (see `contract.py`)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.store import Store
from bot.store.cases import Case, StaleCase
from tests.store.contract import BAISHUI, NOW, QINGSHAN, TODAY, day, later, make_booking, make_case, move, notices


# cases

async def test_the_same_request_again_gives_back_its_case(store):
    async def again(at: datetime, **changed) -> Case:
        fields = {"kind": "complaint", "openid": "o-resident-1", "guide": None, "center": QINGSHAN,
                  "data": {"words": "窗口提前下班"}, "actor": "resident", **changed}
        return await store.cases.create(**fields, now=at, same_since=at - timedelta(minutes=30))

    first = await again(NOW)
    assert (await again(later(minutes=10))).number == first.number            # sent again: the same case
    assert (await again(later(minutes=10), data={"words": "另一件事"})).number != first.number
    assert (await again(later(minutes=10), openid="o-resident-2")).number != first.number
    assert (await again(later(minutes=45))).number != first.number            # long after: a new one
    await move(store, await again(later(minutes=50)), "cancelled")
    assert (await again(later(minutes=55))).state == "submitted"              # withdrawn, then asked anew
    assert await store.cases.count(centers=None, kind="complaint") == 5


async def test_case_numbers_count_per_prefix_and_per_day(store):
    made = [await make_case(store, kind=kind, at=at) for kind, at in [
        ("proxy", NOW), ("proxy", NOW), ("home_visit", NOW), ("complaint", NOW), ("followup", NOW),
        ("proxy", later(days=1))]]
    assert [c.number for c in made] == ["D20261124-0001", "D20261124-0002", "S20261124-0001", "T20261124-0001",
                                        "Z20261124-0001", "D20261125-0001"]
    first = await store.cases.get("D20261124-0001")
    assert (first.kind, first.state, first.center, first.guide) == ("proxy", "submitted", QINGSHAN, "户籍迁移")
    assert (first.data, first.deadline, first.created_at) == (
        {"name": "王小明", "phone": "13800001111", "phone_masked": "138****1111"}, None, NOW.isoformat())
    stored = (await store.fetchone("SELECT data FROM cases WHERE number=?", first.number))["data"]
    assert "13800001111" not in stored and "138****1111" in stored   # the phone encrypted at rest
    assert [(h.from_state, h.to_state, h.actor) for h in first.history] == [(None, "submitted", "resident")]
    assert await store.cases.get("D20261124-9999") is None


async def test_twenty_cases_created_at_once_get_twenty_numbers(store):
    made = await asyncio.gather(*(make_case(store, openid=f"o-resident-{n}") for n in range(20)))
    assert sorted(c.number for c in made) == [f"D20261124-{n:04d}" for n in range(1, 21)]


async def test_a_case_notice_is_queued_with_its_creation(store):
    await make_case(store, notice="已收到您的代办申请")
    assert await notices(store, "o-resident-1") == ["已收到您的代办申请"]


async def test_a_case_moves_once_from_the_state_it_was_read_in(store):
    case = await make_case(store)
    accepted = await move(store, case, "accepted", at=later(hours=1), deadline=day(5), notice="已受理")
    assert (accepted.state, accepted.deadline, accepted.updated_at) == ("accepted", day(5), later(hours=1).isoformat())

    with pytest.raises(StaleCase):
        await move(store, case, "rejected", notice="不予受理")
    working = await move(store, accepted, "in_progress", at=later(hours=2))
    assert working.deadline == day(5)   # a move without a deadline keeps the one set
    assert [(h.from_state, h.to_state, h.deadline) for h in working.history] == [
        (None, "submitted", None), ("submitted", "accepted", day(5).isoformat()), ("accepted", "in_progress", None)]
    assert await notices(store, "o-resident-1") == ["已受理"]


async def test_two_clerks_moving_one_case_at_once_move_it_once(store):
    case = await make_case(store)
    moved = await asyncio.gather(move(store, case, "accepted", notice="已受理"),
                                 move(store, case, "rejected", notice="不予受理"), return_exceptions=True)
    assert sorted(type(m).__name__ for m in moved) == ["Case", "StaleCase"]
    assert len((await store.cases.get(case.number)).history) == 2
    assert len(await notices(store, "o-resident-1")) == 1


async def many_cases(store: Store) -> dict[str, Case]:
    """Five cases at two centers, of every kind; the first proxy case accepted."""
    made = {
        "proxy_qs": await make_case(store, phone="13800001111"),
        "visit_qs": await make_case(store, kind="home_visit", guide="老年证", phone="13700003333"),
        "complaint_bs": await make_case(store, kind="complaint", center=BAISHUI, guide=None, phone="13600004444"),
        "followup_qs": await make_case(store, kind="followup", guide=None, phone="13500005555"),
        "proxy_bs": await make_case(store, center=BAISHUI, guide="社保卡", phone="13900002222"),
    }
    made["proxy_qs"] = await move(store, made["proxy_qs"], "accepted", deadline=day(3))
    return made


@pytest.mark.parametrize("filters, expected", [
    ({"centers": None}, ["proxy_bs", "followup_qs", "complaint_bs", "visit_qs", "proxy_qs"]),
    ({"centers": [QINGSHAN]}, ["followup_qs", "visit_qs", "proxy_qs"]),
    ({"centers": []}, []),
    ({"centers": None, "kind": "proxy"}, ["proxy_bs", "proxy_qs"]),
    ({"centers": [QINGSHAN], "kind": ("complaint", "followup")}, ["followup_qs"]),
    ({"centers": None, "kind": ("complaint", "followup")}, ["followup_qs", "complaint_bs"]),
    ({"centers": None, "kind": ()}, []),
    ({"centers": None, "state": "accepted"}, ["proxy_qs"]),
    ({"centers": [BAISHUI], "state": "submitted"}, ["proxy_bs", "complaint_bs"]),
    ({"centers": None, "search": "D20261124-0002"}, ["proxy_bs"]),
    ({"centers": None, "search": "d20261124-0001"}, ["proxy_qs"]),
    ({"centers": None, "search": "户籍"}, ["proxy_qs"]),
    ({"centers": None, "search": "2222"}, ["proxy_bs"]),                 # the last four digits
    ({"centers": None, "search": "13900002222"}, ["proxy_bs"]),          # the whole number
    ({"centers": None, "search": "222"}, []),   # three digits are not looked for in phones
    ({"centers": None, "search": "0000222"}, []),   # nor the middle: the number is stored encrypted
    ({"centers": [QINGSHAN], "search": "T2026"}, []),
])
async def test_cases_are_listed_and_counted_by_filter(store, filters, expected):
    made = await many_cases(store)
    names = {c.number: name for name, c in made.items()}
    assert [names[c.number] for c in await store.cases.list(**filters)] == expected
    assert await store.cases.count(**filters) == len(expected)


async def test_cases_of_one_resident_up_to_a_limit(store):
    made = await many_cases(store)
    other = await make_case(store, openid="o-resident-2")
    assert [c.number for c in await store.cases.list(centers=None, openid="o-resident-2")] == [other.number]
    assert [c.number for c in await store.cases.list(centers=None, limit=2)] == [other.number, made["proxy_bs"].number]


async def test_due_cases_are_the_open_ones_with_a_deadline(store):
    overdue = await move(store, await make_case(store), "accepted", deadline=day(-1))
    soon = await move(store, await make_case(store), "accepted", deadline=day(2))
    done = await move(store, await move(store, await make_case(store), "accepted", deadline=day(-2)), "completed")
    new = await make_case(store)
    assert done.state == "completed"

    def numbers(cases):
        return [c.number for c in cases]

    assert numbers(await store.cases.list(centers=None, due_by=TODAY)) == [overdue.number]
    assert numbers(await store.cases.list(centers=None, due_by=day(7))) == [soon.number, overdue.number]
    assert numbers(await store.cases.list(centers=None, due_by=day(7), oldest_first=True)) == \
        [overdue.number, soon.number]
    assert await store.cases.count(centers=None, due_by=day(7)) == 2
    # a case without a deadline yet (just submitted) comes before those with one
    assert numbers(await store.cases.list(centers=None, open_only=True, oldest_first=True)) == \
        [new.number, overdue.number, soon.number]
    assert await store.cases.count(centers=None, open_only=True) == 3


async def test_history_is_read_for_many_cases_at_once(store):
    first, second = await make_case(store), await make_case(store, openid="o-resident-2")
    first = await move(store, first, "accepted", deadline=day(5))
    await store.cases.note(first, actor="李办事员", note="已电话联系", now=later(hours=1))

    noted = await store.cases.get(first.number)
    assert [(h.from_state, h.to_state, h.note) for h in noted.history][-1] == ("accepted", "accepted", "已电话联系")
    assert noted.state == "accepted"
    listed = await store.cases.with_history(await store.cases.list(centers=None))
    assert [(c.number, c.history) for c in listed] == [(second.number, second.history), (noted.number, noted.history)]
    assert await store.cases.with_history([]) == []


# ratings

async def test_a_case_is_rated_once(store):
    rated, unrated = await make_case(store), await make_case(store)
    for case in (rated, unrated):
        await move(store, await move(store, case, "accepted", deadline=day(3)), "completed", at=later(hours=1))
    assert (await store.ratings.unrated_closed_case("o-resident-1")).number == unrated.number

    assert await store.ratings.add(rated, 5, "办得很快", NOW) is True
    assert await store.ratings.add(rated, 1, "改主意了", NOW) is False
    assert await store.ratings.of_case(rated) == {"score": 5, "words": "办得很快", "at": NOW.isoformat()}
    assert await store.ratings.of_case(unrated) is None
    assert list(await store.ratings.of_cases([rated, unrated])) == [rated.number]
    assert await store.ratings.of_cases([]) == {}

    await store.ratings.add(unrated, 4, "", NOW)
    assert await store.ratings.unrated_closed_case("o-resident-1") is None


async def test_satisfaction_counts_ratings_of_three_and_more_per_center(store):
    for score, center, at in [(5, QINGSHAN, NOW), (3, QINGSHAN, NOW), (2, QINGSHAN, NOW), (1, BAISHUI, NOW),
                              (5, BAISHUI, later(days=-40))]:
        await store.ratings.add(await make_case(store, center=center), score, "", at)
    assert await store.ratings.satisfaction() == {QINGSHAN: (2, 3), BAISHUI: (1, 2)}
    assert await store.ratings.satisfaction(since=later(days=-30)) == {QINGSHAN: (2, 3), BAISHUI: (0, 1)}


# reports

MONDAY, NEXT_MONDAY = day(-1), day(6)
TWO_WEEKS = (MONDAY, NEXT_MONDAY + timedelta(days=6))


async def report_data(store: Store) -> None:
    """One week and a bit of cases, ratings and appointments at two centers:

    opened   Mon: proxy 户籍迁移 青山村; Tue: proxy 户籍迁移 青山村, home_visit 老年证 白水村;
             Wed: complaint 青山村; a week before: proxy 社保卡 青山村
    finished first proxy on time (Wed ≤ Thu), second late (Wed > Tue), visit on time next week;
             the complaint has no deadline
    rated    5 and 2 at 青山村 this week, 3 at 白水村 next week
    booked   on Tue: 社保卡 at 青山村, 户籍迁移 at 白水村
    """
    first = await make_case(store, at=later(days=-1))
    second = await make_case(store)
    visit = await make_case(store, kind="home_visit", guide="老年证", center=BAISHUI)
    complaint = await make_case(store, kind="complaint", guide=None, at=later(days=1))
    await make_case(store, guide="社保卡", at=later(days=-8))
    for case, deadline, done in [(first, day(2), later(days=1)), (second, TODAY, later(days=1)),
                                 (visit, day(10), later(days=7)), (complaint, None, later(days=1))]:
        finished = await move(store, await move(store, case, "accepted", deadline=deadline), "completed", at=done)
        if case is first:
            await move(store, finished, "delivered", at=later(days=3))
    for case, score, at in [(first, 5, later(days=1)), (second, 2, later(days=2)), (visit, 3, later(days=7))]:
        await store.ratings.add(case, score, "", at)
    await make_booking(store, openid="o-1", guide="社保卡")
    await make_booking(store, openid="o-2", guide="户籍迁移", center=BAISHUI)


async def test_report_of_cases_opened_per_day_and_kind(store):
    await report_data(store)
    opened = await store.reports.opened(MONDAY, day(1), None)
    assert opened.days == (MONDAY, TODAY, day(1))
    assert opened.counts == {"complaint": (0, 0, 1), "home_visit": (0, 1, 0), "proxy": (1, 1, 0)}
    assert (opened.totals, opened.total) == ((1, 2, 1), 4)
    assert (await store.reports.opened(MONDAY, day(1), [BAISHUI])).counts == {"home_visit": (0, 1, 0)}
    assert (await store.reports.opened(MONDAY, day(1), [])).totals == (0, 0, 0)


async def test_report_of_cases_finished_on_time_per_week(store):
    await report_data(store)
    everywhere = await store.reports.on_time(*TWO_WEEKS, None)
    assert everywhere.weeks == (MONDAY, NEXT_MONDAY)
    assert (everywhere.hits, everywhere.totals, everywhere.rates) == ((1, 1), (2, 1), (0.5, 1.0))
    qingshan = await store.reports.on_time(MONDAY, NEXT_MONDAY, [QINGSHAN])
    assert (qingshan.hits, qingshan.totals, qingshan.rates) == ((1, 0), (2, 0), (0.5, None))


async def test_report_of_satisfied_ratings_per_week(store):
    await report_data(store)
    everywhere = await store.reports.satisfied(*TWO_WEEKS, None)
    assert (everywhere.hits, everywhere.totals) == ((1, 1), (2, 1))
    assert (await store.reports.satisfied(*TWO_WEEKS, [BAISHUI])).totals == (0, 1)


async def test_report_of_the_busiest_services(store):
    await report_data(store)
    week = MONDAY, MONDAY + timedelta(days=6)
    assert [(b.guide, b.cases, b.bookings) for b in await store.reports.busiest(*week, None)] == \
        [("户籍迁移", 2, 1), ("社保卡", 0, 1), ("老年证", 1, 0)]
    assert [(b.guide, b.cases, b.bookings) for b in await store.reports.busiest(*week, [BAISHUI])] == \
        [("户籍迁移", 0, 1), ("老年证", 1, 0)]
    assert [b.guide for b in await store.reports.busiest(*week, None, limit=1)] == ["户籍迁移"]


# a life event's case (高效办成一件事): one case, a line per step

async def test_a_life_event_case_keeps_a_line_per_step_and_marks_each_service_done(store):
    from bot.store.cases import CaseLine
    steps = (CaseLine(1, "出生医学证明", "elsewhere", "elsewhere", "孩子出生的医院"),
             CaseLine(2, "出生登记", "ours", "pending"),
             CaseLine(3, "城乡居民基本医疗保险参保登记", "ours", "pending"),
             CaseLine(4, "社会保障卡申领", "ours", "pending"))
    case = await store.cases.create(kind="proxy", openid="o-resident-1", guide="新生儿出生一件事", center=QINGSHAN,
                                    data={"name": "王小明"}, now=NOW, actor="resident", lines=steps)
    assert await store.cases.count(centers=None, kind="proxy") == 1
    read = await store.cases.get(case.number)
    assert read.guide == "新生儿出生一件事" and read.lines == steps
    assert [l.service for l in read.lines if l.ours] == ["出生登记", "城乡居民基本医疗保险参保登记", "社会保障卡申领"]

    done = await store.cases.set_line(read, 2, status="done", actor="staff:李", note="出生登记：已办好", now=later(hours=1))
    assert [(l.service, l.status) for l in done.lines] == [
        ("出生医学证明", "elsewhere"), ("出生登记", "done"), ("城乡居民基本医疗保险参保登记", "pending"),
        ("社会保障卡申领", "pending")]
    assert (done.state, done.history[-1].note, done.history[-1].actor) == ("submitted", "出生登记：已办好", "staff:李")
    with pytest.raises(LookupError):   # a step handled elsewhere has no status of ours
        await store.cases.set_line(done, 1, status="done", actor="staff:李", note="", now=later(hours=1))
    with pytest.raises(LookupError):
        await store.cases.set_line(done, 3, status="lost", actor="staff:李", note="", now=later(hours=1))
    assert (await store.cases.get(case.number)).lines == done.lines
    assert (await store.cases.get((await make_case(store)).number)).lines == ()   # one service: no lines


async def test_a_finished_life_event_case_is_purged_with_its_lines(store):
    from bot.store.cases import CaseLine
    case = await store.cases.create(kind="proxy", openid="o-resident-1", guide="身后一件事", center=QINGSHAN,
                                    data={"name": "王小明"}, now=NOW, actor="resident",
                                    lines=(CaseLine(1, "户口注销", "ours", "pending"),
                                           CaseLine(2, "社会保障卡注销", "elsewhere", "elsewhere")))
    await move(store, await move(store, case, "accepted"), "completed")
    done = await store.privacy.purge(questions_before=NOW, cases_before=later(days=1), bookings_before=NOW,
                                     notices_before=NOW)
    assert done["cases"] == 1 and await store.cases.get(case.number) is None
    assert (await store.fetchone("SELECT count(*) AS n FROM case_lines"))["n"] == 0
