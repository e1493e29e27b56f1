"""SQLite's own ways: a second process opening a new store file while the first still migrates it."""

from __future__ import annotations

import asyncio
import sqlite3

from bot.store import open_store


async def test_a_store_opened_while_another_process_writes_its_new_file_waits_its_turn(tmp_path):
    """SQLite refuses to switch a file to WAL while another connection writes it, at once and
    whatever the busy timeout; the store tries again instead of failing to start."""
    path = tmp_path / "frontdesk.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE elsewhere (x)")
    release = asyncio.get_running_loop().call_later(0.3, lambda: other.execute("COMMIT"))
    try:
        store = await open_store(f"sqlite:///{path}", tmp_path)
        try:
            assert await store.ping()
            assert (await store.fetchone("PRAGMA journal_mode"))["journal_mode"] == "wal"
        finally:
            await store.close()
    finally:
        release.cancel()
        other.close()
