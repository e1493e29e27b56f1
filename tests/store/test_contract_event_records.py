"""The store's contract for what WeChat reports without the resident writing: the location it
sends as the chat opens, and its report on a template message (see `contract.py`)."""

from __future__ import annotations

from tests.store.contract import NOW, later


async def test_a_reported_location_is_kept_for_a_known_resident_only(store):
    residents = store.residents
    await residents.seen("o-resident-1", NOW)
    assert await residents.located("o-resident-1", 29.911, 120.047, later(minutes=5)) is True
    kept = await residents.get("o-resident-1")
    assert (kept["latitude"], kept["longitude"], kept["located_at"]) == (29.911, 120.047, later(minutes=5).isoformat())
    assert kept["last_message_at"] == NOW.isoformat() and kept["active"] == 1   # not the resident writing

    await residents.unsubscribed("o-resident-1", later(minutes=6))
    await residents.located("o-resident-1", 29.9, 120.0, later(minutes=7))
    assert (await residents.get("o-resident-1"))["active"] == 0          # a report brings nobody back

    assert await residents.located("o-nobody", 29.911, 120.047, NOW) is False
    assert await residents.get("o-nobody") is None


async def test_a_template_messages_report_finds_its_notice_by_msgid_and_resident(store):
    outbox = store.outbox
    await outbox.add("o-resident-1", ["您的办件已办结。", "请您评价。"], NOW)
    await outbox.add("o-resident-2", ["您的材料已收到。"], NOW)
    first, other = await outbox.claim(NOW, later(minutes=1) - NOW, "pusher-a")
    await outbox.sent(first.id, NOW, wechat_msgid="200228332")
    await outbox.sent(other.id, NOW, wechat_msgid="200228333")

    assert await outbox.reported("o-resident-2", "200228332", "failed:user block", later(minutes=1)) is False
    assert await outbox.reported("o-resident-1", "999", "failed:user block", later(minutes=1)) is False
    assert await outbox.dead() == []

    assert await outbox.reported("o-resident-2", "200228333", "success", later(minutes=1)) is True
    assert await outbox.dead() == []
    assert await outbox.reported("o-resident-1", "200228332", "failed:user block", later(minutes=1)) is True
    [dead] = await outbox.dead()
    assert dead["id"] == first.id and dead["dead_at"] == later(minutes=1).isoformat()
    assert "user block" in dead["last_error"]

    # WeChat reports again: the notice keeps the moment it was first found undelivered
    assert await outbox.reported("o-resident-1", "200228332", "failed:user block", later(minutes=3)) is True
    [dead] = await outbox.dead()
    assert dead["dead_at"] == later(minutes=1).isoformat()
    rows = await store.fetchall("SELECT wechat_msgid, delivery FROM outbox ORDER BY id")
    assert [(r["wechat_msgid"], r["delivery"]) for r in rows] == [
        ("200228332", "failed:user block"), (None, None), ("200228333", "success")]
