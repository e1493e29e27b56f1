"""The one writer of a SQLite file: lone writes of every coroutine, committed together.

Each write issued while the writer's thread is busy waits in a queue; when the thread is free,
everything queued goes to it at once and is committed in one transaction (group commit): one
trip to the thread and one commit for many messages' writes instead of one each. A statement
that fails is run again on its own, so it fails alone and the others of its batch stand.

`write` returns once the statement is committed (a claim, a reply recorded: what must be there
after a crash). `write_soon` queues a statement and returns at once (the inquiry log, a dialog
written through from memory): it waits for the next write or read someone waits for (at most
`SOON`) and is committed with it, in order with every other write; an error is logged. Both keep
the order they were issued in; while a `write_soon` is not yet committed, the database reads on
the writer's connection too, in order after it (`unsettled`), so whoever wrote reads what they
wrote. `close` commits what is queued before it closes: a clean shutdown loses nothing.

The writer has its own connection; it takes `lock` (the database's write lock) for each batch,
so a multi-statement transaction on the other connection never waits for the file's lock.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROWCOUNT, ROWS, MANY, NOTHING = "rowcount", "rows", "many", "nothing"
SOON = 0.05   # seconds a write nobody waits for may wait for company


class _Write:
    __slots__ = ("sql", "args", "kind", "future")

    def __init__(self, sql: str, args: Any, kind: str, future: asyncio.Future | None):
        self.sql, self.args, self.kind, self.future = sql, args, kind, future


class GroupCommit:
    def __init__(self, conn: sqlite3.Connection, lock: asyncio.Lock):
        self._conn = conn
        self._lock = lock
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._queue: list[_Write] = []
        self._flushing: asyncio.Task | None = None
        self._later: asyncio.TimerHandle | None = None   # the flush of writes nobody waits for
        self.unsettled = 0   # `write_soon` statements queued or being committed: a read must come after them

    @classmethod
    def open(cls, path: Path | str, lock: asyncio.Lock) -> "GroupCommit":
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in ("busy_timeout=5000", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        return cls(conn, lock)

    async def write(self, sql: str, args: Any = (), kind: str = ROWCOUNT) -> Any:
        """Run `sql` with the next batch; once committed, its rowcount (ROWCOUNT), its rows (ROWS),
        or None (MANY: `args` is a list of rows)."""
        future = asyncio.get_running_loop().create_future()
        self._enqueue(_Write(sql, args, kind, future))
        return await future

    def write_soon(self, sql: str, args: Any = ()) -> None:
        """Queue `sql` for the next batch, in order with every other write; do not wait for it. It
        rides with the next write or read someone waits for, or goes on its own `SOON` later."""
        self.unsettled += 1
        self._queue.append(_Write(sql, args, ROWCOUNT, None))
        if self._flushing is None and self._later is None:
            self._later = asyncio.get_running_loop().call_later(SOON, self._start)

    def _enqueue(self, item: _Write) -> None:
        self._queue.append(item)
        self._start()

    def _start(self) -> None:
        if self._later is not None:
            self._later.cancel()
            self._later = None
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        batch: list[_Write] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                async with self._lock:
                    outcomes = await loop.run_in_executor(self._thread, self._commit, batch)
                for item, (ok, value) in zip(batch, outcomes):
                    if item.future is None:
                        self.unsettled -= 1
                        if not ok:
                            log.error("a queued write failed: %s: %s", value, item.sql[:200])
                    elif not item.future.done():
                        item.future.set_result(value) if ok else item.future.set_exception(value)
        except BaseException as e:   # the thread itself failed (or the task was cancelled): fail the waiters
            for item in [*batch, *self._queue]:
                if item.future is None:
                    self.unsettled = max(0, self.unsettled - 1)
                elif not item.future.done():
                    item.future.set_exception(e if isinstance(e, Exception) else RuntimeError("store closed"))
            self._queue = []   # failed, each waiter told: not to be run later behind their backs
            log.exception("the store's writer stopped; %d writes not made", len(batch))
            raise
        finally:
            self._flushing = None

    # in the writer's thread

    def _commit(self, batch: list[_Write]) -> list[tuple[bool, Any]]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            outcomes = [(True, self._run(item)) for item in batch]
            conn.execute("COMMIT")
            return outcomes
        except Exception as e:  # noqa: BLE001 - each statement again on its own: only the bad one fails
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if len(batch) == 1:
                return [(False, e)]
            return [self._commit([item])[0] for item in batch]

    def _run(self, item: _Write) -> Any:
        if item.kind == NOTHING:
            return None
        if item.kind == MANY:
            self._conn.executemany(item.sql, item.args)
            return None
        cursor = self._conn.execute(item.sql, item.args)
        return cursor.fetchall() if item.kind == ROWS else cursor.rowcount

    async def settled(self) -> None:
        """Return once everything queued before is committed (or has failed)."""
        if self._queue or self._flushing is not None:
            await self.write("", (), NOTHING)

    async def close(self) -> None:
        """Commit what is queued, then close the connection."""
        while self._queue or self._flushing is not None:
            await self.settled()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._conn.close)
        self._thread.shutdown(wait=True)
