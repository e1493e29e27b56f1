"""The store's contract: what handlers and the console rely on, passed unchanged by every backend.

Each test runs once on SQLite and once on PostgreSQL (the `store_url` fixture); a test that
passes on one and fails on the other is a difference in the store to fix, not in the test.
All names, phones and places are made up.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.errors import StoreError
from bot.personal import mask_mobile
from bot.store import Dialog, Store, open_store
from bot.store.bookings import Booking, BookingLimit, SlotTaken
from bot.store.cases import Case, StaleCase
from bot.vault import Vault

NOW = FixedClock().now()                 # Tuesday 2026-11-24 10:00, Asia/Shanghai
TODAY = NOW.date()
TOMORROW_9 = (NOW + timedelta(days=1)).replace(hour=9)
QINGSHAN, BAISHUI = "青山村", "白水村"
FAR = NOW + timedelta(days=365)


def later(**delta: float) -> datetime:
    return NOW + timedelta(**delta)


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


@pytest.fixture
async def store(store_url, tmp_path):
    store = await open_store(store_url, tmp_path, Vault.from_env())   # personal data encrypted, as served
    yield store
    await store.close()


async def make_case(store: Store, *, kind: str = "proxy", openid: str = "o-resident-1", center: str = QINGSHAN,
                    guide: str | None = "户籍迁移", phone: str = "13800001111", at: datetime = NOW,
                    notice: str | None = None) -> Case:
    return await store.cases.create(kind=kind, openid=openid, guide=guide, center=center,
                                    data={"name": "王小明", "phone": phone, "phone_masked": mask_mobile(phone)},
                                    now=at, actor="resident", notice=notice)


async def move(store: Store, case: Case, to: str, *, at: datetime = NOW, deadline: date | None = None,
               notice: str | None = None) -> Case:
    return await store.cases.move(case, to=to, actor="李办事员", note="", deadline=deadline, now=at, notice=notice)


async def make_booking(store: Store, *, openid: str = "o-resident-1", guide: str = "社保卡", center: str = QINGSHAN,
                       start: datetime = TOMORROW_9, windows: tuple[int, ...] = (1,), at: datetime = NOW,
                       remind_at: datetime | None = None, max_active: int = 3,
                       replaces: str | None = None) -> Booking:
    return await store.bookings.book(openid=openid, guide=guide, center=center, start=start, windows=windows,
                                     now=at, remind_at=remind_at, max_active=max_active, replaces=replaces)


async def notices(store: Store, openid: str | None = None) -> list[str]:
    """The texts waiting in the outbox (for one resident), oldest first."""
    return [item.text for item in await store.outbox.waiting(openid)]


async def dead_notice(store: Store, openid: str, text: str = "您的材料已审核") -> int:
    """A notice WeChat refused for good; its id."""
    await store.outbox.add(openid, [text], NOW)
    item = next(i for i in await store.outbox.waiting(openid) if i.text == text)
    await store.outbox.failed(item.id, "48001 api unauthorized", None, NOW)
    return item.id


# residents and dialogs

async def test_a_resident_is_seen_bound_and_unsubscribed(store):
    residents = store.residents
    await residents.seen("o-resident-1", NOW)
    assert (await residents.get("o-resident-1"))["active"] == 1
    assert await residents.get("o-nobody") is None

    await residents.bind("o-resident-1", QINGSHAN, later(minutes=1))
    await residents.bind("o-never-wrote", BAISHUI, NOW)
    assert await residents.center_of("o-resident-1") == QINGSHAN
    assert await residents.center_of("o-never-wrote") == BAISHUI
    assert await residents.center_of("o-nobody") is None

    await store.dialogs.set("o-resident-1", Dialog("booking:day", {"guide": "社保卡"}), NOW)
    await residents.unsubscribed("o-resident-1", later(minutes=2))
    gone = await residents.get("o-resident-1")
    assert (gone["active"], gone["unsubscribed_at"]) == (0, later(minutes=2).isoformat())
    assert await store.dialogs.get("o-resident-1", later(minutes=2), timedelta(hours=1)) is None

    await residents.seen("o-resident-1", later(minutes=3))
    back = await residents.get("o-resident-1")
    assert (back["active"], back["unsubscribed_at"], back["center"]) == (1, None, QINGSHAN)
    assert back["last_message_at"] == later(minutes=3).isoformat()


async def test_a_dialog_is_kept_until_idle_or_cleared(store):
    dialogs, idle = store.dialogs, timedelta(minutes=10)
    first = Dialog("booking:service", {"center": QINGSHAN, "tries": 2, "days": ["2026-11-25"]})
    await dialogs.set("o-resident-1", first, NOW)
    assert await dialogs.get("o-resident-1", later(minutes=10), idle) == first
    assert await dialogs.get("o-nobody", NOW, idle) is None

    second = Dialog("booking:day", {"guide": "社保卡"})
    await dialogs.set("o-resident-1", second, later(minutes=5))
    assert await dialogs.get("o-resident-1", later(minutes=15), idle) == second
    assert await dialogs.get("o-resident-1", later(minutes=16), idle) is None
    assert await dialogs.get("o-resident-1", later(minutes=16), timedelta(days=1)) is None   # the idle one was cleared

    await dialogs.set("o-resident-1", first, NOW)
    await dialogs.clear("o-resident-1")
    assert await dialogs.get("o-resident-1", NOW, idle) is None


# processed messages and inquiries

async def test_a_message_is_claimed_once_and_its_reply_kept(store):
    messages = store.messages
    assert await messages.claim("msg-1", "o-resident-1", NOW) is True
    assert await messages.claim("msg-1", "o-resident-1", later(seconds=5)) is False
    assert await messages.reply_for("msg-1") == (True, None)
    await messages.answered("msg-1", '{"text": "请带身份证"}')
    assert await messages.reply_for("msg-1") == (True, '{"text": "请带身份证"}')
    assert await messages.reply_for("msg-unknown") == (False, None)


async def test_only_an_old_unanswered_claim_is_taken_over(store):
    messages = store.messages
    await messages.claim("msg-lost", "o-resident-1", NOW)
    await messages.claim("msg-done", "o-resident-1", NOW)
    await messages.answered("msg-done", '{"text": "好的"}')

    assert await messages.take_over("msg-lost", later(minutes=1), claimed_before=NOW) is False   # not older
    assert await messages.take_over("msg-done", later(minutes=10), claimed_before=later(minutes=5)) is False
    assert await messages.take_over("msg-lost", later(minutes=10), claimed_before=later(minutes=5)) is True
    assert await messages.take_over("msg-lost", later(minutes=11), claimed_before=later(minutes=5)) is False


async def test_processed_messages_are_purged_before_a_time(store):
    await store.messages.claim("msg-old", "o-resident-1", later(days=-3))
    await store.messages.claim("msg-new", "o-resident-1", NOW)
    assert await store.messages.purge_before(later(days=-1)) == 1
    assert await store.messages.reply_for("msg-old") == (False, None)
    assert await store.messages.reply_for("msg-new") == (True, None)


async def ask(store: Store, question: str, *, openid: str = "o-resident-1", intent: str = "guide",
              decision: str = "answer", at: datetime = NOW, guide: str | None = None, score: float | None = None):
    await store.inquiries.log(openid=openid, question=question, intent=intent, guide=guide, score=score,
                              decision=decision, at=at)


async def test_a_residents_inquiries_come_oldest_first(store):
    for n, question in enumerate(["身份证丢了怎么办", "要带什么材料", "几点上班"]):
        await ask(store, question, at=later(minutes=n), guide="身份证补办", score=0.9)
    await ask(store, "别人的问题", openid="o-resident-2")

    asked = await store.inquiries.of_resident("o-resident-1")
    assert [q["question"] for q in asked] == ["身份证丢了怎么办", "要带什么材料", "几点上班"]
    assert (asked[0]["guide"], asked[0]["score"]) == ("身份证补办", 0.9)
    assert [q["question"] for q in await store.inquiries.of_resident("o-resident-1", limit=2)] == \
        ["要带什么材料", "几点上班"]


async def test_unanswered_lists_fallbacks_of_guide_questions_newest_first(store):
    await ask(store, "上周的问题", decision="fallback", at=later(days=-8))
    await ask(store, "怎么办低保", decision="fallback", at=later(minutes=1), score=0.31)
    await ask(store, "我要预约明天", intent="booking", decision="fallback", at=later(minutes=2))
    await ask(store, "在吗", intent="unknown", decision="fallback", at=later(minutes=3))
    await ask(store, "社保卡怎么办", at=later(minutes=4), guide="社保卡")

    unanswered = await store.inquiries.unanswered(since=later(days=-7))
    assert [(q["question"], q["score"]) for q in unanswered] == [("在吗", None), ("怎么办低保", 0.31)]
    assert unanswered[0]["at"] == later(minutes=3).isoformat()


# handoffs

async def test_a_waiting_request_keeps_its_place(store):
    first = await store.handoffs.request("o-resident-1", "想找人问问", NOW, center=QINGSHAN)
    again = await store.handoffs.request("o-resident-1", "还在等", later(minutes=5), center=QINGSHAN)
    other = await store.handoffs.request("o-resident-2", "我也想问", NOW)
    assert first[1] is True and again == (first[0], False)
    assert other[1] is True and other[0] != first[0]
    assert (await store.handoffs.get(first[0]))["question"] == "想找人问问"


async def test_a_request_is_answered_once_and_the_answer_queued(store):
    request_id, _ = await store.handoffs.request("o-resident-1", "低保怎么申请", NOW, center=QINGSHAN)
    assert await store.handoffs.answer(request_id, answer="带户口本来", by="李办事员", notice="回复：带户口本来",
                                       now=later(minutes=30)) is True
    assert await store.handoffs.answer(request_id, answer="又答一次", by="赵办事员", notice="回复：又答一次",
                                       now=later(minutes=31)) is False

    answered = await store.handoffs.get(request_id)
    assert (answered["status"], answered["answer"], answered["answered_by"]) == ("answered", "带户口本来", "李办事员")
    assert await notices(store, "o-resident-1") == ["回复：带户口本来"]
    next_id, new = await store.handoffs.request("o-resident-1", "还有一个问题", later(hours=1))
    assert new is True and next_id != request_id   # an answered request does not hold the place
    assert [h["id"] for h in await store.handoffs.of_resident("o-resident-1")] == [next_id, request_id]


async def test_requests_are_listed_for_the_centers_seen(store):
    ids = {}
    for n, (openid, center) in enumerate([("o-1", QINGSHAN), ("o-2", BAISHUI), ("o-3", QINGSHAN), ("o-4", None)]):
        ids[openid], _ = await store.handoffs.request(openid, "请回电话", later(minutes=n), center=center)

    assert [h["id"] for h in await store.handoffs.waiting()] == [ids[o] for o in ("o-1", "o-2", "o-3", "o-4")]
    assert [h["id"] for h in await store.handoffs.waiting([QINGSHAN])] == [ids["o-1"], ids["o-3"]]
    assert await store.handoffs.waiting([]) == []

    for openid, minutes in (("o-3", 10), ("o-1", 20)):
        await store.handoffs.answer(ids[openid], answer="已回电", by="李办事员", notice="已回电", now=later(minutes=minutes))
    assert [h["id"] for h in await store.handoffs.listed("answered")] == [ids["o-1"], ids["o-3"]]
    assert [h["id"] for h in await store.handoffs.waiting([QINGSHAN, BAISHUI])] == [ids["o-2"]]
    assert await store.handoffs.listed("answered", [BAISHUI]) == []


# outbox

LEASE = timedelta(minutes=1)


async def test_claimed_notices_come_oldest_first_one_per_resident_at_a_time(store):
    await store.residents.seen("o-resident-1", later(hours=-1))
    await store.outbox.add("o-resident-1", ["第一条", "第二条", "第三条"], NOW)
    await store.outbox.add("o-resident-2", ["第四条"], NOW)
    assert await store.outbox.pending_count() == 4
    assert [i.text for i in await store.outbox.waiting()] == ["第一条", "第二条", "第三条", "第四条"]

    assert await store.outbox.claim(later(seconds=-1), LEASE) == []
    first = await store.outbox.claim(NOW, LEASE, limit=1)
    assert [i.text for i in first] == ["第一条"] and first[0].last_message_at == later(hours=-1)
    second = await store.outbox.claim(NOW, LEASE)
    assert [(i.text, i.last_message_at) for i in second] == [("第四条", None)]   # 第二条 waits for 第一条
    assert await store.outbox.claim(NOW, LEASE) == []                            # all claimed meanwhile

    await store.outbox.sent(first[0].id, NOW)
    assert [i.text for i in await store.outbox.claim(NOW, LEASE)] == ["第二条"]
    assert await store.outbox.pending_count() == 3


async def test_a_claim_runs_out_and_another_pusher_takes_the_notice(store):
    await store.outbox.add("o-resident-1", ["审核通过"], NOW)
    (item,) = await store.outbox.claim(NOW, LEASE)
    assert await store.outbox.claim(NOW + LEASE - timedelta(seconds=1), LEASE) == []
    (again,) = await store.outbox.claim(NOW + LEASE, LEASE)   # the first pusher died
    assert again.id == item.id


async def test_pushers_claiming_at_once_never_share_a_notice(store):
    for n in range(30):
        await store.outbox.add(f"o-resident-{n}", [f"通知{n}"], NOW)
    batches = await asyncio.gather(*(store.outbox.claim(NOW, LEASE, limit=7) for _ in range(6)))
    claimed = [item.id for batch in batches for item in batch]
    assert len(claimed) == len(set(claimed)) == 30


async def test_a_failed_notice_waits_for_its_retry_or_dies(store):
    await store.outbox.add("o-resident-1", ["审核通过"], NOW)
    (item,) = await store.outbox.claim(NOW, LEASE)

    await store.outbox.failed(item.id, "-1 system busy", later(minutes=5), NOW)
    assert await store.outbox.claim(later(minutes=4), LEASE) == []
    (retry,) = await store.outbox.claim(later(minutes=5), LEASE)
    assert (retry.id, retry.attempts) == (item.id, 1)
    assert await store.outbox.dead() == []

    await store.outbox.failed(item.id, "48001 api unauthorized", None, later(minutes=5))
    assert await store.outbox.claim(FAR, LEASE) == []
    assert await store.outbox.pending_count() == 0
    (dead,) = await store.outbox.dead()
    assert (dead["id"], dead["attempts"], dead["last_error"]) == (item.id, 2, "48001 api unauthorized")
    assert (dead["dead_at"], dead["handled_at"], dead["case_number"]) == (later(minutes=5).isoformat(), None, None)


async def test_dead_notices_reach_the_centers_of_their_resident(store):
    await store.residents.bind("o-bound", QINGSHAN, NOW)
    await store.residents.bind("o-elsewhere", BAISHUI, NOW)
    await make_case(store, openid="o-with-case", center=BAISHUI)
    latest = await make_case(store, openid="o-with-case", center=QINGSHAN)
    await make_booking(store, openid="o-with-booking")
    ids = {openid: await dead_notice(store, openid) for openid in ("o-bound", "o-elsewhere", "o-with-case",
                                                                   "o-with-booking", "o-unknown")}

    def shown(rows):
        return [row["id"] for row in rows]

    assert shown(await store.outbox.dead()) == sorted(ids.values(), reverse=True)
    assert shown(await store.outbox.dead(centers=[QINGSHAN])) == \
        [ids["o-with-booking"], ids["o-with-case"], ids["o-bound"]]
    assert shown(await store.outbox.dead(centers=[BAISHUI])) == [ids["o-with-case"], ids["o-elsewhere"]]
    assert await store.outbox.dead(centers=[]) == []
    assert shown(await store.outbox.dead(limit=1)) == [ids["o-unknown"]]
    (with_case,) = await store.outbox.dead(centers=[QINGSHAN], item_id=ids["o-with-case"])
    assert with_case["case_number"] == latest.number
    assert await store.outbox.dead(centers=[BAISHUI], item_id=ids["o-bound"]) == []

    assert await store.outbox.handled(ids["o-bound"], "李办事员", NOW) is True
    assert await store.outbox.handled(ids["o-bound"], "赵办事员", NOW) is False
    (handled,) = await store.outbox.dead(item_id=ids["o-bound"])
    assert (handled["handled_by"], handled["handled_at"]) == ("李办事员", NOW.isoformat())
    assert ids["o-bound"] not in shown(await store.outbox.dead(centers=[QINGSHAN], open_only=True))

    await store.outbox.add("o-bound", ["还没发"], NOW)
    (pending,) = await store.outbox.waiting("o-bound")
    assert await store.outbox.handled(pending.id, "李办事员", NOW) is False   # only dead notices are followed up


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


# bookings

async def test_a_booking_takes_the_first_free_window(store):
    first = await make_booking(store, openid="o-1", windows=(1, 2), remind_at=later(hours=20))
    second = await make_booking(store, openid="o-2", windows=(1, 2))
    with pytest.raises(SlotTaken):
        await make_booking(store, openid="o-3", windows=(1, 2))

    assert (first.window, second.window) == (1, 2)
    assert (first.status, first.day, first.start, first.center, first.guide) == \
        ("booked", day(1), TOMORROW_9, QINGSHAN, "社保卡")
    assert (first.remind_at, first.reminded_at, first.note) == (later(hours=20), None, "")
    assert len(first.code) == 6 and first.code.isdigit() and first.code != second.code
    assert await store.bookings.get(first.code) == first
    assert await store.bookings.get("not-a-code") is None


async def test_the_last_place_goes_to_one_of_ten_residents(store):
    tried = await asyncio.gather(*(make_booking(store, openid=f"o-resident-{n}") for n in range(10)),
                                 return_exceptions=True)
    booked = [t for t in tried if isinstance(t, Booking)]
    assert len(booked) == 1
    assert all(isinstance(t, SlotTaken) for t in tried if t not in booked)
    assert await store.bookings.taken(QINGSHAN, day(1)) == {TOMORROW_9: {1}}


async def test_a_resident_books_a_service_once_and_only_so_many(store):
    first = await make_booking(store, max_active=2)
    with pytest.raises(BookingLimit) as same:
        await make_booking(store, start=TOMORROW_9 + timedelta(hours=1), max_active=2)
    assert (same.value.reason, same.value.existing.code) == ("same_service", first.code)

    await make_booking(store, guide="户籍迁移", start=TOMORROW_9 + timedelta(hours=1), max_active=2)
    with pytest.raises(BookingLimit) as many:
        await make_booking(store, guide="老年证", start=TOMORROW_9 + timedelta(hours=2), max_active=2)
    assert many.value.reason == "too_many"
    assert await store.bookings.taken(QINGSHAN, day(1)) == {TOMORROW_9: {1}, TOMORROW_9 + timedelta(hours=1): {1}}


async def test_a_new_booking_replaces_the_old_one_in_one_step(store):
    old = await make_booking(store)
    new = await make_booking(store, start=TOMORROW_9 + timedelta(hours=1), replaces=old.code)
    replaced = await store.bookings.get(old.code)
    assert (replaced.status, replaced.note) == ("cancelled", "改约")
    assert await store.bookings.upcoming("o-resident-1", NOW) == [new]
    assert (await make_booking(store, openid="o-resident-2")).window == 1   # the old place is free again


async def test_places_taken_upcoming_and_the_days_list(store):
    made = {name: await make_booking(store, openid=openid, guide=guide, center=center, start=start)
            for name, openid, guide, center, start in [
                ("late", "o-1", "社保卡", QINGSHAN, TOMORROW_9 + timedelta(minutes=30)),
                ("early", "o-1", "户籍迁移", QINGSHAN, TOMORROW_9),
                ("elsewhere", "o-2", "社保卡", BAISHUI, TOMORROW_9),
                ("next_day", "o-3", "社保卡", QINGSHAN, TOMORROW_9 + timedelta(days=1)),
                ("cancelled", "o-4", "老年证", QINGSHAN, TOMORROW_9 + timedelta(hours=1))]}
    await store.bookings.cancel(made["cancelled"].code, "o-4", NOW)

    assert await store.bookings.taken(QINGSHAN, day(1)) == {TOMORROW_9: {1}, TOMORROW_9 + timedelta(minutes=30): {1}}
    assert set(await store.bookings.taken(QINGSHAN, day(1), day(2))) == \
        {TOMORROW_9, TOMORROW_9 + timedelta(minutes=30), TOMORROW_9 + timedelta(days=1)}
    assert [b.code for b in await store.bookings.upcoming("o-1", NOW)] == [made["early"].code, made["late"].code]
    assert await store.bookings.upcoming("o-1", TOMORROW_9) == [made["late"]]

    def codes(bookings):
        return [b.code for b in bookings]

    assert codes(await store.bookings.for_day([QINGSHAN], day(1))) == \
        [made[n].code for n in ("early", "late", "cancelled")]
    assert len(await store.bookings.for_day(None, day(1))) == 4
    assert await store.bookings.for_day([], day(1)) == []


async def test_only_its_resident_cancels_a_booking(store):
    booking = await make_booking(store)
    assert await store.bookings.cancel(booking.code, "o-someone-else", NOW) is False
    assert await store.bookings.cancel(booking.code, "o-resident-1", NOW, note="临时有事") is True
    assert await store.bookings.cancel(booking.code, "o-resident-1", NOW) is False
    cancelled = await store.bookings.get(booking.code)
    assert (cancelled.status, cancelled.note) == ("cancelled", "临时有事")
    assert await store.bookings.taken(QINGSHAN, day(1)) == {}
    assert await store.bookings.mark(booking.code, "checked_in", NOW) is None


async def test_a_booking_is_marked_once(store):
    came = await make_booking(store, start=NOW + timedelta(minutes=30))
    missed = [await make_booking(store, guide=guide, start=start, at=start - timedelta(days=1))
              for guide, start in (("户籍迁移", later(days=-10)), ("老年证", later(days=-3)))]

    checked_in = await store.bookings.mark(came.code, "checked_in", NOW)
    assert checked_in.status == "checked_in"
    assert await store.bookings.mark(came.code, "no_show", NOW) is None
    assert await store.bookings.taken(QINGSHAN, TODAY) == {came.start: {1}}   # a checked-in resident keeps the place

    for booking in missed:
        assert (await store.bookings.mark(booking.code, "no_show", NOW)).status == "no_show"
    assert await store.bookings.no_shows("o-resident-1", since=day(-30)) == [day(-3), day(-10)]
    assert await store.bookings.no_shows("o-resident-1", since=day(-5)) == [day(-3)]


async def test_closing_a_day_releases_its_bookings_once(store):
    kept = await make_booking(store, openid="o-1")
    gone = await make_booking(store, openid="o-2", windows=(2,))   # cancelled before: nothing to tell
    await store.bookings.cancel(gone.code, "o-2", NOW)
    elsewhere = await make_booking(store, openid="o-3", center=BAISHUI)

    def notice(b: Booking) -> str:
        return f"{b.start:%m月%d日} 暂停办公，预约 {b.code} 已取消"

    released = await store.bookings.close_day(center=QINGSHAN, day=day(1), reason="停电", by="李站长", now=NOW,
                                              notice=notice)
    assert [b.code for b in released] == [kept.code]
    assert await store.bookings.close_day(center=QINGSHAN, day=day(1), reason="再关一次", by="李站长", now=NOW,
                                          notice=notice) is None
    closed = await store.bookings.get(kept.code)
    assert (closed.status, closed.note) == ("closed", "停电")
    assert (await store.bookings.get(elsewhere.code)).status == "booked"
    assert await notices(store) == [notice(kept)]
    assert await store.bookings.closed_days(QINGSHAN, TODAY, day(6)) == frozenset({day(1)})
    assert await store.bookings.closed_days(BAISHUI, TODAY, day(6)) == frozenset()
    assert (await store.bookings.closure(QINGSHAN, day(1)))["reason"] == "停电"
    assert await store.bookings.closure(QINGSHAN, day(2)) is None


async def test_a_reminder_is_due_once(store):
    reminded = await make_booking(store, openid="o-1", remind_at=later(hours=2))
    cancelled = await make_booking(store, openid="o-2", windows=(2,), remind_at=later(hours=1))
    await store.bookings.cancel(cancelled.code, "o-2", NOW)
    await make_booking(store, openid="o-3", windows=(3,))   # no reminder wanted

    assert await store.bookings.due_reminders(later(hours=1)) == []
    assert await store.bookings.due_reminders(later(hours=3)) == [reminded]
    assert await store.bookings.remind(reminded, "明天 9:00 请到青山村便民服务站", later(hours=3)) is True
    assert await store.bookings.remind(reminded, "又提醒一次", later(hours=3)) is False
    assert await store.bookings.due_reminders(later(hours=4)) == []
    assert await notices(store) == ["明天 9:00 请到青山村便民服务站"]
    assert (await store.bookings.get(reminded.code)).reminded_at == later(hours=3).isoformat()


# staff, sessions and audit

async def add_staff(store: Store, name: str, center: str | None = QINGSHAN, role: str = "clerk"):
    return await store.staff.add(name=name, center=center, role=role, token=f"token-{name}", now=NOW,
                                 password_hash="argon2-hash-1")


async def test_staff_are_added_once_by_name(store):
    member = await add_staff(store, "李办事员")
    with pytest.raises(StoreError):
        await store.staff.add(name="李办事员", center=BAISHUI, role="clerk", token="another-token", now=NOW)

    assert await store.staff.by_token("token-李办事员") == member
    assert await store.staff.by_token("token-nobody") is None
    account = await store.staff.account("李办事员")
    assert (account.member, account.password_hash, account.failed_logins) == (member, "argon2-hash-1", 0)
    assert (account.locked_until, account.disabled, account.created_at) == (None, False, NOW.isoformat())
    assert await store.staff.account_by_id(member.id) == account
    assert await store.staff.account("赵某") is None


async def test_accounts_are_listed_admins_first_then_by_center(store):
    for name, center, role in [("孙办事员", BAISHUI, "clerk"), ("周站长", QINGSHAN, "supervisor"),
                               ("吴管理员", None, "admin"), ("郑办事员", QINGSHAN, "clerk")]:
        await add_staff(store, name, center, role)
    assert [a.member.name for a in await store.staff.accounts()] == ["吴管理员", "孙办事员", "郑办事员", "周站长"]


async def test_wrong_passwords_lock_an_account_at_the_limit(store):
    member = await add_staff(store, "李办事员")
    lock = {"limit": 3, "lock_for": timedelta(minutes=15), "now": NOW}
    assert [await store.staff.failed_login(member.id, **lock) for _ in range(2)] == [False, False]
    assert (await store.staff.account("李办事员")).failed_logins == 2
    await store.staff.signed_in(member.id)
    assert (await store.staff.account("李办事员")).failed_logins == 0

    assert [await store.staff.failed_login(member.id, **lock) for _ in range(3)] == [False, False, True]
    locked = await store.staff.account("李办事员")
    assert (locked.failed_logins, locked.locked_until) == (0, later(minutes=15))

    await store.staff.signed_in(member.id, password_hash="argon2-hash-2")
    opened = await store.staff.account("李办事员")
    assert (opened.locked_until, opened.password_hash) == (None, "argon2-hash-2")


async def test_a_new_password_or_disabling_ends_the_sessions(store):
    member = await add_staff(store, "李办事员")
    other = await add_staff(store, "赵办事员")
    hours = timedelta(hours=8)
    cookies = [(await store.sessions.start(m.id, NOW, hours))[0] for m in (member, member, other)]

    await store.staff.set_password(member.id, "argon2-hash-2")
    assert [await store.sessions.get(c, NOW, hours) is None for c in cookies] == [True, True, False]
    assert (await store.staff.account("李办事员")).password_hash == "argon2-hash-2"

    await store.staff.set_disabled(other.id, True, NOW)
    assert await store.sessions.get(cookies[2], NOW, hours) is None
    assert await store.staff.by_token("token-赵办事员") is None
    assert (await store.staff.account("赵办事员")).disabled is True
    await store.staff.set_disabled(other.id, False, NOW)
    assert await store.staff.by_token("token-赵办事员") == other


async def test_a_session_lasts_until_it_is_idle_expired_or_ended(store):
    member = await add_staff(store, "李办事员")
    idle, lasts = timedelta(minutes=30), timedelta(hours=1)
    kept, csrf = await store.sessions.start(member.id, NOW, lasts)
    idled, _ = await store.sessions.start(member.id, NOW, lasts)
    ended, _ = await store.sessions.start(member.id, NOW, lasts)

    session = await store.sessions.get(kept, later(minutes=20), idle)
    assert (session.member, session.csrf, session.seen_at) == (member, csrf, NOW)
    assert await store.sessions.get(kept, later(minutes=45), idle) is not None   # seen at 20 minutes
    assert await store.sessions.get(kept, later(hours=1), idle) is None          # its time is up
    assert await store.sessions.get(kept, later(minutes=50), idle) is None       # and it was ended

    assert await store.sessions.get(idled, later(minutes=31), idle) is None
    await store.sessions.end(ended)
    assert await store.sessions.get(ended, NOW, idle) is None
    assert await store.sessions.get("a-cookie-never-given", NOW, idle) is None


async def test_expired_sessions_are_purged(store):
    member = await add_staff(store, "李办事员")
    short, _ = await store.sessions.start(member.id, NOW, timedelta(hours=1))
    long, _ = await store.sessions.start(member.id, NOW, timedelta(hours=8))
    assert await store.sessions.purge(later(hours=1)) == 1
    assert await store.sessions.get(long, later(hours=1), timedelta(hours=2)) is not None
    assert await store.sessions.purge(later(hours=1)) == 0


async def test_audit_lines_come_newest_first_for_the_centers_seen(store):
    await add_staff(store, "李办事员", QINGSHAN)
    await add_staff(store, "孙办事员", BAISHUI)
    for n, (actor, action, center) in enumerate([("李办事员", "sign_in", None), ("李办事员", "case_moved", QINGSHAN),
                                                 ("孙办事员", "sign_in", None), ("孙办事员", "case_moved", BAISHUI),
                                                 ("吴管理员", "staff_added", QINGSHAN)]):
        await store.audit.add(actor=actor, role="clerk", action=action, now=later(minutes=n), center=center,
                              target=f"#{n}", detail="详" * 600, address="10.0.0.8")

    lines = await store.audit.lines(centers=None)
    assert [line.target for line in lines] == ["#4", "#3", "#2", "#1", "#0"]
    assert (lines[0].at, lines[0].address, len(lines[0].detail)) == (later(minutes=4).isoformat(), "10.0.0.8", 500)
    assert [line.target for line in await store.audit.lines(centers=[QINGSHAN])] == ["#4", "#1", "#0"]
    assert await store.audit.lines(centers=[]) == []
    assert [line.target for line in await store.audit.lines(centers=None, actor="孙办事员")] == ["#3", "#2"]
    assert [line.target for line in await store.audit.lines(centers=[BAISHUI], action="sign_in")] == ["#2"]
    assert [line.target for line in await store.audit.lines(centers=None, limit=2, before_id=lines[1].id)] == \
        ["#2", "#1"]


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


# migrations

async def test_opening_a_store_again_migrates_nothing(store_url, tmp_path):
    first, second = await asyncio.gather(open_store(store_url, tmp_path), open_store(store_url, tmp_path))
    await first.residents.bind("o-resident-1", QINGSHAN, NOW)
    await first.close()
    await second.close()

    again = await open_store(store_url, tmp_path)
    try:
        assert await again.residents.center_of("o-resident-1") == QINGSHAN
        assert (await make_case(again)).number == "D20261124-0001"
        assert await again.ping() is True
    finally:
        await again.close()


# what several workers share

async def test_the_access_token_is_kept_for_every_worker(store):
    assert await store.tokens.get("wx-app") is None
    await store.tokens.save("wx-app", "token-1", later(hours=2))
    await store.tokens.save("wx-app", "token-2", later(hours=3))
    assert await store.tokens.get("wx-app") == ("token-2", later(hours=3))


async def test_a_hold_lets_one_holder_in_at_a_time(store):
    inside, most = 0, 0

    async def visit():
        nonlocal inside, most
        async with store.db.hold("dialog:o-resident-1"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(visit() for _ in range(5)))
    assert most == 1
    async with store.db.hold("dialog:o-resident-1"):
        async with asyncio.timeout(5):
            async with store.db.hold("dialog:o-resident-2"):   # another key is free meanwhile
                pass
