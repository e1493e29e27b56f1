"""Staff accounts, console sessions and the audit trail (电子监察) in SQLite.

A session cookie is a random value; only its sha256 is stored, so a copy of the database does
not let anyone in. Sign-in attempts are counted per account before the password is checked,
and the last one allowed locks it for a while.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.errors import StoreError
from bot.store.db import iso

if TYPE_CHECKING:
    from bot.store.store import Store

ROLES = ("clerk", "supervisor", "editor", "admin")
COUNTY_ROLES = ("editor", "admin")   # roles that belong to the whole county, not to a center


@dataclass(frozen=True)
class StaffMember:
    id: int
    name: str
    center: str | None
    role: str


@dataclass(frozen=True)
class Account:
    """A staff member as the sign-in sees them."""

    member: StaffMember
    password_hash: str | None
    failed_logins: int
    locked_until: datetime | None
    disabled: bool
    created_at: str


@dataclass(frozen=True)
class Session:
    member: StaffMember
    csrf: str
    id_hash: str
    seen_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _member(row: Any) -> StaffMember:
    return StaffMember(id=row["id"], name=row["name"], center=row["center"], role=row["role"])


def _account(row: Any) -> Account:
    return Account(member=_member(row), password_hash=row["password_hash"], failed_logins=row["failed_logins"],
                   locked_until=datetime.fromisoformat(row["locked_until"]) if row["locked_until"] else None,
                   disabled=row["disabled_at"] is not None, created_at=row["created_at"])


class Staff:
    def __init__(self, store: "Store"):
        self.store = store

    async def add(self, *, name: str, center: str | None, role: str, token: str, now: datetime,
                  password_hash: str | None = None) -> StaffMember:
        added = await self.store.fetchone(
            "INSERT INTO staff(name, center, role, token_hash, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(name) DO NOTHING RETURNING id", name, center, role, token_hash(token), password_hash, iso(now))
        if added is None:
            raise StoreError(f"a staff member named {name!r} already exists")
        return StaffMember(id=added["id"], name=name, center=center, role=role)

    async def replace_token(self, name: str, token: str) -> bool:
        """Give `name` a new API token; the old one stops working at once. False for no such member."""
        changed = await self.store.write("UPDATE staff SET token_hash=? WHERE name=?", token_hash(token), name)
        return changed == 1

    async def by_token(self, token: str) -> StaffMember | None:
        row = await self.store.fetchone(
            "SELECT id, name, center, role FROM staff WHERE token_hash=? AND disabled_at IS NULL", token_hash(token))
        return _member(row) if row else None

    async def account(self, name: str) -> Account | None:
        row = await self.store.fetchone("SELECT * FROM staff WHERE name=?", name)
        return _account(row) if row else None

    async def account_by_id(self, staff_id: int) -> Account | None:
        row = await self.store.fetchone("SELECT * FROM staff WHERE id=?", staff_id)
        return _account(row) if row else None

    async def accounts(self) -> list[Account]:
        """Admins (no center) first, then by center, role and name."""
        rows = await self.store.fetchall("SELECT * FROM staff ORDER BY center NULLS FIRST, role, name")
        return [_account(r) for r in rows]

    async def reserve_attempt(self, staff_id: int, *, limit: int, lock_for: timedelta, now: datetime) -> int | None:
        """Take one of the `limit` password checks an account is allowed in a row, before the
        password is checked: the attempt's number (1 … limit), or None when the account is locked
        or disabled. One conditional UPDATE, so sign-ins arriving at once each take their own
        number, on SQLite and PostgreSQL alike; the attempt that takes the last number locks the
        account for `lock_for` at once, whatever its password turns out to be. A good password
        gives the attempt back (`signed_in`); a wrong one leaves it counted."""
        row = await self.store.fetchone(
            "UPDATE staff SET "
            "failed_logins = CASE WHEN locked_until IS NULL THEN failed_logins ELSE 0 END + 1, "
            "locked_until = CASE WHEN CASE WHEN locked_until IS NULL THEN failed_logins ELSE 0 END + 1 >= ? "
            "THEN ? ELSE NULL END "
            "WHERE id=? AND disabled_at IS NULL AND (locked_until IS NULL OR locked_until <= ?) "
            "RETURNING failed_logins", limit, iso(now + lock_for), staff_id, iso(now))
        return row["failed_logins"] if row else None

    async def signed_in(self, staff_id: int, password_hash: str | None = None) -> None:
        """A good password: the attempt is given back, the count starts again and a lock its own
        attempt set is lifted (and an old-style hash is replaced)."""
        if password_hash:
            await self.store.write("UPDATE staff SET failed_logins=0, locked_until=NULL, password_hash=? WHERE id=?",
                                   password_hash, staff_id)
        else:
            await self.store.write("UPDATE staff SET failed_logins=0, locked_until=NULL WHERE id=?", staff_id)

    async def set_password(self, staff_id: int, password_hash: str) -> None:
        """A new password ends every session of that account and lifts a lock."""
        async with self.store.transaction() as db:
            await db.execute("UPDATE staff SET password_hash=?, failed_logins=0, locked_until=NULL WHERE id=?",
                             password_hash, staff_id)
            await db.execute("DELETE FROM console_sessions WHERE staff_id=?", staff_id)

    async def unlock(self, staff_id: int) -> None:
        await self.store.write("UPDATE staff SET failed_logins=0, locked_until=NULL WHERE id=?", staff_id)

    async def set_disabled(self, staff_id: int, disabled: bool, now: datetime) -> None:
        async with self.store.transaction() as db:
            await db.execute("UPDATE staff SET disabled_at=? WHERE id=?", iso(now) if disabled else None, staff_id)
            if disabled:
                await db.execute("DELETE FROM console_sessions WHERE staff_id=?", staff_id)


class Sessions:
    def __init__(self, store: "Store"):
        self.store = store

    async def start(self, staff_id: int, now: datetime, lasts: timedelta) -> tuple[str, str]:
        """A new session: (cookie value, CSRF token)."""
        value, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        await self.store.write(
            "INSERT INTO console_sessions(id_hash, staff_id, csrf, created_at, seen_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", token_hash(value), staff_id, csrf, iso(now), iso(now), iso(now + lasts))
        return value, csrf

    async def get(self, value: str, now: datetime, idle: timedelta) -> Session | None:
        """The live session for a cookie value; an expired or idle one is ended."""
        id_hash = token_hash(value)
        row = await self.store.fetchone(
            "SELECT s.csrf, s.seen_at, s.expires_at, m.id, m.name, m.center, m.role FROM console_sessions s "
            "JOIN staff m ON m.id = s.staff_id WHERE s.id_hash=? AND m.disabled_at IS NULL", id_hash)
        if row is None:
            return None
        seen = datetime.fromisoformat(row["seen_at"])
        if now >= datetime.fromisoformat(row["expires_at"]) or now - seen > idle:
            await self.end(value)
            return None
        if now - seen > timedelta(minutes=1):
            await self.store.write("UPDATE console_sessions SET seen_at=? WHERE id_hash=?", iso(now), id_hash)
        return Session(member=_member(row), csrf=row["csrf"], id_hash=id_hash, seen_at=seen)

    async def end(self, value: str) -> None:
        await self.store.write("DELETE FROM console_sessions WHERE id_hash=?", token_hash(value))

    async def purge(self, now: datetime) -> int:
        changed = await self.store.write("DELETE FROM console_sessions WHERE expires_at <= ?", iso(now))
        return changed


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: str
    actor: str
    role: str
    center: str | None
    action: str
    target: str
    detail: str
    address: str


class Audit:
    """Every staff action, who and when: written by the console and the API, read by supervisors."""

    def __init__(self, store: "Store"):
        self.store = store

    async def add(self, *, actor: str, role: str, action: str, now: datetime, center: str | None = None,
                  target: str = "", detail: str = "", address: str = "") -> None:
        await self.store.write(
            "INSERT INTO audit_log(at, actor, role, center, action, target, detail, address) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", iso(now), actor, role, center, action, target, detail[:500], address)

    async def lines(self, *, centers: list[str] | None, actor: str | None = None, action: str | None = None,
                    limit: int = 200, before_id: int | None = None) -> list[AuditLine]:
        """Newest first. `centers` limits to actions on those centers and to sign-ins of their staff."""
        where, args = [], []
        if centers is not None:
            marks = ", ".join("?" * len(centers)) or "NULL"
            where.append(f"(center IN ({marks}) OR actor IN (SELECT name FROM staff WHERE center IN ({marks})))")
            args += centers + centers
        for column, value in (("actor", actor), ("action", action)):
            if value:
                where.append(f"{column}=?")
                args.append(value)
        if before_id:
            where.append("id < ?")
            args.append(before_id)
        sql = "SELECT * FROM audit_log" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?"
        return [AuditLine(**dict(r)) for r in await self.store.fetchall(sql, *args, limit)]
