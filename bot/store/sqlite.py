"""The embedded store: one SQLite database in WAL mode, behind small repositories.

aiosqlite runs every statement on its own thread, so the event loop never blocks. One
connection is shared; `transaction()` holds a lock so the statements of one unit of work are
not interleaved with another coroutine's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator

import aiosqlite

from bot.clock import TZ
from bot.errors import StoreError
from bot.store.base import Dialog, OutboxItem
from bot.store.bookings import Bookings
from bot.store.cases import Cases, Ratings
from bot.store.reports import Reports
from bot.store.staff import Audit, Sessions, Staff

log = logging.getLogger(__name__)


def iso(dt: datetime) -> str:
    return dt.astimezone(TZ).isoformat(timespec="seconds")


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("bot.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class SQLiteStore:
    def __init__(self, db: aiosqlite.Connection):
        self._db = db
        self._lock = asyncio.Lock()
        self.residents = Residents(self)
        self.dialogs = Dialogs(self)
        self.inquiries = Inquiries(self)
        self.messages = ProcessedMessages(self)
        self.handoffs = Handoffs(self)
        self.outbox = Outbox(self)
        self.cases = Cases(self)
        self.staff = Staff(self)
        self.sessions = Sessions(self)
        self.audit = Audit(self)
        self.ratings = Ratings(self)
        self.bookings = Bookings(self)
        self.reports = Reports(self)

    @classmethod
    async def open(cls, path: Path | str) -> "SQLiteStore":
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db)
        await store.migrate()
        return store

    async def close(self) -> None:
        await self._db.close()

    async def migrate(self) -> None:
        async with self.transaction() as db:
            (version,) = await (await db.execute("PRAGMA user_version")).fetchone()
            for number, script in _migrations():
                if number > version:
                    log.info("applying migration %04d", number)
                    for statement in script.split(";\n"):
                        if statement.strip():
                            await db.execute(statement)
                    await db.execute(f"PRAGMA user_version={number}")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            else:
                await self._db.execute("COMMIT")

    async def _outside_transactions(self) -> None:
        """Wait while a multi-statement transaction is open, so a lone statement is not taken
        into it. Lone statements do not queue behind each other: aiosqlite runs them in the
        order they were issued, back to back on its thread."""
        while self._lock.locked():
            async with self._lock:
                pass

    async def write(self, sql: str, *args: Any) -> aiosqlite.Cursor:
        """One statement on its own: atomic in autocommit, and one trip to the database thread."""
        await self._outside_transactions()
        return await self._db.execute(sql, args)

    async def write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                await self._db.executemany(sql, rows)
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def fetchone(self, sql: str, *args: Any) -> aiosqlite.Row | None:
        await self._outside_transactions()
        rows = await self._db.execute_fetchall(sql, args)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, *args: Any) -> list[aiosqlite.Row]:
        await self._outside_transactions()
        return list(await self._db.execute_fetchall(sql, args))

    async def ping(self) -> bool:
        try:
            row = await self.fetchone("SELECT 1")
        except Exception as e:  # noqa: BLE001 - reported to /healthz, logged
            log.error("store does not answer: %s", e)
            return False
        return row is not None


class _Repo:
    def __init__(self, store: SQLiteStore):
        self.store = store


class Residents(_Repo):
    async def seen(self, openid: str, at: datetime) -> None:
        """A resident wrote: record them, mark active, open the 48-hour window."""
        await self.store.write(
            "INSERT INTO residents(openid, active, first_seen, last_message_at) VALUES (?, 1, ?, ?) "
            "ON CONFLICT(openid) DO UPDATE SET active=1, last_message_at=excluded.last_message_at, "
            "unsubscribed_at=NULL", openid, iso(at), iso(at))

    async def unsubscribed(self, openid: str, at: datetime) -> None:
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT INTO residents(openid, active, first_seen, last_message_at, unsubscribed_at) "
                "VALUES (?, 0, ?, ?, ?) ON CONFLICT(openid) DO UPDATE SET active=0, "
                "unsubscribed_at=excluded.unsubscribed_at", (openid, iso(at), iso(at), iso(at)))
            await db.execute("DELETE FROM dialogs WHERE openid=?", (openid,))

    async def get(self, openid: str) -> dict[str, Any] | None:
        row = await self.store.fetchone("SELECT * FROM residents WHERE openid=?", openid)
        return dict(row) if row else None

    async def bind(self, openid: str, center: str, at: datetime) -> None:
        """The resident's village or community (绑定): their default center from now on."""
        await self.store.write(
            "INSERT INTO residents(openid, active, first_seen, last_message_at, center) VALUES (?, 1, ?, ?, ?) "
            "ON CONFLICT(openid) DO UPDATE SET center=excluded.center", openid, iso(at), iso(at), center)

    async def center_of(self, openid: str) -> str | None:
        row = await self.store.fetchone("SELECT center FROM residents WHERE openid=?", openid)
        return row["center"] if row else None


class Dialogs(_Repo):
    async def get(self, openid: str, now: datetime, idle: timedelta) -> Dialog | None:
        row = await self.store.fetchone("SELECT state, data, updated_at FROM dialogs WHERE openid=?", openid)
        if row is None:
            return None
        if datetime.fromisoformat(row["updated_at"]) + idle < now:
            await self.clear(openid)
            return None
        return Dialog(state=row["state"], data=json.loads(row["data"]))

    async def set(self, openid: str, dialog: Dialog, now: datetime) -> None:
        await self.store.write(
            "INSERT INTO dialogs(openid, state, data, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(openid) DO UPDATE SET state=excluded.state, data=excluded.data, "
            "updated_at=excluded.updated_at",
            openid, dialog.state, json.dumps(dialog.data, ensure_ascii=False), iso(now))

    async def clear(self, openid: str) -> None:
        await self.store.write("DELETE FROM dialogs WHERE openid=?", openid)


class Inquiries(_Repo):
    async def log(self, *, openid: str, question: str, intent: str, guide: str | None,
                  score: float | None, decision: str, at: datetime) -> None:
        await self.store.write(
            "INSERT INTO inquiries(openid, question, intent, guide, score, decision, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", openid, question, intent, guide, score, decision, iso(at))

    async def of_resident(self, openid: str, limit: int = 30) -> list[dict[str, Any]]:
        """The resident's latest questions, oldest first: what they asked and what the bot made of it."""
        rows = await self.store.fetchall("SELECT * FROM inquiries WHERE openid=? ORDER BY id DESC LIMIT ?",
                                         openid, limit)
        return [dict(r) for r in reversed(rows)]

    async def unanswered(self, since: datetime, limit: int = 5000) -> list[dict[str, Any]]:
        """Questions the bot could not answer since `since`, newest first: no guide matched and no
        other intent (绑定, 预约, …) took the message either."""
        rows = await self.store.fetchall(
            "SELECT question, at, guide, score FROM inquiries WHERE decision='fallback' "
            "AND intent IN ('guide', 'unknown') AND at >= ? "
            "ORDER BY id DESC LIMIT ?", iso(since), limit)
        return [dict(r) for r in rows]

    async def recent(self, limit: int = 50, decision: str | None = None) -> list[dict[str, Any]]:
        if decision:
            rows = await self.store.fetchall(
                "SELECT * FROM inquiries WHERE decision=? ORDER BY id DESC LIMIT ?", decision, limit)
        else:
            rows = await self.store.fetchall("SELECT * FROM inquiries ORDER BY id DESC LIMIT ?", limit)
        return [dict(r) for r in rows]


class ProcessedMessages(_Repo):
    async def claim(self, key: str, openid: str, now: datetime) -> bool:
        """True if this message is new and now ours to handle; False for a retry."""
        cursor = await self.store.write(
            "INSERT INTO processed_messages(key, openid, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO NOTHING", key, openid, iso(now))
        return cursor.rowcount == 1

    async def take_over(self, key: str, now: datetime, claimed_before: datetime) -> bool:
        """Claim again a message whose first handler left no reply long ago (its process died)."""
        cursor = await self.store.write(
            "UPDATE processed_messages SET created_at=? WHERE key=? AND reply IS NULL AND created_at < ?",
            iso(now), key, iso(claimed_before))
        return cursor.rowcount == 1

    async def answered(self, key: str, reply_json: str) -> None:
        await self.store.write("UPDATE processed_messages SET reply=? WHERE key=?", reply_json, key)

    async def reply_for(self, key: str) -> tuple[bool, str | None]:
        row = await self.store.fetchone("SELECT reply FROM processed_messages WHERE key=?", key)
        return (row is not None, row["reply"] if row else None)

    async def purge_before(self, before: datetime) -> int:
        cursor = await self.store.write("DELETE FROM processed_messages WHERE created_at < ?", iso(before))
        return cursor.rowcount


class Handoffs(_Repo):
    async def request(self, openid: str, question: str, now: datetime, center: str | None = None) -> tuple[int, bool]:
        """Record a callback request at the resident's center; one already waiting keeps its place."""
        async with self.store.transaction() as db:
            row = await (await db.execute(
                "SELECT id FROM handoff_requests WHERE openid=? AND status='waiting'", (openid,))).fetchone()
            if row:
                return row["id"], False
            cursor = await db.execute(
                "INSERT INTO handoff_requests(openid, question, center, created_at) VALUES (?, ?, ?, ?)",
                (openid, question, center, iso(now)))
            return cursor.lastrowid, True

    async def waiting(self, centers: list[str] | None = None) -> list[dict[str, Any]]:
        return await self.listed("waiting", centers)

    async def listed(self, status: str, centers: list[str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Requests in `status` at `centers` (None: all), the longest waiting first; answered ones newest first."""
        where, args = ["status=?"], [status]
        if centers is not None:
            where.append(f"center IN ({', '.join('?' * len(centers)) or 'NULL'})")
            args += centers
        order = "id" if status == "waiting" else "answered_at DESC, id DESC"
        rows = await self.store.fetchall(
            f"SELECT * FROM handoff_requests WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?", *args, limit)
        return [dict(r) for r in rows]

    async def get(self, request_id: int) -> dict[str, Any] | None:
        row = await self.store.fetchone("SELECT * FROM handoff_requests WHERE id=?", request_id)
        return dict(row) if row else None

    async def answer(self, request_id: int, *, answer: str, by: str, notice: str, now: datetime) -> bool:
        """Record a clerk's answer and queue it for the resident, once: False if already answered."""
        async with self.store.transaction() as db:
            cursor = await db.execute(
                "UPDATE handoff_requests SET status='answered', answer=?, answered_by=?, answered_at=? "
                "WHERE id=? AND status='waiting'", (answer, by, iso(now), request_id))
            if cursor.rowcount != 1:
                return False
            row = await (await db.execute("SELECT openid FROM handoff_requests WHERE id=?", (request_id,))).fetchone()
            await db.execute("INSERT INTO outbox(openid, text, created_at, next_at) VALUES (?, ?, ?, ?)",
                             (row["openid"], notice, iso(now), iso(now)))
            return True

    async def of_resident(self, openid: str, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self.store.fetchall(
            "SELECT * FROM handoff_requests WHERE openid=? ORDER BY id DESC LIMIT ?", openid, limit)
        return [dict(r) for r in rows]


class Outbox(_Repo):
    async def add(self, openid: str, texts: list[str], now: datetime) -> None:
        await self.store.write_many(
            "INSERT INTO outbox(openid, text, created_at, next_at) VALUES (?, ?, ?, ?)",
            [(openid, text, iso(now), iso(now)) for text in texts])

    async def due(self, now: datetime, limit: int = 20) -> list[OutboxItem]:
        rows = await self.store.fetchall(
            "SELECT o.id, o.openid, o.text, o.attempts, r.last_message_at FROM outbox o "
            "LEFT JOIN residents r ON r.openid = o.openid "
            "WHERE o.sent_at IS NULL AND o.dead_at IS NULL AND o.next_at <= ? ORDER BY o.id LIMIT ?", iso(now), limit)
        return [OutboxItem(id=r["id"], openid=r["openid"], text=r["text"], attempts=r["attempts"],
                           last_message_at=datetime.fromisoformat(r["last_message_at"]) if r["last_message_at"] else None)
                for r in rows]

    async def sent(self, item_id: int, now: datetime) -> None:
        await self.store.write("UPDATE outbox SET sent_at=?, attempts=attempts+1 WHERE id=?", iso(now), item_id)

    async def failed(self, item_id: int, error: str, retry_at: datetime | None, now: datetime) -> None:
        if retry_at is None:
            await self.store.write("UPDATE outbox SET attempts=attempts+1, dead_at=?, last_error=? WHERE id=?",
                                   iso(now), error, item_id)
        else:
            await self.store.write("UPDATE outbox SET attempts=attempts+1, next_at=?, last_error=? WHERE id=?",
                                   iso(retry_at), error, item_id)

    async def dead(self, limit: int = 100, centers: list[str] | None = None, open_only: bool = False,
                   item_id: int | None = None) -> list[dict[str, Any]]:
        """Notices WeChat would not take. With `centers`: those of residents bound to, or with a case
        or booking at, one of them — the residents those centers' staff should call; `open_only`:
        those nobody has followed up yet. Each with the resident's latest case, whose details the
        caller needs."""
        where, args = "o.dead_at IS NOT NULL", []
        if centers is not None:
            marks = ", ".join("?" * len(centers)) or "NULL"
            where += (f" AND (EXISTS (SELECT 1 FROM residents r WHERE r.openid=o.openid AND r.center IN ({marks}))"
                      f" OR EXISTS (SELECT 1 FROM cases c WHERE c.openid=o.openid AND c.center IN ({marks}))"
                      f" OR EXISTS (SELECT 1 FROM bookings b WHERE b.openid=o.openid AND b.center IN ({marks})))")
            args = centers * 3
        if open_only:
            where += " AND o.handled_at IS NULL"
        if item_id is not None:
            where += " AND o.id = ?"
            args.append(item_id)
        rows = await self.store.fetchall(
            "SELECT o.id, o.openid, o.text, o.attempts, o.dead_at, o.last_error, o.handled_by, o.handled_at, "
            "(SELECT number FROM cases c WHERE c.openid = o.openid ORDER BY c.id DESC LIMIT 1) AS case_number "
            f"FROM outbox o WHERE {where} ORDER BY o.id DESC LIMIT ?", *args, limit)
        return [dict(r) for r in rows]

    async def handled(self, item_id: int, by: str, now: datetime) -> bool:
        """A person followed up a dead notice; False if someone already had."""
        cursor = await self.store.write(
            "UPDATE outbox SET handled_by=?, handled_at=? WHERE id=? AND dead_at IS NOT NULL AND handled_at IS NULL",
            by, iso(now), item_id)
        return cursor.rowcount == 1

    async def pending_count(self) -> int:
        row = await self.store.fetchone("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL")
        return row["n"] if row else 0


async def open_store(url: str, base_dir: Path) -> SQLiteStore:
    if not url.startswith("sqlite:///"):
        raise StoreError(f"unsupported store URL: {url}")
    path = Path(url.removeprefix("sqlite:///"))
    if not path.is_absolute() and str(path) != ":memory:":
        path = base_dir / path
    return await SQLiteStore.open(path)
