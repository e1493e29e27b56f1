"""The store: repositories per aggregate over one database, SQLite or PostgreSQL.

`open_store(url)` picks the backend from `[store] url` and brings its schema up to date.
Handlers and the console only see the repositories; the SQL in them is written once for both.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.store.bookings import Bookings
from bot.store.callbacks import CallbackNonces
from bot.store.cases import Cases, Ratings
from bot.store.db import Database, Row, Tx
from bot.store.dialog_memory import DialogsInMemory
from bot.store.examples import TaughtExamples
from bot.store.guides import Guides
from bot.store.privacy import ResidentData
from bot.store.reports import Reports
from bot.store.redis import RedisCallbackNonces, RedisDialogs, RedisMessages, RedisState
from bot.store.handoffs import CannedReplies, Handoffs
from bot.store.repos import AccessTokens, Dialogs, Inquiries, Outbox, ProcessedMessages, Residents
from bot.store.staff import Audit, Sessions, Staff
from bot.vault import Vault

log = logging.getLogger(__name__)


class Store:
    def __init__(self, db: Database, vault: Vault | None = None, state: RedisState | None = None,
                 dialog_idle: timedelta = timedelta(minutes=30)):
        self.db = db
        self.vault = vault   # encrypts personal data at rest; None only for tools that touch none
        self.state = state   # Redis, when configured: dialogs, de-duplication, nonces, locks, rate limits
        self._minute, self._counts = "", {}   # rate limits of this process, without Redis: this minute's counts
        self.residents = Residents(self)
        self.dialogs = Dialogs(self)
        self.inquiries = Inquiries(self)
        self.messages = ProcessedMessages(self)
        self.nonces = CallbackNonces(self)
        self.handoffs = Handoffs(self)
        self.canned = CannedReplies(self)
        self.outbox = Outbox(self)
        self.cases = Cases(self)
        self.staff = Staff(self)
        self.sessions = Sessions(self)
        self.audit = Audit(self)
        self.ratings = Ratings(self)
        self.bookings = Bookings(self)
        self.reports = Reports(self)
        self.tokens = AccessTokens(self)
        self.privacy = ResidentData(self)
        self.examples = TaughtExamples(self)
        self.guides = Guides(self)
        if state is None and db.dialect == "sqlite":   # one process: its dialogs in memory, written through
            self.dialogs = DialogsInMemory(self)
        if state is not None:
            self.dialogs = RedisDialogs(state, vault, dialog_idle)  # type: ignore[assignment]
            self.messages = RedisMessages(state, fallback=ProcessedMessages(self))  # type: ignore[assignment]
            self.nonces = RedisCallbackNonces(state, fallback=CallbackNonces(self))  # type: ignore[assignment]

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """`key` held across every worker: in Redis when there is one, else in the database."""
        if self.state is not None:
            return self.state.hold(key, fallback=self.db.hold)
        return self.db.hold(key)

    async def allow(self, key: str, limit: int, now: datetime) -> bool:
        """One more event for `key` this minute, if fewer than `limit` came already: counted in
        Redis for all workers, or per worker without it."""
        if self.state is not None:
            return await self.state.allow(key, limit, now)
        minute = f"{now:%Y%m%d%H%M}"
        if minute != self._minute:
            self._minute, self._counts = minute, {}
        self._counts[key] = seen = self._counts.get(key, 0) + 1
        return seen <= limit

    # what the repositories use
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        return self.db.transaction()

    async def write(self, sql: str, *args: Any) -> int:
        return await self.db.execute(sql, *args)

    async def write_soon(self, sql: str, *args: Any) -> None:
        """`write` without waiting for the commit where the database can (see `Database.execute_soon`)."""
        await self.db.execute_soon(sql, *args)

    async def write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        await self.db.executemany(sql, rows)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return await self.db.fetchone(sql, *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return await self.db.fetchall(sql, *args)

    async def ping(self) -> bool:
        try:
            row = await self.fetchone("SELECT 1 AS one")
        except Exception as e:  # noqa: BLE001 - reported to /healthz, logged
            log.error("store does not answer: %s", e)
            return False
        return row is not None

    async def close(self) -> None:
        if self.state is not None:
            await self.state.close()
        await self.db.close()


async def open_store(url: str, base_dir: Path, vault: Vault | None = None, redis_url: str = "",
                     redis_timeout: float = 1.0, dialog_idle: timedelta = timedelta(minutes=30)) -> Store:
    """`sqlite:///relative/or/absolute/path.db` or `postgresql://user@host:port/db`, with Redis
    beside it when `redis_url` is given."""
    if url.startswith("sqlite:///"):
        from bot.store.sqlite import SQLiteDatabase

        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_absolute() and str(path) != ":memory:":
            path = base_dir / path
        db: Database = await SQLiteDatabase.open(path)
    elif url.startswith(("postgresql://", "postgres://")):
        from bot.store.postgres import PostgresDatabase

        db = await PostgresDatabase.open(url)
    else:
        raise StoreError(f"unsupported store URL: {url}")
    try:
        await db.migrate()
    except BaseException:
        await db.close()
        raise
    state = RedisState.open(redis_url, redis_timeout) if redis_url else None
    return Store(db, vault, state, dialog_idle)
