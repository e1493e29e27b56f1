"""The embedded database: one SQLite file in WAL mode.

aiosqlite runs reads and multi-statement transactions on its own thread, on one connection;
`transaction()` holds the write lock so the statements of one unit of work are not interleaved
with another coroutine's, and BEGIN IMMEDIATE makes it the only writer — which is also why
`Tx.lock` has nothing left to do here. Lone writes (and `fetch…` of a statement that writes, e.g.
UPDATE … RETURNING, or any read while writes wait to be committed) go to `GroupCommit`, which
commits the writes of many coroutines together on a connection of its own, under the same lock:
on the event loop when the batch is quick, in its own thread when it has to wait (see there).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import aiosqlite

from bot.store.db import Database, Row, Tx, migrations
from bot.store.group_commit import MANY, ROWS, GroupCommit

log = logging.getLogger(__name__)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")


def writes(sql: str) -> bool:
    """Does this statement change the file? (A WITH may; it goes to the writer to be safe.)"""
    return sql.lstrip()[:7].upper().startswith(_WRITES)


def statements(script: str) -> list[str]:
    return [s for s in script.split(";\n") if s.strip() and not all(
        line.strip().startswith("--") or not line.strip() for line in s.splitlines())]


class _SQLiteTx(Tx):
    def __init__(self, db: aiosqlite.Connection):
        self._db = db

    async def execute(self, sql: str, *args: Any) -> int:
        return (await self._db.execute(sql, args)).rowcount

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return await (await self._db.execute(sql, args)).fetchone()

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return list(await (await self._db.execute(sql, args)).fetchall())

    async def lock(self, key: str) -> None:
        """BEGIN IMMEDIATE already made this transaction the only writer."""


async def _patiently(statement, tries: int = 40):
    """Run a statement that SQLite may refuse with "database is locked" without waiting (switching
    the journal to WAL, or taking the write lock, while another process migrates the same new file):
    try again a little later, for up to about ten seconds."""
    for attempt in range(tries):
        try:
            return await statement()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == tries - 1:
                raise
            log.info("the store file is busy (%s); trying again", e)
            await asyncio.sleep(min(0.05 * (attempt + 1), 0.5))


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection, path: Path | str):
        self._db = db
        self._path = path
        self._lock = asyncio.Lock()      # the write lock: a transaction, or one batch of the writer
        self._open_tx = 0                 # transactions open on `_db`: lone reads wait for them
        self._no_tx = asyncio.Event()
        self._no_tx.set()
        self._writer: GroupCommit | None = None   # after `migrate`; none for ":memory:" (one connection only)
        self._holds: dict[str, tuple[asyncio.Lock, int]] = {}   # key → its lock and how many want it

    @classmethod
    async def open(cls, path: Path | str) -> "SQLiteDatabase":
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        db.row_factory = aiosqlite.Row
        try:
            # the busy timeout first: a second process opening the file while the first migrates waits
            for pragma in ("busy_timeout=5000", "journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                await _patiently(lambda: db.execute(f"PRAGMA {pragma}"))
        except BaseException:
            await db.close()   # its thread would otherwise keep the process from ever exiting
            raise
        return cls(db, path)

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()   # what is queued is committed first
        await self._db.close()

    async def migrate(self) -> None:
        async with self._lock:
            await _patiently(lambda: self._db.execute("BEGIN IMMEDIATE"))
            try:
                (version,) = await (await self._db.execute("PRAGMA user_version")).fetchone()
                for number, script in migrations(self.dialect):
                    if number > version:
                        log.info("applying migration %04d", number)
                        for statement in statements(script):
                            await self._db.execute(statement)
                        await self._db.execute(f"PRAGMA user_version={number}")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
        if str(self._path) != ":memory:":
            self._writer = GroupCommit.open(self._path, self._lock)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        if self._writer is not None:
            await self._writer.settled()   # the writes issued before this transaction come first
        async with self._lock:   # the writer waits meanwhile
            self._open_tx += 1
            self._no_tx.clear()
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield _SQLiteTx(self._db)
                except BaseException:
                    await self._db.execute("ROLLBACK")
                    raise
                else:
                    await self._db.execute("COMMIT")
            finally:
                self._open_tx -= 1
                if not self._open_tx:
                    self._no_tx.set()

    async def _outside_transactions(self) -> None:
        """Wait while a multi-statement transaction is open on the shared connection, so a lone
        statement is not taken into it. Lone statements do not queue behind each other: aiosqlite
        runs them in the order they were issued, back to back on its thread."""
        while not self._no_tx.is_set():
            await self._no_tx.wait()

    async def execute(self, sql: str, *args: Any) -> int:
        if self._writer is not None:
            return await self._writer.write(sql, args)
        await self._outside_transactions()
        return (await self._db.execute(sql, args)).rowcount

    async def execute_soon(self, sql: str, *args: Any) -> None:
        if self._writer is not None:
            self._writer.write_soon(sql, args)
        else:
            await self.execute(sql, *args)

    async def fetchall_in_order(self, sql: str, *args: Any) -> list[Row]:
        if self._writer is not None:   # on the writer's connection, after what is queued before it
            return await self._writer.write(sql, args, ROWS)
        return await self.fetchall(sql, *args)

    def others_committed(self) -> int:
        """A count that grows when another connection (this process's transactions, another
        process) has committed to the file since the writer's batch before."""
        return self._writer.others_committed if self._writer is not None else 0

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self._writer is not None:
            await self._writer.write(sql, rows, MANY)
            return
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                await self._db.executemany(sql, rows)
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return next(iter(await self.fetchall(sql, *args)), None)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        if self._writer is not None and (writes(sql) or self._writer.unsettled):
            return await self._writer.write(sql, args, ROWS)   # after the writes not yet committed
        await self._outside_transactions()
        return list(await self._db.execute_fetchall(sql, args))

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """One process uses a SQLite file (`serve --workers` needs PostgreSQL), so a lock per key
        in this process is a lock for every holder."""
        lock, waiting = self._holds.get(key, (asyncio.Lock(), 0))
        self._holds[key] = (lock, waiting + 1)
        try:
            async with lock:
                yield
        finally:
            lock, waiting = self._holds[key]
            if waiting == 1:
                del self._holds[key]
            else:
                self._holds[key] = (lock, waiting - 1)

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"
