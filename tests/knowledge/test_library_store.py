"""The bot answers from the store's published guides: a new store is seeded from the knowledge
folder once, however many workers start together, and a guide an editor publishes is what the
bot tells residents after its next look at the store — on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import copy
import shutil
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.config import PROJECT_ROOT
from bot.knowledge.library import Library
from bot.store import open_store

GUIDES = ("老年人优待证办理", "婚姻登记")


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A small knowledge folder of its own: two guides and the intent phrases."""
    kb = tmp_path / "kb"
    (kb / "guides").mkdir(parents=True)
    for name in GUIDES:
        shutil.copy(PROJECT_ROOT / "knowledge" / "guides" / f"{name}.toml", kb / "guides")
    shutil.copy(PROJECT_ROOT / "knowledge" / "intents.toml", kb / "intents.toml")
    return kb


async def _publish(store, name: str, edit, clock: FixedClock) -> None:
    """What the console does when an editor saves a draft and publishes it."""
    record = await store.guides.get(name)
    document = copy.deepcopy(record.content)
    edit(document)
    await store.guides.save_draft(name, record.kind, document, by="editor-1", now=clock.now(), base=record.version)
    assert await store.guides.publish(name, by="editor-1", now=clock.now()) is not None


async def test_a_published_change_is_served_after_the_next_look_at_the_store(kb, store_url, tmp_path):
    clock = FixedClock()
    library = Library(kb)
    store = await open_store(store_url, tmp_path)
    try:
        await library.open(store, now=clock.now())
        assert [v.action for v in await store.guides.versions("老年人优待证办理")] == ["seed"]

        def fee_and_material(document):
            document["fee"] = "工本费5元"
            document["materials"][0]["name"] = "户口簿"

        await _publish(store, "老年人优待证办理", fee_and_material, clock)
        assert library.knowledge.guide("老年人优待证办理").fee == "不收费"    # not looked yet
        assert await library.refresh(store) is True
        guide = library.knowledge.guide("老年人优待证办理")
        assert guide.fee == "工本费5元" and guide.materials[0].name == "户口簿"
        assert library.matcher.match("老年证怎么办").best.name == "老年人优待证办理"
        assert await library.refresh(store) is False    # nothing new since

        assert library.matcher.match("夕阳红卡").decision != "answer"
        await _publish(store, "老年人优待证办理", lambda d: d["aliases"].append("夕阳红卡"), clock)
        assert await library.refresh(store) is True
        await _publish(store, "老年人优待证办理", lambda d: d.update(fee="工本费8元"), clock)   # while it learns
        assert await library.refresh(store) is True
        assert library.knowledge.guide("老年人优待证办理").fee == "工本费8元"
        await library.settled()   # an alias is learned by the matcher, in the background
        assert library.matcher.match("夕阳红卡").best.name == "老年人优待证办理"
        assert library.knowledge.guide("老年人优待证办理").fee == "工本费8元"
    finally:
        await library.stop_learning()
        await store.close()


async def test_a_guide_file_edited_after_seeding_is_not_what_residents_read(kb, tmp_path):
    clock = FixedClock()
    library = Library(kb)
    store = await open_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    try:
        await library.open(store, now=clock.now())
        path = kb / "guides" / "老年人优待证办理.toml"
        path.write_text(path.read_text(encoding="utf-8").replace('fee = "不收费"', 'fee = "工本费5元"'),
                        encoding="utf-8")
        assert await library.reload() is True
        assert library.knowledge.guide("老年人优待证办理").fee == "不收费"
        again = Library(kb)   # a worker started later: the store is not seeded a second time
        await again.open(store, now=clock.now())
        assert again.knowledge.guide("老年人优待证办理").fee == "不收费"
        assert [v.version for v in await store.guides.versions("老年人优待证办理")] == [1]
    finally:
        await library.stop_learning()
        await store.close()


async def test_two_workers_starting_together_on_postgresql_seed_the_store_once(kb, postgres_server, tmp_path):
    url = postgres_server.url_for(await postgres_server.new_schema())
    clock = FixedClock()
    stores = [await open_store(url, tmp_path) for _ in range(2)]
    libraries = [Library(kb), Library(kb)]
    try:
        await asyncio.gather(*(library.open(store, now=clock.now()) for library, store in zip(libraries, stores)))
        for name in GUIDES:
            assert [(v.version, v.action, v.by) for v in await stores[0].guides.versions(name)] == [(1, "seed", "system")]
        assert sorted(r.name for r in await stores[0].guides.list()) == sorted(GUIDES)
        assert all(library.knowledge.guide("婚姻登记") is not None for library in libraries)
    finally:
        for store in stores:
            await store.close()
