"""The store's contract for conversations with a person (转人工), on SQLite and PostgreSQL: one
conversation per resident at a time, one clerk per conversation, messages in order, a clerk's
message queued with it, closing and rating once; and yesterday's callback requests migrated."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.store import open_store
from bot.store.handoffs import CURRENT, Said, Taken
from bot.vault import Vault
from tests.store.contract import BAISHUI, NOW, QINGSHAN, later, notices


async def test_a_resident_has_one_conversation_at_a_time_starting_with_what_came_before(store):
    before = [Said("resident", "低保怎么申请", later(minutes=-5)), Said("bot", "机器人按《低保》作了答复", later(minutes=-5))]
    first, new = await store.handoffs.open("o-1", "转人工 我电话 138-0000-1234", NOW, QINGSHAN, before=before)
    again, new_again = await store.handoffs.open("o-1", "人呢", later(minutes=1), QINGSHAN)
    assert new and not new_again and again["id"] == first["id"]
    assert first["question"] == "转人工 我电话 138****1234" and first["status"] == "waiting"   # kept masked
    said = [(m["sender"], m["text"]) for m in await store.handoffs.messages(first["id"])]
    assert said == [("resident", "低保怎么申请"), ("bot", "机器人按《低保》作了答复"),
                    ("resident", "转人工 我电话 138****1234")]
    both = await asyncio.gather(*(store.handoffs.open("o-2", "有人吗", NOW, BAISHUI) for _ in range(4)))
    assert sum(new for _, new in both) == 1 and len({h["id"] for h, _ in both}) == 1


async def test_the_resident_is_told_to_wait_once_until_a_clerk_writes(store):
    handoff, _ = await store.handoffs.open("o-1", "转人工", NOW, QINGSHAN)
    assert await store.handoffs.hear(handoff["id"], Said("resident", "在吗", later(minutes=1))) is True
    assert await store.handoffs.hear(handoff["id"], Said("resident", "[图片]", later(minutes=2), kind="image",
                                                         media_id="m-1")) is False
    await store.handoffs.write(handoff["id"], "李", "您好", "您好——青山村工作人员", later(minutes=3),
                               topic={"number": "-", "matter": "回复", "status": "有新回复"})
    assert await notices(store, "o-1") == ["您好——青山村工作人员"]
    [item] = await store.outbox.waiting("o-1")
    assert item.topic == {"number": "-", "matter": "回复", "status": "有新回复"}
    lines = await store.handoffs.messages(handoff["id"])
    assert [(m["sender"], m["text"], m["media_id"], m["staff"]) for m in lines[1:]] == [
        ("resident", "在吗", None, None), ("resident", "[图片]", "m-1", None), ("staff", "您好", None, "李")]
    assert [m["id"] for m in await store.handoffs.messages(handoff["id"], after=lines[1]["id"])] == \
        [m["id"] for m in lines[2:]]
    fresh = await store.handoffs.get(handoff["id"])
    assert (fresh["status"], fresh["taken_by"], fresh["first_reply_at"]) == ("open", "李", later(minutes=3).isoformat())


async def test_two_clerks_taking_the_same_conversation_one_gets_it(store):
    handoff, _ = await store.handoffs.open("o-1", "转人工", NOW, QINGSHAN)
    results = await asyncio.gather(*(store.handoffs.take(handoff["id"], name, later(minutes=1))
                                     for name in ("李", "赵", "钱")), return_exceptions=True)
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, Taken)]
    assert len(won) == 1 and len(lost) == 2 and all(t.handoff["taken_by"] == won[0]["taken_by"] for t in lost)
    assert (await store.handoffs.take(handoff["id"], won[0]["taken_by"], later(minutes=2)))["status"] == "open"
    with pytest.raises(Taken):
        other = "赵" if won[0]["taken_by"] != "赵" else "钱"
        await store.handoffs.write(handoff["id"], other, "我来", "我来", later(minutes=3))
    assert await notices(store, "o-1") == []


async def test_closing_and_rating_happen_once(store):
    handoff, _ = await store.handoffs.open("o-1", "转人工", NOW, QINGSHAN)
    closed = await store.handoffs.close(handoff["id"], by="staff:李", reason="staff", now=later(minutes=9),
                                        note="李 结束了对话", notices=["请为这次人工服务打个分"])
    assert closed["status"] == "closed" and closed["rating_asked"] == 1
    assert await store.handoffs.close(handoff["id"], by="resident", reason="resident", now=later(minutes=10)) is None
    assert await notices(store, "o-1") == ["请为这次人工服务打个分"]
    assert (await store.handoffs.current("o-1"))["id"] == handoff["id"]     # the rating is asked
    assert await store.handoffs.rate(handoff["id"], 4, "挺好", later(minutes=11)) is True
    assert await store.handoffs.rate(handoff["id"], 1, "", later(minutes=12)) is False
    assert await store.handoffs.current("o-1") is None
    assert (await store.handoffs.get(handoff["id"]))["rating"] == 4
    following, new = await store.handoffs.open("o-1", "又有问题", later(hours=1), QINGSHAN)
    assert new and following["id"] != handoff["id"]


async def test_conversations_are_listed_counted_queued_and_transferred_by_center(store):
    ids = {}
    for n, (openid, center) in enumerate([("o-1", QINGSHAN), ("o-2", BAISHUI), ("o-3", QINGSHAN)]):
        ids[openid] = (await store.handoffs.open(openid, "请回电话", later(minutes=n), center))[0]["id"]
    await store.handoffs.take(ids["o-1"], "李", later(minutes=5))
    assert [h["id"] for h in await store.handoffs.listed(None, [QINGSHAN])] == [ids["o-1"], ids["o-3"]]
    assert [h["id"] for h in await store.handoffs.waiting()] == [ids["o-2"], ids["o-3"]]
    assert await store.handoffs.listed(None, []) == []
    assert await store.handoffs.counts([QINGSHAN]) == {"waiting": 1, "open": 1}
    assert await store.handoffs.place(await store.handoffs.get(ids["o-3"])) == 1   # o-1 is being served
    moved = await store.handoffs.transfer(ids["o-1"], BAISHUI, "李 把对话转给了白水村", later(minutes=6))
    assert (moved["center"], moved["status"], moved["taken_by"]) == (BAISHUI, "waiting", None)
    assert await store.handoffs.place(moved) == 1   # it keeps its place: it has waited longest
    assert await store.handoffs.place(await store.handoffs.get(ids["o-2"])) == 2
    assert await store.handoffs.counts([BAISHUI]) == {"waiting": 2, "open": 0}


async def test_the_clocks_find_long_waits_once_and_idle_conversations(store):
    waiting, _ = await store.handoffs.open("o-1", "转人工", NOW, QINGSHAN)
    talking, _ = await store.handoffs.open("o-2", "转人工", NOW, QINGSHAN)
    await store.handoffs.write(talking["id"], "李", "您好", "您好", later(minutes=1))
    assert [h["id"] for h in await store.handoffs.waiting_since(later(minutes=10))] == [waiting["id"]]
    assert await store.handoffs.wait_over(waiting["id"], later(minutes=10)) is True
    assert await store.handoffs.wait_over(waiting["id"], later(minutes=11)) is False
    assert await store.handoffs.waiting_since(later(minutes=20)) == []
    assert await store.handoffs.idle_since(later(minutes=1)) == []
    assert [h["id"] for h in await store.handoffs.idle_since(later(minutes=2))] == [talking["id"]]


async def test_canned_replies_are_kept_per_center(store):
    one = await store.canned.add(QINGSHAN, "您好，请问有什么可以帮您？", "李", NOW)
    await store.canned.add(BAISHUI, "请稍等，我查一下", "赵", NOW)
    assert [c["text"] for c in await store.canned.of([QINGSHAN])] == ["您好，请问有什么可以帮您？"]
    assert len(await store.canned.of(None)) == 2
    assert await store.canned.remove(one) is True and await store.canned.remove(one) is False
    assert await store.canned.of([QINGSHAN]) == []


async def test_yesterdays_callback_requests_become_conversations(store_url, tmp_path, monkeypatch):
    """A store written before conversations existed: an answered request becomes a closed
    conversation with its question and answer, a waiting one waits on."""
    from bot.store import postgres, sqlite
    from bot.store.db import migrations

    last = {"sqlite": 12, "postgresql": 6}
    for module in (sqlite, postgres):
        monkeypatch.setattr(module, "migrations", lambda dialect: [m for m in migrations(dialect)
                                                                   if m[0] <= last[dialect]])
    old = await open_store(store_url, tmp_path, Vault.from_env())
    try:
        await old.write("INSERT INTO handoff_requests(openid, question, status, created_at, center, answer, "
                        "answered_by, answered_at) VALUES (?, ?, 'answered', ?, ?, ?, ?, ?)", "o-1", "低保怎么申请",
                        NOW.isoformat(), QINGSHAN, "带户口本来", "李", later(minutes=30).isoformat())
        await old.write("INSERT INTO handoff_requests(openid, question, created_at, center) VALUES (?, ?, ?, ?)",
                        "o-2", "请回电", later(hours=1).isoformat(), BAISHUI)
    finally:
        await old.close()
    monkeypatch.undo()
    store = await open_store(store_url, tmp_path, Vault.from_env())
    try:
        [answered] = await store.handoffs.listed("closed")
        assert (answered["openid"], answered["center"], answered["taken_by"], answered["close_reason"]) == \
            ("o-1", QINGSHAN, "李", "answered")
        said = [(m["sender"], m["text"])
                for m in await store.handoffs.messages(answered["id"])]
        assert said == [("resident", "低保怎么申请"), ("staff", "带户口本来")]
        [waiting] = await store.handoffs.waiting()
        assert (waiting["openid"], waiting["question"], waiting["center"]) == ("o-2", "请回电", BAISHUI)
        fresh, new = await store.handoffs.open("o-3", "转人工", later(hours=2), QINGSHAN)
        assert new and fresh["id"] > waiting["id"]   # new ids follow the migrated ones
        assert json.dumps(await store.handoffs.counts(None)) == '{"waiting": 2, "open": 0}'
    finally:
        await store.close()


async def test_whether_a_resident_is_talking_with_a_person_is_found_by_an_index_not_a_scan(store):
    """Asked at every message: it must not read every conversation ever held."""
    query = f"SELECT 1 FROM handoffs WHERE {CURRENT} ORDER BY id DESC LIMIT 1"
    async with store.db.transaction() as tx:
        if store.db.dialect == "postgresql":
            await tx.execute("SET LOCAL enable_seqscan = off")   # a tiny table is scanned whatever its indexes
            plan = "\n".join(r[0] for r in await tx.fetchall("EXPLAIN " + query, "o-resident-1"))
            assert "Index Cond: (openid =" in plan and "Seq Scan" not in plan, plan
        else:
            plan = " ".join(r[3] for r in await tx.fetchall("EXPLAIN QUERY PLAN " + query, "o-resident-1"))
            assert "USING" in plan and "INDEX" in plan and not plan.startswith("SCAN handoffs"), plan
