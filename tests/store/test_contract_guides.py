"""The store's contract for the guides editors keep, on SQLite and PostgreSQL: a draft apart
from what residents read, versions in order, roll back as a new version, a stale draft refused,
seeding once, imports that skip what did not change, and the revision every worker polls."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import open_store
from bot.store.guides import GuideConflict
from bot.vault import Vault
from tests.store.contract import NOW, later


def guide(name: str = "低保申请", fee: str = "不收费", **more) -> dict:
    return {"name": name, "fee": fee, "materials": [{"name": "身份证", "form": "原件", "copies": 1, "required": True}],
            "examples": ["低保怎么办"], **more}


async def test_a_draft_stays_apart_until_it_is_published_as_the_next_version(store):
    before = await store.examples.revision()
    first = await store.guides.save_draft("低保申请", "guide", guide(), by="编辑甲", now=NOW)
    assert first.version is None and first.content is None and first.draft["fee"] == "不收费"
    assert await store.guides.published() == []
    v1 = await store.guides.publish("低保申请", by="编辑甲", now=later(minutes=1))
    assert v1.version == 1 and await store.examples.revision() == before + 1
    await store.guides.save_draft("低保申请", "guide", guide(fee="工本费5元"), by="编辑乙", now=later(minutes=2), base=1)
    record = await store.guides.get("低保申请")
    assert record.content["fee"] == "不收费" and record.draft["fee"] == "工本费5元" and record.draft_base == 1
    assert await store.guides.published() == [("guide", guide())]   # residents still read version 1
    v2 = await store.guides.publish("低保申请", by="编辑乙", now=later(minutes=3))
    record = await store.guides.get("低保申请")
    assert v2.version == 2 and record.draft is None and record.content["fee"] == "工本费5元"
    assert record.updated_by == "编辑乙" and await store.examples.revision() == before + 2
    assert [(v.version, v.by, v.action) for v in await store.guides.versions("低保申请")] == [
        (2, "编辑乙", "publish"), (1, "编辑甲", "publish")]
    assert await store.guides.publish("低保申请", by="编辑乙", now=later(minutes=4)) is None   # nothing to publish


async def test_a_draft_made_from_an_older_version_is_refused_and_nothing_is_written(store):
    await store.guides.save_draft("低保申请", "guide", guide(), by="编辑甲", now=NOW)
    await store.guides.publish("低保申请", by="编辑甲", now=NOW)
    await store.guides.save_draft("低保申请", "guide", guide(fee="A"), by="编辑甲", now=later(minutes=1), base=1)
    await store.guides.publish("低保申请", by="编辑甲", now=later(minutes=2))
    with pytest.raises(GuideConflict) as refused:
        await store.guides.save_draft("低保申请", "guide", guide(fee="B"), by="编辑乙", now=later(minutes=3), base=1)
    assert refused.value.latest == 2
    record = await store.guides.get("低保申请")
    assert record.draft is None and record.content["fee"] == "A"


async def test_roll_back_publishes_the_old_content_again_as_a_new_version_and_keeps_the_draft(store):
    await store.guides.save_draft("低保申请", "guide", guide(), by="编辑甲", now=NOW)
    await store.guides.publish("低保申请", by="编辑甲", now=NOW)
    await store.guides.save_draft("低保申请", "guide", guide(fee="错的"), by="编辑甲", now=later(minutes=1))
    await store.guides.publish("低保申请", by="编辑甲", now=later(minutes=1))
    await store.guides.save_draft("低保申请", "guide", guide(fee="还在改"), by="编辑乙", now=later(minutes=2))
    back = await store.guides.rollback("低保申请", 1, by="管理员", now=later(minutes=3))
    assert back.version == 3 and back.from_version == 1 and back.action == "rollback"
    record = await store.guides.get("低保申请")
    assert record.content["fee"] == "不收费" and record.draft["fee"] == "还在改"
    assert await store.guides.rollback("低保申请", 9, by="管理员", now=later(minutes=4)) is None
    assert [v.version for v in await store.guides.versions("低保申请")] == [3, 2, 1]


async def test_a_new_store_is_seeded_once_even_when_several_workers_start_together(store_url, tmp_path):
    stores = [await open_store(store_url, tmp_path, Vault.from_env()) for _ in range(3)]
    try:
        items = [("guide", guide()), ("bundle", {"name": "退休一件事", "steps": [], "examples": []})]
        seeded = await asyncio.gather(*(s.guides.seed(items, by="system", now=NOW) for s in stores))
        assert sorted(seeded) == [0, 0, 2]
        assert [(r.name, r.kind, r.version) for r in await stores[0].guides.list()] == [
            ("低保申请", "guide", 1), ("退休一件事", "bundle", 1)]
        assert [v.action for v in await stores[1].guides.versions("低保申请")] == ["seed"]
    finally:
        for s in stores:
            await s.close()


async def test_an_import_changes_only_what_differs(store):
    await store.guides.seed([("guide", guide()), ("guide", guide("老年证"))], by="system", now=NOW)
    revision = await store.examples.revision()
    changed = await store.guides.put([("guide", guide()), ("guide", guide("老年证", fee="5元"))], by="编辑甲",
                                     now=later(minutes=1), publish=False)
    assert changed == ["老年证"] and await store.examples.revision() == revision   # a draft reaches no resident
    assert (await store.guides.get("老年证")).draft["fee"] == "5元"
    assert await store.guides.put([("guide", guide("老年证", fee="5元"))], by="编辑甲", now=later(minutes=2),
                                  publish=False) == []
    changed = await store.guides.put([("guide", guide("老年证", fee="5元")), ("guide", guide("新事项"))], by="编辑甲",
                                     now=later(minutes=3), publish=True)
    assert changed == ["老年证", "新事项"] and await store.examples.revision() == revision + 1
    assert [v.action for v in await store.guides.versions("老年证")] == ["import", "seed"]
    assert (await store.guides.get("老年证")).draft is None


async def test_confirmed_points_are_kept_by_their_words_with_who_and_when(store):
    await store.guides.seed([("guide", guide(local_check=["本县标准", "是否可以代办"]))], by="system", now=NOW)
    await store.guides.confirm("低保申请", "本县标准", by="编辑甲", now=later(days=1), note="每人每月680元")
    again = await store.guides.confirm("低保申请", "本县标准", by="编辑乙", now=later(days=2), note="每人每月700元")
    assert again.note == "每人每月700元"
    assert [(c.point, c.by, c.note) for c in await store.guides.checks("低保申请")] == [("本县标准", "编辑乙", "每人每月700元")]
    assert (await store.guides.get("低保申请")).reviewed_by == "编辑乙"


async def test_discarding_a_draft_keeps_what_is_published(store):
    await store.guides.seed([("guide", guide())], by="system", now=NOW)
    await store.guides.save_draft("低保申请", "guide", guide(fee="草稿"), by="编辑甲", now=NOW)
    await store.guides.save_draft("新事项", "guide", guide("新事项"), by="编辑甲", now=NOW)
    assert await store.guides.discard_draft("低保申请") and await store.guides.discard_draft("新事项")
    assert (await store.guides.get("低保申请")).content["fee"] == "不收费"
    assert await store.guides.get("新事项") is None
