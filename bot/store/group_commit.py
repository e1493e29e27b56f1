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
so a multi-statement transaction on the other connection never waits for the file's lock. Each
batch notes whether another connection has committed since the one before (`others_committed`):
what this process keeps in memory may then have been changed behind its back.

A batch is committed on the event loop itself: in WAL mode with synchronous=NORMAL a commit
appends its pages to the WAL without an fsync, a tenth of a millisecond, where the trip to a
thread and back costs the loop as much and more (the thread's wake-ups, the lock handed back and
forth). What could make it wait is kept off the loop:
- the file's write lock held by another process (a command run beside the server): the writer's
  connection does not wait for it (busy timeout 0); a batch that finds the lock taken, or a
  statement that fails, goes to the writer's thread, which waits for the lock as long as a
  transaction does and commits the statements one by one where one fails;
- a long batch (a report's read queued behind writes): SQLite interrupts it after `LOOP_BUDGET`
  on the loop (a progress handler), and the thread makes the whole batch again;
- checkpoints (the WAL copied into the database file, with an fsync): the writer's connection
  makes none at a commit; every `CHECKPOINT_BATCHES` batches the writer's thread makes one, and
  starts the WAL again from its beginning, while the batches wait under `lock` (the loop goes on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger(__name__)

ROWCOUNT, ROWS, MANY, NOTHING = "rowcount", "rows", "many", "nothing"
SOON = 0.05   # seconds a write nobody waits for may wait for company
PATIENCE_MS = 5000   # how long the writer's thread waits for the file's write lock
LOOP_BUDGET = 0.01   # seconds a batch may take on the event loop before it goes to the thread
CHECKPOINT_BATCHES = 200   # batches between two checkpoints (SQLite's own default is about 1000 pages)
CHECKPOINT_PATIENCE_MS = 100   # how long a checkpoint waits for readers before it copies what it can


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
        self._since_checkpoint = 0   # batches committed since the last checkpoint
        self._data_version: int | None = None   # SQLite's, as the last batch found it
        self.others_committed = 0   # batches that found another connection's commits since the one before

    @classmethod
    def open(cls, path: Path | str, lock: asyncio.Lock) -> "GroupCommit":
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in ("busy_timeout=0", "wal_autocheckpoint=0", "synchronous=NORMAL", "foreign_keys=ON"):
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
                    outcomes = self._commit_here(batch)
                    if outcomes is None:
                        outcomes = await loop.run_in_executor(self._thread, self._commit_patiently, batch)
                for item, (ok, value) in zip(batch, outcomes):
                    if item.future is None:
                        self.unsettled -= 1
                        if not ok:
                            log.error("a queued write failed: %s: %s", value, item.sql[:200])
                    elif not item.future.done():
                        item.future.set_result(value) if ok else item.future.set_exception(value)
                self._since_checkpoint += 1
                if self._since_checkpoint >= CHECKPOINT_BATCHES:
                    self._since_checkpoint = 0
                    async with self._lock:
                        await loop.run_in_executor(self._thread, self._checkpoint)
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

    def _commit_here(self, batch: list[_Write]) -> list[tuple[bool, Any]] | None:
        """Commit `batch` at once, on the loop; None, with nothing changed, if the file's write
        lock is taken, a statement fails or the batch outlasts `LOOP_BUDGET` (the thread then
        makes it, patiently, and one by one where one fails)."""
        deadline = time.monotonic() + LOOP_BUDGET
        # asked every 1000 of SQLite's steps; true interrupts the statement (on the loop only: a
        # handler in the thread would take Python's lock from the loop every few microseconds)
        self._conn.set_progress_handler(lambda: time.monotonic() > deadline, 1000)
        try:
            return self._all_at_once(batch)
        except Exception:  # noqa: BLE001 - "database is locked", a bad statement, interrupted: the thread's
            return None
        finally:
            self._conn.set_progress_handler(None, 0)

    def _all_at_once(self, batch: list[_Write]) -> list[tuple[bool, Any]]:
        """Every statement of `batch` in one transaction, committed; rolled back if one fails."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._notice_others()
            outcomes = [(True, self._run(item)) for item in batch]
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    def _notice_others(self) -> None:
        """Count it when another connection committed since the last batch: this process's other
        connection (a transaction), or another process (a command run beside the server)."""
        (version,) = self._conn.execute("PRAGMA data_version").fetchone()
        if version != self._data_version:
            if self._data_version is not None:
                self.others_committed += 1
            self._data_version = version

    # in the writer's thread

    @contextlib.contextmanager
    def _patient(self, ms: int) -> Iterator[None]:
        """The writer's connection waits up to `ms` for the file's locks meanwhile (else not at all)."""
        self._conn.execute(f"PRAGMA busy_timeout={ms}")
        try:
            yield
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")

    def _commit_patiently(self, batch: list[_Write]) -> list[tuple[bool, Any]]:
        with self._patient(PATIENCE_MS):
            return self._commit(batch)

    def _checkpoint(self) -> None:
        """Copy what the WAL holds into the database file and start the WAL again from its
        beginning (RESTART: while it runs, this process's batches wait for it under `lock`).
        A reader still on an older snapshot (a long report) is waited for `CHECKPOINT_PATIENCE_MS`
        only, since the writes wait too: then what can be copied is (as PASSIVE would) and the
        WAL starts again at a later checkpoint. One that fails is logged and made again later."""
        with self._patient(CHECKPOINT_PATIENCE_MS):
            try:
                busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                if busy:
                    log.info("the store file's checkpoint could not start the WAL again (a reader held on)")
            except sqlite3.Error as e:
                log.warning("the store file's checkpoint failed: %s", e)

    def _commit(self, batch: list[_Write]) -> list[tuple[bool, Any]]:
        try:
            return self._all_at_once(batch)
        except Exception as e:  # noqa: BLE001 - each statement again on its own: only the bad one fails
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
