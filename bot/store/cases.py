"""Cases and ratings. A move of a case, its history line and the resident's notice are
written in one transaction, and only if the case is still in the state the move was checked
against — so a double click or two clerks at once cannot move a case twice."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable

from bot.errors import StoreError
from bot.personal import mask_in_text
from bot.store.db import Tx, iso, marks, queue_notice
from bot.vault import Vault

if TYPE_CHECKING:
    from bot.store.store import Store

PREFIX = {"proxy": "D", "home_visit": "S", "complaint": "T", "followup": "Z"}


class StaleCase(StoreError):
    """The case moved since it was read; the caller should read it again."""


@dataclass(frozen=True)
class HistoryLine:
    at: str
    actor: str
    from_state: str | None
    to_state: str
    note: str
    deadline: str | None


@dataclass(frozen=True)
class CaseLine:
    """One step of a life event's case (高效办成一件事): a service the station handles (`ours`,
    status pending or done), or a step handled elsewhere, kept as a note (status elsewhere)."""

    position: int
    service: str
    kind: str        # ours elsewhere
    status: str      # pending done elsewhere
    note: str = ""

    @property
    def ours(self) -> bool:
        return self.kind == "ours"


LINE_STATUSES = ("pending", "done")


@dataclass(frozen=True)
class Case:
    id: int
    number: str
    kind: str
    openid: str
    guide: str | None
    center: str
    state: str
    deadline: date | None
    data: dict[str, Any]
    created_at: str
    updated_at: str
    history: tuple[HistoryLine, ...] = field(default=())
    lines: tuple[CaseLine, ...] = field(default=())   # a life event's steps, in order; none for one service

    def notes_masked(self) -> "Case":
        """The case with every 身份证号 and mobile number in its history's notes masked (a
        resident's reply, a clerk's note of a call): as its data is shown until a clerk reveals
        it on the record."""
        return replace(self, history=tuple(replace(line, note=mask_in_text(line.note)) for line in self.history))


def _case(row: Any, vault: Vault | None = None, unreadable: list[str] | None = None) -> Case:
    """A case as its row holds it, without its history or its life event's services."""
    data = json.loads(row["data"])
    return Case(id=row["id"], number=row["number"], kind=row["kind"], openid=row["openid"], guide=row["guide"],
                center=row["center"], state=row["state"],
                deadline=date.fromisoformat(row["deadline"]) if row["deadline"] else None,
                data=vault.open_fields(data, unreadable) if vault is not None else data, created_at=row["created_at"],
                updated_at=row["updated_at"])


class Cases:
    def __init__(self, store: "Store"):
        self.store = store

    async def create(self, *, kind: str, openid: str, guide: str | None, center: str, data: dict[str, Any],
                     now: datetime, actor: str, notice: str | None = None, deadline: date | None = None,
                     same_since: datetime | None = None, lines: tuple[CaseLine, ...] = ()) -> Case:
        """Open a case — or, with `same_since`, give back the one still open that this resident
        opened since then with the same kind, service, center and data: a resident who sends it
        again (after an apology, a double tap) gets their case, not a second one. `lines`: a life
        event's steps, written with the case in the same transaction."""
        vault = self.store.vault
        text = json.dumps(vault.seal_fields(data) if vault is not None else data, ensure_ascii=False)
        async with self.store.transaction() as db:
            await db.lock(f"resident:{openid}")
            recent = [] if same_since is None else await db.fetchall(
                "SELECT * FROM cases WHERE openid=? AND kind=? AND coalesce(guide, '')=? AND center=? "
                "AND created_at >= ? AND state NOT IN ('completed', 'delivered', 'rejected', 'cancelled') "
                "ORDER BY id DESC", openid, kind, guide or "", center, iso(same_since))
            # compared opened: the same data encrypts differently every time
            same = next((row for row in recent if _case(row, vault=vault).data == data), None)
            if same is not None:
                number = same["number"]
            else:
                number = await self._insert(db, kind=kind, openid=openid, guide=guide, center=center, text=text,
                                            now=now, actor=actor, notice=notice, deadline=deadline)
                case_id = (await db.fetchone("SELECT id FROM cases WHERE number=?", number))["id"]
                for line in lines:
                    await db.execute(
                        "INSERT INTO case_lines(case_id, position, service, kind, status, note, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        case_id, line.position, line.service, line.kind, line.status, line.note, iso(now))
        case = await self.get(number)
        assert case is not None
        return case

    @staticmethod
    async def _insert(db: Tx, *, kind: str, openid: str, guide: str | None, center: str, text: str, now: datetime,
                      actor: str, notice: str | None, deadline: date | None) -> str:
        prefix = f"{PREFIX[kind]}{now:%Y%m%d}-"
        counted = await db.fetchone(   # raised and read in one statement: two workers never share a number
            "INSERT INTO case_counters(prefix, n) VALUES (?, 1) "
            "ON CONFLICT(prefix) DO UPDATE SET n = case_counters.n + 1 RETURNING n", prefix)
        number = f"{prefix}{counted['n']:04d}"
        created = await db.fetchone(
            "INSERT INTO cases(number, kind, openid, guide, center, state, deadline, data, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?) RETURNING id",
            number, kind, openid, guide, center, deadline.isoformat() if deadline else None, text, iso(now), iso(now))
        await db.execute(
            "INSERT INTO case_history(case_id, at, actor, from_state, to_state) VALUES (?, ?, ?, NULL, 'submitted')",
            created["id"], iso(now), actor)
        if notice:
            await queue_notice(db, openid, notice, now)
        return number

    async def reseal(self, batch: int = 500) -> int:
        """Encrypt every case's personal data again with the newest key (`frontdesk keys rotate`)."""
        vault, done, after = self.store.vault, 0, 0
        assert vault is not None, "rotating keys needs the vault"
        while rows := await self.store.fetchall("SELECT id, data FROM cases WHERE id > ? ORDER BY id LIMIT ?",
                                                after, batch):
            for row in rows:
                fresh = vault.seal_fields(vault.open_fields(json.loads(row["data"])))
                await self.store.write("UPDATE cases SET data=? WHERE id=?", json.dumps(fresh, ensure_ascii=False),
                                       row["id"])
            done += len(rows)
            after = rows[-1]["id"]
        return done

    async def get(self, number: str, unreadable: list[str] | None = None) -> Case | None:
        """One case with its history; with `unreadable`, fields no key opens are named there
        instead of raising (see `Vault.open_fields`)."""
        row = await self.store.fetchone("SELECT * FROM cases WHERE number=?", number)
        if row is None:
            return None
        [case] = await self.with_lines(await self.with_history([_case(row, vault=self.store.vault,
                                                                      unreadable=unreadable)]))
        return case

    async def set_line(self, case: Case, position: int, *, status: str, actor: str, note: str, now: datetime,
                       notice: str | None = None, topic: dict[str, str] | None = None) -> Case:
        """Mark one of a life event's services done (or pending again), with a line in the
        history and the resident's `notice` (with its `topic`, as `move`); a step handled
        elsewhere has no status of ours. A service already so marked (a second click) changes
        nothing and tells no one again. LookupError: no such service."""
        line = next((l for l in case.lines if l.position == position and l.ours), None)
        if line is None or status not in LINE_STATUSES:
            raise LookupError(f"{case.number} has no service {position} to mark {status}")
        async with self.store.transaction() as db:
            changed = await db.execute(
                "UPDATE case_lines SET status=?, updated_at=? WHERE case_id=? AND position=? AND status<>?",
                status, iso(now), case.id, position, status)
            if changed:
                await db.execute(
                    "INSERT INTO case_history(case_id, at, actor, from_state, to_state, note) VALUES (?, ?, ?, ?, ?, ?)",
                    case.id, iso(now), actor, case.state, case.state, note)
            if changed and notice:
                await queue_notice(db, case.openid, notice, now, topic)
        updated = await self.get(case.number)
        assert updated is not None
        return updated

    def _where(self, *, centers: list[str] | None, kind: str | tuple[str, ...] | None, state: str | None,
               openid: str | None, due_by: date | None, open_only: bool, search: str) -> tuple[str, list[Any]]:
        where, args = [], []
        if due_by is not None:
            where.append("deadline IS NOT NULL AND deadline <= ?")
            args.append(due_by.isoformat())
        if due_by is not None or open_only:
            where.append("state NOT IN ('completed', 'delivered', 'rejected', 'cancelled')")
        if centers is not None:
            where.append(f"center IN ({marks(centers)})")
            args += centers
        if isinstance(kind, tuple):
            where.append(f"kind IN ({marks(kind)})")
            args += kind
        for column, value in (("kind", kind if isinstance(kind, str) else None), ("state", state), ("openid", openid)):
            if value:
                where.append(f"{column}=?")
                args.append(value)
        if search:
            # lower() on both sides: SQLite's LIKE ignores the case of ASCII letters, PostgreSQL's does not
            pattern = "%" + search.replace("%", "").replace("_", "").lower() + "%"
            found = ["lower(number) LIKE ?", "lower(guide) LIKE ?"]
            args += [pattern, pattern]
            vault = self.store.vault
            if search.isdigit() and len(search) == 11 and vault is not None:   # the whole number: its blind index
                blinds = vault.blinds(search)
                found.append(f"{self.store.db.json_text('data', 'phone_index')} IN ({marks(blinds)})")
                args += blinds
            elif search.isdigit() and len(search) == 11:
                found.append(f"{self.store.db.json_text('data', 'phone')} = ?")
                args.append(search)
            elif search.isdigit() and len(search) == 4:   # the last four digits, as the masked number shows
                found.append(f"{self.store.db.json_text('data', 'phone_masked')} LIKE ?")
                args.append("%" + search)
            where.append("(" + " OR ".join(found) + ")")
        return (" WHERE " + " AND ".join(where) if where else ""), args

    async def list(self, *, centers: list[str] | None, kind: str | tuple[str, ...] | None = None,
                   state: str | None = None, openid: str | None = None, due_by: date | None = None,
                   open_only: bool = False, search: str = "", limit: int = 200,
                   oldest_first: bool = False) -> list[Case]:
        """Cases, newest first. `due_by` keeps open cases whose deadline is on or before that day;
        `search` finds a case number, a guide, or a resident's phone number (all 11 digits, or
        the last 4: the number itself is stored encrypted)."""
        where, args = self._where(centers=centers, kind=kind, state=state, openid=openid, due_by=due_by,
                                  open_only=open_only, search=search)
        order = "deadline NULLS FIRST, id" if oldest_first else "id DESC"   # not yet accepted: first
        rows = await self.store.fetchall(f"SELECT * FROM cases{where} ORDER BY {order} LIMIT ?", *args, limit)
        return [_case(row, vault=self.store.vault) for row in rows]

    async def count(self, *, centers: list[str] | None, kind: str | tuple[str, ...] | None = None,
                    state: str | None = None, due_by: date | None = None, open_only: bool = False,
                    search: str = "") -> int:
        """How many cases `list` would give without its limit."""
        where, args = self._where(centers=centers, kind=kind, state=state, openid=None, due_by=due_by,
                                  open_only=open_only, search=search)
        row = await self.store.fetchone(f"SELECT count(*) AS n FROM cases{where}", *args)
        return row["n"] if row else 0

    async def with_history(self, cases: list[Case]) -> list[Case]:
        """The same cases with their history, read in one query."""
        lines = await self._per_case(cases, HistoryLine, "SELECT case_id, at, actor, from_state, to_state, note, "
                                     "deadline FROM case_history WHERE case_id IN ({cases}) ORDER BY id")
        return [replace(c, history=tuple(lines[c.id])) for c in cases]

    async def with_lines(self, cases: list[Case]) -> list[Case]:
        """The same cases with their life events' services, read in one query."""
        steps = await self._per_case(cases, CaseLine, "SELECT case_id, position, service, kind, status, note "
                                     "FROM case_lines WHERE case_id IN ({cases}) ORDER BY case_id, position")
        return [replace(c, lines=tuple(steps[c.id])) for c in cases]

    async def _per_case(self, cases: list[Case], make: Callable[..., Any], sql: str) -> dict[int, list[Any]]:
        """The rows `sql` reads for `cases` (its first column the case's id), each `make`d from the
        other columns, by case."""
        found: dict[int, list[Any]] = {c.id: [] for c in cases}
        if cases:
            for row in await self.store.fetchall(sql.format(cases=marks(cases)), *found):
                found[row["case_id"]].append(make(**{k: row[k] for k in row.keys() if k != "case_id"}))
        return found

    async def move(self, case: Case, *, to: str, actor: str, note: str, deadline: date | None, now: datetime,
                   notice: str | None, topic: dict[str, str] | None = None) -> Case:
        """Move `case` (as read) to `to`; raise StaleCase if it moved meanwhile. The resident's
        `notice` goes with what a template message's fields say of it (`topic`)."""
        async with self.store.transaction() as db:
            changed = await db.execute(
                "UPDATE cases SET state=?, deadline=COALESCE(?, deadline), updated_at=? WHERE id=? AND state=?",
                to, deadline.isoformat() if deadline else None, iso(now), case.id, case.state)
            if changed != 1:
                raise StaleCase(f"case {case.number} is no longer {case.state}")
            await db.execute(
                "INSERT INTO case_history(case_id, at, actor, from_state, to_state, note, deadline) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                case.id, iso(now), actor, case.state, to, note, deadline.isoformat() if deadline else None)
            if notice:
                await queue_notice(db, case.openid, notice, now, topic)
        moved = await self.get(case.number)
        assert moved is not None
        return moved


    async def note(self, case: Case, *, actor: str, note: str, now: datetime) -> None:
        """A line in the history that does not move the case (the resident's reply, a call)."""
        await self.store.write(
            "INSERT INTO case_history(case_id, at, actor, from_state, to_state, note) VALUES (?, ?, ?, ?, ?, ?)",
            case.id, iso(now), actor, case.state, case.state, note)


class Ratings:
    def __init__(self, store: "Store"):
        self.store = store

    async def add(self, case: Case, score: int, words: str, now: datetime) -> bool:
        """Record the rating of `case`; False if it was already rated (a second reply changes nothing)."""
        changed = await self.store.write(
            "INSERT INTO ratings(case_id, openid, center, score, words, at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(case_id) DO NOTHING", case.id, case.openid, case.center, score, words, iso(now))
        return changed == 1

    async def of_case(self, case: Case) -> dict[str, Any] | None:
        return (await self.of_cases([case])).get(case.number)

    async def of_cases(self, cases: list[Case]) -> dict[str, dict[str, Any]]:
        """The rating of each case that has one, by case number."""
        if not cases:
            return {}
        numbers = {c.id: c.number for c in cases}
        rows = await self.store.fetchall(
            f"SELECT case_id, score, words, at FROM ratings WHERE case_id IN ({marks(cases)})",
            *numbers)
        return {numbers[r["case_id"]]: {"score": r["score"], "words": r["words"], "at": r["at"]} for r in rows}

    async def unrated_closed_case(self, openid: str) -> Case | None:
        row = await self.store.fetchone(
            "SELECT c.* FROM cases c LEFT JOIN ratings r ON r.case_id = c.id WHERE c.openid=? AND r.id IS NULL "
            "AND c.kind IN ('proxy', 'home_visit', 'complaint') AND c.state IN ('completed', 'delivered') "
            "ORDER BY c.updated_at DESC, c.id DESC LIMIT 1", openid)
        return _case(row, vault=self.store.vault) if row else None

    async def satisfaction(self, since: datetime | None = None) -> dict[str, tuple[int, int]]:
        """Per center: (ratings of 满意 or better incl. 基本满意, all ratings) — the 80 % line."""
        rows = await self.store.fetchall(
            "SELECT center, sum(CASE WHEN score >= 3 THEN 1 ELSE 0 END) AS good, count(*) AS total FROM ratings "
            "WHERE at >= ? GROUP BY center",
            iso(since) if since else "")
        return {r["center"]: (r["good"], r["total"]) for r in rows}
