"""The one thing a store backend must provide: run SQL, alone or in a transaction.

Repositories write portable SQL with `?` placeholders and ask the database for the few things
that differ between SQLite and PostgreSQL (reading a field of a JSON column, a lock per resident).
Times are stored as ISO text in the county's time zone on both, so they sort and compare the
same way everywhere.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from importlib import resources
from typing import Any, Mapping, Sequence

from bot.clock import TZ

Row = Mapping[str, Any]


def iso(dt: datetime) -> str:
    return dt.astimezone(TZ).isoformat(timespec="seconds")


def marks(values: Sequence[Any]) -> str:
    """`?, ?, ?` for an IN list; a list that can match nothing when `values` is empty."""
    return ", ".join("?" * len(values)) if values else "NULL"


def migrations(dialect: str) -> list[tuple[int, str]]:
    """(number, script) of `bot/store/migrations/<dialect>/NNNN_*.sql`, in order."""
    folder = resources.files("bot.store") / "migrations" / dialect
    found = [(int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8"))
             for entry in folder.iterdir() if entry.name.endswith(".sql")]
    return sorted(found)


class Tx(ABC):
    """The statements of one unit of work: all of them happen, or none."""

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; the number of rows it changed."""

    @abstractmethod
    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    @abstractmethod
    async def lock(self, key: str) -> None:
        """Hold `key` (a resident, a case) until the transaction ends, so two workers checking
        and then writing for the same resident take turns."""


async def queue_notice(tx: Tx, openid: str, text: str, now: datetime, topic: dict[str, str] | None = None) -> None:
    """A notice for the resident in the outbox, written in the transaction `tx` that makes what it
    tells of (a case moved, a booking released …), with what a template message says of it
    (`topic`); the pusher sends it."""
    await tx.execute("INSERT INTO outbox(openid, text, created_at, next_at, topic) VALUES (?, ?, ?, ?, ?)",
                     openid, text, iso(now), iso(now), json.dumps(topic, ensure_ascii=False) if topic else None)


class Database(ABC):
    dialect: str
    skip_locked: str = ""   # appended to a SELECT that claims rows: other workers pass over them

    @abstractmethod
    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold `key` across statements and transactions (one resident's message, the token
        refresh) until the block ends, against every worker of this database."""

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """One statement on its own (atomic); the number of rows it changed."""

    async def execute_soon(self, sql: str, *args: Any) -> None:
        """A write that need not be committed before the caller goes on: written in order with
        every later write, soon (SQLite: with the writer's next batch); here at once."""
        await self.execute(sql, *args)

    async def fetchall_in_order(self, sql: str, *args: Any) -> list[Row]:
        """`fetchall` that sees every write issued before it, `execute_soon` ones too."""
        return await self.fetchall(sql, *args)

    @abstractmethod
    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None: ...

    @abstractmethod
    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    @abstractmethod
    def json_text(self, column: str, key: str) -> str:
        """SQL for the text of `key` in the JSON object stored in `column`."""

    @abstractmethod
    async def migrate(self) -> None:
        """Bring the schema up to date, once even when several workers start together."""

    @abstractmethod
    async def close(self) -> None: ...
