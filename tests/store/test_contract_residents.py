"""The store's contract for residents: their dialogs, messages, questions and notices, and what
several workers share (see `contract.py`). Conversations with a person: test_contract_handoffs.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.store import Dialog, open_store, Store
from tests.store.contract import (BAISHUI, FAR, NOW, QINGSHAN, check_unfinished_answers, dead_notice, later,
                                  make_booking, make_case)


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


async def test_a_resident_arriving_is_recorded_with_their_dialog_and_any_conversation_with_a_person(store):
    residents, idle = store.residents, timedelta(minutes=10)
    arrival = await residents.arrived("o-resident-1", NOW, idle)
    assert not arrival.talking and await arrival.dialog() is None
    first = await residents.get("o-resident-1")
    assert (first["active"], first["last_message_at"], first["quota_kind"]) == (1, NOW.isoformat(), "message")

    step = Dialog("booking:day", {"guide": "社保卡", "名字": "王小明"})
    await store.dialogs.set("o-resident-1", step, later(minutes=1))
    await residents.unsubscribed("o-resident-2", NOW)
    arrival = await residents.arrived("o-resident-2", later(minutes=2), idle, grants="event")
    back = await residents.get("o-resident-2")
    assert (back["active"], back["unsubscribed_at"], back["quota_kind"]) == (1, None, "event")   # back again
    assert await (await residents.arrived("o-resident-1", later(minutes=2), idle)).dialog() == step

    handoff, _ = await store.handoffs.open("o-resident-1", "转人工", later(minutes=3), QINGSHAN)
    assert (await residents.arrived("o-resident-1", later(minutes=4), idle)).talking
    assert not (await residents.arrived("o-resident-2", later(minutes=4), idle)).talking
    await store.handoffs.close(handoff["id"], by="staff:李", reason="staff", now=later(minutes=5), note="李 结束了对话",
                               notices=["请为这次人工服务打个分"])
    assert (await residents.arrived("o-resident-1", later(minutes=6), idle)).talking   # their rating is asked
    await store.handoffs.rating_done(handoff["id"])
    arrival = await residents.arrived("o-resident-1", later(minutes=20), idle)
    assert not arrival.talking
    assert await arrival.dialog() is None                                             # idle too long: cleared
    assert await store.dialogs.get("o-resident-1", later(minutes=20), timedelta(days=1)) is None


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


async def test_an_answer_never_recorded_is_found_once_its_claim_is_stale(store):
    await check_unfinished_answers(store)


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


async def test_a_question_is_stored_masked_at_the_residents_center_with_its_numbers_sealed(store):
    await store.residents.bind("o-bound", QINGSHAN, NOW)
    await store.inquiries.log(openid="o-bound", question="低保怎么办 电话138 0000 1234", intent="guide", guide=None,
                              score=None, decision="fallback", at=NOW, default_center=BAISHUI)
    await store.inquiries.log(openid="o-unbound", question="护照 身份证11010519491231002X", intent="guide",
                              guide=None, score=None, decision="fallback", at=NOW, default_center=BAISHUI)
    await store.inquiries.log(openid="o-unbound", question="几点上班", intent="guide", guide=None, score=None,
                              decision="fallback", at=NOW, default_center=BAISHUI)

    stored = [dict(r) for r in await store.fetchall("SELECT question, center, contact FROM inquiries ORDER BY id")]
    assert [(r["question"], r["center"]) for r in stored] == [
        ("低保怎么办 电话138****1234", QINGSHAN), ("护照 身份证110105********002X", BAISHUI), ("几点上班", BAISHUI)]
    assert "13800001234" not in str(stored) and "19491231" not in str(stored) and stored[2]["contact"] is None
    [shown] = await store.inquiries.of_resident("o-bound")
    [opened] = await store.inquiries.of_resident("o-bound", opened=True)
    assert (shown["contact"], opened["contact"]) == (True, "13800001234")
    assert [q["question"] for q in await store.inquiries.unanswered(later(days=-1), centers=[QINGSHAN])] == \
        ["低保怎么办 电话138****1234"]
    assert len(await store.inquiries.unanswered(later(days=-1), centers=[BAISHUI])) == 2
    assert len(await store.inquiries.unanswered(later(days=-1))) == 3


# outbox

LEASE = timedelta(minutes=1)


async def test_claimed_notices_come_oldest_first_one_per_resident_at_a_time(store):
    await store.residents.seen("o-resident-1", later(hours=-1))
    await store.outbox.add("o-resident-1", ["第一条", "第二条", "第三条"], NOW)
    await store.outbox.add("o-resident-2", ["第四条"], NOW)
    assert await store.outbox.pending_count() == 4
    assert [i.text for i in await store.outbox.waiting()] == ["第一条", "第二条", "第三条", "第四条"]

    assert await store.outbox.claim(later(seconds=-1), LEASE, "pusher-a") == []
    first = await store.outbox.claim(NOW, LEASE, "pusher-a", limit=1)
    assert [i.text for i in first] == ["第一条"] and first[0].last_message_at == later(hours=-1)
    second = await store.outbox.claim(NOW, LEASE, "pusher-a")
    assert [(i.text, i.last_message_at) for i in second] == [("第四条", None)]   # 第二条 waits for 第一条
    assert await store.outbox.claim(NOW, LEASE, "pusher-a") == []                # all claimed meanwhile

    await store.outbox.sent(first[0].id, NOW)
    assert [i.text for i in await store.outbox.claim(NOW, LEASE, "pusher-a")] == ["第二条"]
    assert await store.outbox.pending_count() == 3


async def test_a_claim_runs_out_and_another_pusher_takes_the_notice(store):
    await store.outbox.add("o-resident-1", ["审核通过"], NOW)
    (item,) = await store.outbox.claim(NOW, LEASE, "pusher-a")
    assert await store.outbox.claim(NOW + LEASE - timedelta(seconds=1), LEASE, "pusher-a") == []
    (again,) = await store.outbox.claim(NOW + LEASE, LEASE, "pusher-b")   # the first pusher died
    assert again.id == item.id


async def test_a_claim_is_renewed_only_while_it_holds(store):
    await store.outbox.add("o-resident-1", ["审核通过"], NOW)
    await store.outbox.add("o-resident-2", ["已受理"], NOW)
    first, second = await store.outbox.claim(NOW, LEASE, "pusher-a")
    # the owner renews before each send; the claim then lasts a whole lease from there
    assert await store.outbox.renew(first.id, "pusher-a", later(seconds=50), LEASE)
    assert await store.outbox.claim(NOW + LEASE, LEASE, "pusher-b") == [second]   # only the lapsed one moves
    assert not await store.outbox.renew(first.id, "pusher-b", later(seconds=55), LEASE)   # not b's
    # a's claim on the second ran out and b took it: a must leave it alone
    assert not await store.outbox.renew(second.id, "pusher-a", NOW + LEASE, LEASE)
    assert await store.outbox.renew(second.id, "pusher-b", NOW + LEASE, LEASE)
    await store.outbox.sent(first.id, later(seconds=51))
    assert not await store.outbox.renew(first.id, "pusher-a", later(seconds=52), LEASE)   # sent: nothing to renew


async def test_a_wave_of_claims_is_renewed_and_marked_sent_at_once(store):
    for n in (1, 2, 3):
        await store.outbox.add(f"o-resident-{n}", [f"通知{n}"], NOW)
    first, second, third = await store.outbox.claim(NOW, LEASE, "pusher-a")
    assert await store.outbox.claim(NOW + LEASE, LEASE, "pusher-b") == [first, second, third]   # a's lapsed
    # only the claims still held by the renewer are renewed: here b's, not a's
    assert await store.outbox.renew_each([first.id, second.id], "pusher-a", NOW + LEASE, LEASE) == set()
    assert await store.outbox.renew_each([first.id, second.id], "pusher-b", NOW + LEASE, LEASE) == {first.id, second.id}
    await store.outbox.sent_each([first.id, second.id], later(seconds=70))
    rows = await store.fetchall("SELECT id, sent_at, attempts, claimed_by FROM outbox ORDER BY id")
    assert [(r["sent_at"], r["attempts"], r["claimed_by"]) for r in rows] == [
        (later(seconds=70).isoformat(), 1, None), (later(seconds=70).isoformat(), 1, None), (None, 0, "pusher-b")]
    assert await store.outbox.renew_each([first.id, third.id], "pusher-b", later(seconds=71), LEASE) == {third.id}


async def test_the_quota_is_drawn_for_a_wave_of_residents_at_once(store):
    quota = {"message": (2, timedelta(hours=48))}
    for n in (1, 2):
        await store.residents.seen(f"o-resident-{n}", NOW)
    wave = ["o-resident-1", "o-resident-2", "o-nobody"]
    assert await store.residents.draw_each(wave, later(minutes=1), quota) == {"o-resident-1", "o-resident-2"}
    assert await store.residents.draw_each(["o-resident-1"], later(minutes=2), quota) == {"o-resident-1"}
    assert await store.residents.draw_each(wave, later(minutes=3), quota) == {"o-resident-2"}   # 1 spent its two
    assert await store.residents.draw_each(wave, later(hours=49), quota) == set()              # the window closed
    assert await store.residents.draw_each([], NOW, quota) == set()


async def test_pushers_claiming_at_once_never_share_a_notice(store):
    for n in range(30):
        await store.outbox.add(f"o-resident-{n}", [f"通知{n}"], NOW)
    batches = await asyncio.gather(*(store.outbox.claim(NOW, LEASE, "pusher-a", limit=7) for _ in range(6)))
    claimed = [item.id for batch in batches for item in batch]
    assert len(claimed) == len(set(claimed)) == 30


async def test_a_failed_notice_waits_for_its_retry_or_dies(store):
    await store.outbox.add("o-resident-1", ["审核通过"], NOW)
    (item,) = await store.outbox.claim(NOW, LEASE, "pusher-a")

    await store.outbox.failed(item.id, "-1 system busy", later(minutes=5), NOW)
    assert await store.outbox.claim(later(minutes=4), LEASE, "pusher-a") == []
    (retry,) = await store.outbox.claim(later(minutes=5), LEASE, "pusher-a")
    assert (retry.id, retry.attempts) == (item.id, 1)
    assert await store.outbox.dead() == []

    await store.outbox.failed(item.id, "48001 api unauthorized", None, later(minutes=5))
    assert await store.outbox.claim(FAR, LEASE, "pusher-a") == []
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


# migrations

async def test_opening_a_store_again_migrates_nothing(store_url, tmp_path):
    opened = await asyncio.gather(open_store(store_url, tmp_path), open_store(store_url, tmp_path),
                                  return_exceptions=True)
    try:
        first, second = opened
        assert isinstance(first, Store) and isinstance(second, Store), opened
        await first.residents.bind("o-resident-1", QINGSHAN, NOW)
    finally:
        for store in opened:
            if isinstance(store, Store):
                await store.close()

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


async def test_a_dead_notice_resent_is_owed_again_for_another_day(store):
    gone = await dead_notice(store, "o-resident-1")
    await store.residents.bind("o-resident-2", BAISHUI, NOW)
    other = await dead_notice(store, "o-resident-2", "另一条")
    assert await store.outbox.resend(later(hours=30), centers=[QINGSHAN], item_id=other) == []   # not theirs
    assert await store.outbox.resend(later(hours=30), centers=[QINGSHAN], item_id=gone) == []    # nobody bound
    await store.residents.bind("o-resident-1", QINGSHAN, NOW)
    assert await store.outbox.resend(later(hours=30), centers=[QINGSHAN], item_id=gone) == [gone]
    (owed,) = await store.outbox.claim(later(hours=30), LEASE, "pusher-a")
    assert (owed.id, owed.created_at) == (gone, later(hours=30))   # retried for a day from the resend
    assert [d["id"] for d in await store.outbox.dead()] == [other]
    assert await store.outbox.resend(later(hours=31), since=later(hours=-1)) == [other]
    assert await store.outbox.resend(later(hours=31), since=later(hours=-1)) == []
