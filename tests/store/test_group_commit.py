"""The SQLite store's writer: the lone writes of every coroutine committed together, none lost,
each in the order it was issued."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime

import pytest

from bot.clock import TZ
from bot.store import group_commit, open_store
from bot.vault import Vault

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)


def _count(path, sql: str) -> int:
    """Read the file itself, on a connection of its own: what a restarted process would find."""
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchone()[0]


async def test_writes_not_waited_for_are_all_in_the_file_after_a_clean_close(tmp_path):
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path, Vault.from_env())
    for n in range(300):
        await store.residents.seen(f"resident-{n}", NOW)   # queued for the writer: not waited for
        await store.inquiries.log(openid=f"resident-{n}", question="老年证怎么办", intent="guide",
                                  guide="老年人优待证", score=0.9, decision="answer", at=NOW)
    await store.close()
    assert _count(tmp_path / "fd.db", "SELECT count(*) FROM residents") == 300
    assert _count(tmp_path / "fd.db", "SELECT count(*) FROM inquiries") == 300


async def test_a_statement_that_fails_fails_alone_and_the_others_of_its_batch_stand(tmp_path):
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path, Vault.from_env())
    try:
        insert = "INSERT INTO residents(openid, active, first_seen, last_message_at) VALUES (?, 1, ?, ?)"
        outcomes = await asyncio.gather(
            store.write(insert, "resident-1", "2026-11-24", "2026-11-24"),
            store.write(insert, "resident-1", "2026-11-24", "2026-11-24"),   # the same resident again
            store.write(insert, "resident-2", "2026-11-24", "2026-11-24"),
            return_exceptions=True)
        assert outcomes[0] == 1 and outcomes[2] == 1
        assert isinstance(outcomes[1], sqlite3.IntegrityError)
        stored = {r["openid"] for r in await store.fetchall("SELECT openid FROM residents")}
        assert stored == {"resident-1", "resident-2"}
    finally:
        await store.close()


async def test_a_transaction_comes_after_the_writes_issued_before_it(tmp_path):
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path, Vault.from_env())
    try:
        await store.write_soon("INSERT INTO dialogs(openid, state, data, updated_at) VALUES (?, ?, ?, ?)",
                               "resident-1", "booking:day", "{}", "2026-11-24T10:00:00+08:00")
        async with store.transaction() as db:   # e.g. the resident unsubscribes: their dialog goes
            assert await db.execute("DELETE FROM dialogs WHERE openid=?", "resident-1") == 1
        assert _count(tmp_path / "fd.db", "SELECT count(*) FROM dialogs") == 0
    finally:
        await store.close()


@pytest.mark.parametrize("reads", ["fetchone", "fetchall"])
async def test_a_write_not_waited_for_is_read_back_at_once(tmp_path, reads):
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path, Vault.from_env())
    try:
        await store.residents.seen("resident-1", NOW)
        rows = await getattr(store, reads)("SELECT openid FROM residents")
        assert (rows["openid"] if reads == "fetchone" else rows[0]["openid"]) == "resident-1"
    finally:
        await store.close()


class Ticks:
    """Counts the turns a task sleeping 10 ms gets: how much the event loop could serve others."""

    def __init__(self):
        self.count = 0
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.count += 1

    def stop(self) -> None:
        self._task.cancel()


async def test_while_another_process_holds_the_file_a_write_waits_and_the_loop_goes_on(tmp_path):
    """A command run beside the server (another connection) holds the write lock: the writes wait
    for it without stopping the event loop, and are committed once it lets go."""
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path, Vault.from_env())
    other = sqlite3.connect(tmp_path / "fd.db", isolation_level=None)
    ticks = Ticks()
    try:
        other.execute("BEGIN IMMEDIATE")
        insert = "INSERT INTO residents(openid, active, first_seen, last_message_at) VALUES (?, 1, ?, ?)"
        written = asyncio.gather(*(store.write(insert, f"resident-{n}", "2026-11-24", "2026-11-24") for n in range(3)))
        await asyncio.sleep(0.3)
        assert not written.done()      # still waiting for the lock …
        assert ticks.count >= 5        # … and the loop served others meanwhile
        other.execute("COMMIT")
        assert await asyncio.wait_for(written, 10) == [1, 1, 1]
        assert _count(tmp_path / "fd.db", "SELECT count(*) FROM residents") == 3
        await store.residents.seen("resident-4", NOW)   # and the writer is back on its quick way
        await store.close()
        assert _count(tmp_path / "fd.db", "SELECT count(*) FROM residents") == 4
    finally:
        ticks.stop()
        other.close()


async def test_the_write_ahead_log_starts_again_after_a_checkpoint(tmp_path, monkeypatch):
    """The writer checkpoints every CHECKPOINT_BATCHES batches: the WAL does not keep growing
    under a steady stream of writes (it holds what came after the last checkpoint only)."""
    monkeypatch.setattr(group_commit, "CHECKPOINT_BATCHES", 10)
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path, Vault.from_env())
    try:
        insert = "INSERT INTO residents(openid, active, first_seen, last_message_at) VALUES (?, 1, ?, ?)"
        for n in range(200):   # one at a time: a batch each
            await store.write(insert, f"resident-{n}", "2026-11-24", "2026-11-24")
        with sqlite3.connect(tmp_path / "fd.db") as db:
            _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert frames < 60, frames   # 200 writes of two pages or more each without checkpoints
        assert _count(tmp_path / "fd.db", "SELECT count(*) FROM residents") == 200
    finally:
        await store.close()


async def test_a_long_read_behind_queued_writes_does_not_hold_up_the_loop(tmp_path):
    """A read issued while writes wait to be committed goes to the writer, after them. A long one
    (a report over a year of inquiries) is carried on in the writer's thread: the loop goes on
    answering meanwhile, and the read's rows are all there."""
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path, Vault.from_env())
    ticks = Ticks()
    try:
        await store.residents.seen("resident-1", NOW)   # queued, not waited for: the read comes after it
        await asyncio.sleep(0.02)
        ticks.count = 0
        rows = await store.fetchall("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000)"
                                    " SELECT count(*) AS c, (SELECT count(*) FROM residents) AS r FROM n")
        assert (rows[0]["c"], rows[0]["r"]) == (3000000, 1)
        assert ticks.count >= 5, ticks.count   # the loop ran its other work while the read was made
    finally:
        ticks.stop()
        await store.close()


async def test_a_reader_holding_an_old_snapshot_does_not_hold_up_the_writes(tmp_path, monkeypatch):
    """A long report keeps reading an older snapshot while residents write: the checkpoints
    copy what they can and let the writes go on, instead of waiting for the report to end."""
    monkeypatch.setattr(group_commit, "CHECKPOINT_BATCHES", 10)
    store = await open_store(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path, Vault.from_env())
    report = sqlite3.connect(tmp_path / "fd.db", isolation_level=None)
    try:
        report.execute("BEGIN")
        report.execute("SELECT count(*) FROM residents").fetchone()   # its snapshot is held from here
        insert = "INSERT INTO residents(openid, active, first_seen, last_message_at) VALUES (?, 1, ?, ?)"

        async def write_all() -> None:
            for n in range(50):   # five checkpoints while the report reads
                await store.write(insert, f"resident-{n}", "2026-11-24", "2026-11-24")

        await asyncio.wait_for(write_all(), 10)   # each checkpoint waiting 5 s for the report: 25 s
        assert report.execute("SELECT count(*) FROM residents").fetchone()[0] == 0   # its snapshot
        report.execute("COMMIT")
        assert _count(tmp_path / "fd.db", "SELECT count(*) FROM residents") == 50
    finally:
        report.close()
        await store.close()
