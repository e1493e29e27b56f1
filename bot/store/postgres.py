"""PostgreSQL through asyncpg: for a county that runs several workers on several machines.

The repositories' `?` placeholders become `$1, $2, …` (once per statement text, then cached).
A pool of connections serves the workers' coroutines; a connection lost when the server
restarts is replaced by the pool on the next use. A connection given back to the pool is not
reset by a query of its own (asyncpg's default: `RESET ALL`, `UNLISTEN *` … — a trip to the
server after every statement): nothing here changes a session's state but `hold`, which undoes
its own lock, and asyncpg still rolls back a transaction left open. Transactions run at READ
COMMITTED, as PostgreSQL's default: the SQL is written so that each check-then-write either happens in one
statement (a conditional UPDATE, ON CONFLICT) or under `Tx.lock`, a transaction-scoped advisory
lock on the resident.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, AsyncIterator

import asyncpg

from bot.store.db import Database, Row, Tx, migrations

log = logging.getLogger(__name__)

MIGRATION_LOCK = 7_461_001   # an advisory lock id: one worker migrates, the others wait for it
LOCK = "SELECT pg_advisory_lock(hashtextextended($1, 0))"
UNLOCK = "SELECT pg_advisory_unlock(hashtextextended($1, 0))"


@lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """`?` → `$1, $2, …`, leaving quoted text alone."""
    out, n, quote = [], 0, ""
    for ch in sql:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


def _count(status: str) -> int:
    """Rows changed, from asyncpg's command tag ("UPDATE 1", "INSERT 0 1", "DELETE 3")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PostgresTx(Tx):
    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        return _count(await self._conn.execute(numbered(sql), *args))

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return await self._conn.fetchrow(numbered(sql), *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.fetch(numbered(sql), *args))

    async def lock(self, key: str) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


async def _as_left(conn: asyncpg.Connection) -> None:
    """A connection given back to its pool: nothing to reset (see the module's docstring)."""


async def _or_end_session(conn: asyncpg.Connection, sql: str, key: str) -> None:
    try:
        await conn.execute(sql, key)
    except BaseException:
        conn.terminate()
        raise


class PostgresDatabase(Database):
    dialect = "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: asyncpg.Pool, holds: asyncpg.Pool):
        self._pool = pool
        self._holds = holds   # connections that only hold locks, so holding never starves the queries

    @classmethod
    async def open(cls, url: str, max_size: int = 10, max_holds: int = 20) -> "PostgresDatabase":
        pool = await asyncpg.create_pool(url, min_size=1, max_size=max_size, command_timeout=30, reset=_as_left)
        try:
            holds = await asyncpg.create_pool(url, min_size=0, max_size=max_holds, command_timeout=30,
                                              reset=_as_left)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, holds)

    async def close(self) -> None:
        await self._holds.close()
        await self._pool.close()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """A session advisory lock on its own connection; if the worker dies, the server ends
        the session and the lock with it. A lock that may be left held (its wait or its release
        cancelled or failed) ends with its session: the connection is closed, not given back."""
        async with self._holds.acquire() as conn:
            await _or_end_session(conn, LOCK, key)
            try:
                yield
            finally:
                await _or_end_session(conn, UNLOCK, key)

    async def migrate(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
            collation = await conn.fetchval("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            if collation not in ("C", "POSIX"):
                log.warning("database collation is %s, not C: lists sort by that locale's rules; the README says how "
                            "to create the database with the C locale", collation)
            for number, script in migrations(self.dialect):
                if number > version:
                    log.info("applying PostgreSQL migration %04d", number)
                    await conn.execute(script)
                    await conn.execute("INSERT INTO schema_version(version) VALUES ($1)", number)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PostgresTx(conn)

    async def execute(self, sql: str, *args: Any) -> int:
        return _count(await self._pool.execute(numbered(sql), *args))

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(numbered(sql), rows)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return await self._pool.fetchrow(numbered(sql), *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._pool.fetch(numbered(sql), *args))

    def json_text(self, column: str, key: str) -> str:
        return f"({column}::jsonb ->> '{key}')"
