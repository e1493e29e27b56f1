"""The resident's side of the store: who wrote, their dialog, what they asked, the messages
already handled, and the notices waiting to reach them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from bot.personal import mask_in_text, split_personal
from bot.store.base import Dialog, OutboxItem
from bot.store.db import Row, Tx, iso, marks
from bot.store.handoffs import CURRENT

if TYPE_CHECKING:
    from bot.store.store import Store


SEEN_EVERY = timedelta(minutes=1)   # a resident's record is renewed at most this often when nothing changed


class _Repo:
    def __init__(self, store: "Store"):
        self.store = store


@dataclass(frozen=True)
class Arrival:
    """A resident whose message is about to be answered, recorded (`Residents.arrived`)."""

    talking: bool   # a conversation with a person takes their messages (`Handoffs.current` finds one)
    dialog: Callable[[], Awaitable[Dialog | None]]   # their dialog, as `Dialogs.get` reads it


class Residents(_Repo):
    async def seen(self, openid: str, at: datetime, grants: str = "message") -> None:
        """A resident wrote (or clicked the menu, followed, scanned: `grants` "event"): record them,
        mark active, and replace their customer-service quota with the one this action opens. A
        resident writing several messages a minute, with nothing sent to them meanwhile, is written
        once a minute: the quota and the window stay what they were. Committed with the writer's
        next batch (before the reply is recorded)."""
        await self.store.write_soon(_SEEN, openid, iso(at), iso(at), grants, iso(at), iso(at - SEEN_EVERY))

    async def arrived(self, openid: str, at: datetime, idle: timedelta, grants: str = "message") -> Arrival:
        """`seen`, and what answering their message reads next: whether they are talking with a
        person, and their dialog (read when asked for; Redis may not answer). On PostgreSQL one
        statement records them and reads the rest — their dialog too when it is kept in the table:
        one trip to the server instead of three."""
        dialogs = self.store.dialogs
        if self.store.db.dialect != "postgresql":
            await self.seen(openid, at, grants)
            talking = await self.store.handoffs.in_progress(openid)
            return Arrival(talking, lambda: dialogs.get(openid, at, idle))
        in_table = isinstance(dialogs, Dialogs) and dialogs.in_table
        row = await self.store.fetchone(
            f"WITH seen AS ({_SEEN}) SELECT EXISTS (SELECT 1 FROM handoffs WHERE {CURRENT}) AS talking"
            + (", d.state, d.data, d.updated_at FROM (SELECT 1 AS one) AS one LEFT JOIN dialogs d ON d.openid = ?"
               if in_table else ""),
            openid, iso(at), iso(at), grants, iso(at), iso(at - SEEN_EVERY), openid, *([openid] if in_table else []))
        assert row is not None, "a SELECT without a table answers one row"
        if not in_table:
            return Arrival(row["talking"], lambda: dialogs.get(openid, at, idle))
        dialog = await dialogs.from_row(openid, row if row["state"] is not None else None, at, idle)
        return Arrival(row["talking"], lambda: _given(dialog))

    async def acted(self, openid: str, grants: str, at: datetime) -> None:
        """An action that needs no answer but opens a quota (the menu's plain scan button): only
        the quota of a resident already known changes."""
        await self.store.write("UPDATE residents SET quota_kind=?, quota_at=?, quota_used=0 WHERE openid=?",
                               grants, iso(at), openid)

    async def draw(self, openid: str, now: datetime, quota: dict[str, tuple[int, timedelta]]) -> bool:
        """Take one customer-service message from the resident's quota — `quota` maps what their
        last action was to (messages, within) — if one is left; at once for every worker."""
        limits = " OR ".join("(quota_kind=? AND quota_at > ? AND quota_used < ?)" for _ in quota)
        args = [a for kind, (count, within) in quota.items() for a in (kind, iso(now - within), count)]
        changed = await self.store.write(
            f"UPDATE residents SET quota_used = quota_used + 1 WHERE openid=? AND ({limits})", openid, *args)
        return changed == 1

    async def draw_each(self, openids: list[str], now: datetime, quota: dict[str, tuple[int, timedelta]]) -> set[str]:
        """`draw` for several residents in one statement: those who had a message left (now taken)."""
        if not openids:
            return set()
        limits = " OR ".join("(quota_kind=? AND quota_at > ? AND quota_used < ?)" for _ in quota)
        args = [a for kind, (count, within) in quota.items() for a in (kind, iso(now - within), count)]
        rows = await self.store.fetchall(
            f"UPDATE residents SET quota_used = quota_used + 1 WHERE openid IN ({marks(openids)}) AND ({limits}) "
            "RETURNING openid", *openids, *args)
        return {r["openid"] for r in rows}

    async def give_back(self, openid: str) -> None:
        """A drawn message WeChat did not take (it failed before delivering): not counted."""
        await self.store.write("UPDATE residents SET quota_used = quota_used - 1 WHERE openid=? AND quota_used > 0",
                               openid)

    async def spent(self, openid: str) -> None:
        """WeChat says the quota is used up or its time is over (45047, 45015), whatever we
        counted: nothing more until the resident's next action."""
        await self.store.write("UPDATE residents SET quota_used = 1000000 WHERE openid=?", openid)

    async def unsubscribed(self, openid: str, at: datetime) -> None:
        async with self.store.transaction() as db:
            await db.execute(
                "INSERT INTO residents(openid, active, first_seen, last_message_at, unsubscribed_at) "
                "VALUES (?, 0, ?, ?, ?) ON CONFLICT(openid) DO UPDATE SET active=0, "
                "unsubscribed_at=excluded.unsubscribed_at", openid, iso(at), iso(at), iso(at))
            await db.execute("DELETE FROM dialogs WHERE openid=?", openid)
        await self.store.dialogs.clear(openid)   # where it is kept: in memory, or in Redis

    async def get(self, openid: str) -> dict[str, Any] | None:
        row = await self.store.fetchone("SELECT * FROM residents WHERE openid=?", openid)
        return dict(row) if row else None

    async def bind(self, openid: str, center: str, at: datetime) -> None:
        """The resident's village or community (绑定): their default center from now on."""
        await self.store.write(
            "INSERT INTO residents(openid, active, first_seen, last_message_at, center) VALUES (?, 1, ?, ?, ?) "
            "ON CONFLICT(openid) DO UPDATE SET center=excluded.center", openid, iso(at), iso(at), center)

    async def located(self, openid: str, latitude: float, longitude: float, at: datetime) -> bool:
        """Where WeChat last reported the resident to be. Only a resident already known: a report
        neither records a new resident nor marks one who left as back."""
        changed = await self.store.write("UPDATE residents SET latitude=?, longitude=?, located_at=? WHERE openid=?",
                                         latitude, longitude, iso(at), openid)
        return changed == 1

    async def center_of(self, openid: str) -> str | None:
        row = await self.store.fetchone("SELECT center FROM residents WHERE openid=?", openid)
        return row["center"] if row else None


_SEEN = ("INSERT INTO residents(openid, active, first_seen, last_message_at, quota_kind, quota_at, quota_used) "
         "VALUES (?, 1, ?, ?, ?, ?, 0) "
         "ON CONFLICT(openid) DO UPDATE SET active=1, last_message_at=excluded.last_message_at, "
         "unsubscribed_at=NULL, quota_kind=excluded.quota_kind, quota_at=excluded.quota_at, quota_used=0 "
         "WHERE residents.quota_used > 0 OR residents.active = 0 OR residents.quota_at IS NULL "
         "OR residents.quota_kind <> excluded.quota_kind OR residents.quota_at < ?")


async def _given(dialog: Dialog | None) -> Dialog | None:
    return dialog


class Dialogs(_Repo):
    in_table = True   # read from the table each time (not kept in memory)

    async def get(self, openid: str, now: datetime, idle: timedelta) -> Dialog | None:
        row = await self.store.fetchone("SELECT state, data, updated_at FROM dialogs WHERE openid=?", openid)
        return await self.from_row(openid, row, now, idle)

    async def from_row(self, openid: str, row: Row | None, now: datetime, idle: timedelta) -> Dialog | None:
        """The dialog of the table's `row` (state, data, updated_at) — none when idle too long (then cleared)."""
        if row is None:
            return None
        if datetime.fromisoformat(row["updated_at"]) + idle < now:
            await self.clear(openid)
            return None
        return Dialog(state=row["state"], data=json.loads(self._open(row["data"])))

    async def set(self, openid: str, dialog: Dialog, now: datetime) -> None:
        await self.store.write(
            "INSERT INTO dialogs(openid, state, data, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(openid) DO UPDATE SET state=excluded.state, data=excluded.data, "
            "updated_at=excluded.updated_at",
            openid, dialog.state, self._seal(json.dumps(dialog.data, ensure_ascii=False)), iso(now))

    def _seal(self, text: str) -> str:
        """A dialog in progress may hold a name, a phone, a 身份证号: stored encrypted as a whole."""
        vault = self.store.vault
        return vault.seal(text) if vault is not None and text != "{}" else text

    def _open(self, text: str) -> str:
        vault = self.store.vault
        return vault.open(text) if vault is not None else text

    async def clear(self, openid: str) -> None:
        await self.store.write("DELETE FROM dialogs WHERE openid=?", openid)

    async def deleted_in(self, tx: Tx) -> None:
        """Dialogs were deleted from the table in `tx` (an erasure), perhaps behind a running
        server's back: nothing to tell anyone when every process reads the table each time."""

    async def reseal(self) -> int:
        """Encrypt every dialog in progress again with the newest key (`frontdesk keys rotate`)."""
        vault = self.store.vault
        assert vault is not None, "rotating keys needs the vault"
        rows = await self.store.fetchall("SELECT openid, data FROM dialogs")
        for row in rows:
            await self.store.write("UPDATE dialogs SET data=? WHERE openid=? AND data=?",
                                   vault.reseal(row["data"]) if row["data"] != "{}" else "{}", row["openid"], row["data"])
        return len(rows)


class Inquiries(_Repo):
    """The inquiry log (首问登记). A question is stored with its 身份证号 and phone numbers masked;
    the numbers themselves, which a clerk may need to call back, are kept beside it encrypted
    (`contact`), opened only on an audited reveal. A question belongs to the center the resident
    is bound to, else to the default center."""

    async def log(self, *, openid: str, question: str, intent: str, guide: str | None,
                  score: float | None, decision: str, at: datetime, default_center: str | None = None) -> None:
        masked, numbers = split_personal(question)
        await self.store.write_soon(   # committed with the writer's next batch, before the reply is recorded
            "INSERT INTO inquiries(openid, question, intent, guide, score, decision, at, center, contact) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT center FROM residents WHERE openid=?), ?), ?)",
            openid, masked, intent, guide, score, decision, iso(at), openid, default_center,
            self._seal("、".join(numbers)) if numbers else None)

    def _seal(self, text: str) -> str:
        vault = self.store.vault
        return vault.seal(text) if vault is not None else text

    def _shown(self, row: Any, opened: bool) -> dict[str, Any]:
        """A logged question for staff: masked again (it may predate masking), its contact opened
        only when asked for."""
        found = dict(row)
        found["question"] = mask_in_text(found["question"])
        vault = self.store.vault
        if found.get("contact") and not opened:
            found["contact"] = True
        elif found.get("contact") and vault is not None:
            found["contact"] = vault.open(found["contact"])
        return found

    async def of_resident(self, openid: str, limit: int = 30, *, opened: bool = False) -> list[dict[str, Any]]:
        """The resident's latest questions, oldest first: what they asked and what the bot made of it.
        `contact` is True where a number was typed, the numbers themselves when `opened`."""
        rows = await self.store.fetchall("SELECT * FROM inquiries WHERE openid=? ORDER BY id DESC LIMIT ?",
                                         openid, limit)
        return [self._shown(r, opened) for r in reversed(rows)]

    async def unanswered(self, since: datetime, limit: int = 5000,
                         centers: list[str] | None = None) -> list[dict[str, Any]]:
        """Questions the bot could not answer since `since`, newest first: no guide matched and no
        other intent (绑定, 预约, …) took the message either. With `centers`: those asked there."""
        where, args = "", []
        if centers is not None:
            where, args = f"AND center IN ({marks(centers)}) ", list(centers)
        rows = await self.store.fetchall(
            "SELECT question, at, guide, score FROM inquiries WHERE decision='fallback' "
            f"AND intent IN ('guide', 'unknown') AND at >= ? {where}"
            "ORDER BY id DESC LIMIT ?", iso(since), *args, limit)
        return [self._shown(r, False) for r in rows]

    async def unanswered_by_week(self, since: datetime, until: datetime,
                                 centers: list[str] | None = None) -> list[tuple[date, int]]:
        """How many questions the bot could not answer, week by week (weeks from Monday) from
        `since` to `until`, oldest first, weeks without any included."""
        counts: dict[date, int] = {}
        for row in await self.unanswered(since, limit=1_000_000, centers=centers):
            day = datetime.fromisoformat(row["at"]).date()
            monday = day - timedelta(days=day.weekday())
            counts[monday] = counts.get(monday, 0) + 1
        first = since.date() - timedelta(days=since.date().weekday())
        weeks, monday = [], first
        while monday <= until.date():
            weeks.append((monday, counts.get(monday, 0)))
            monday += timedelta(days=7)
        return weeks

    async def recent(self, limit: int = 50, decision: str | None = None) -> list[dict[str, Any]]:
        if decision:
            rows = await self.store.fetchall(
                "SELECT * FROM inquiries WHERE decision=? ORDER BY id DESC LIMIT ?", decision, limit)
        else:
            rows = await self.store.fetchall("SELECT * FROM inquiries ORDER BY id DESC LIMIT ?", limit)
        return [self._shown(r, False) for r in rows]

    async def reseal(self, batch: int = 500) -> int:
        """Encrypt every question's contact again with the newest key (`frontdesk keys rotate`)."""
        vault, done, after = self.store.vault, 0, 0
        assert vault is not None, "rotating keys needs the vault"
        while rows := await self.store.fetchall(
                "SELECT id, contact FROM inquiries WHERE contact IS NOT NULL AND id > ? ORDER BY id LIMIT ?",
                after, batch):
            for row in rows:
                await self.store.write("UPDATE inquiries SET contact=? WHERE id=?", vault.reseal(row["contact"]),
                                       row["id"])
            done += len(rows)
            after = rows[-1]["id"]
        return done


class ProcessedMessages(_Repo):
    """Messages claimed for handling. A message that needs an answer is kept with its claim
    (`pending`, encrypted by the caller) until its answer is recorded: a worker that dies while
    answering leaves it to be finished (`unfinished`, `resume`) once its claim is stale."""

    async def claim(self, key: str, openid: str, now: datetime, pending: str | None = None) -> bool:
        """True if this message is new and now ours to handle; False for a retry."""
        changed = await self.store.write(
            "INSERT INTO processed_messages(key, openid, created_at, pending) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(key) DO NOTHING", key, openid, iso(now), pending)
        return changed == 1

    async def take_over(self, key: str, now: datetime, claimed_before: datetime) -> bool:
        """Claim again a message whose first handler left no reply long ago (its process died)."""
        changed = await self.store.write(
            "UPDATE processed_messages SET created_at=? WHERE key=? AND reply IS NULL AND created_at < ?",
            iso(now), key, iso(claimed_before))
        return changed == 1

    async def answered(self, key: str, reply_json: str, final: bool = True) -> None:
        """The reply WeChat's retries get; `final`: it is the answer itself (not 请稍等)."""
        if final:
            await self.store.write("UPDATE processed_messages SET reply=?, pending=NULL WHERE key=?", reply_json, key)
        else:
            await self.store.write("UPDATE processed_messages SET reply=? WHERE key=?", reply_json, key)

    async def reply_for(self, key: str) -> tuple[bool, str | None]:
        row = await self.store.fetchone("SELECT reply FROM processed_messages WHERE key=?", key)
        return (row is not None, row["reply"] if row else None)

    async def renew(self, key: str, now: datetime) -> None:
        """Still answering it: the claim is not stale."""
        await self.store.write("UPDATE processed_messages SET created_at=? WHERE key=? AND pending IS NOT NULL",
                               iso(now), key)

    async def finished(self, key: str) -> None:
        """Its answer is on its way (in the outbox): nothing is left to finish."""
        await self.store.write("UPDATE processed_messages SET pending=NULL WHERE key=?", key)

    async def unfinished(self, claimed_before: datetime, limit: int = 100) -> list[tuple[str, str]]:
        """(key, pending) of messages claimed before then whose answer was never recorded."""
        rows = await self.store.fetchall(
            "SELECT key, pending FROM processed_messages WHERE pending IS NOT NULL AND created_at < ? "
            "ORDER BY created_at LIMIT ?", iso(claimed_before), limit)
        return [(row["key"], row["pending"]) for row in rows]

    async def resume(self, key: str, now: datetime, claimed_before: datetime) -> bool:
        """Claim again an unfinished message whose claim is stale; False if another did first."""
        changed = await self.store.write(
            "UPDATE processed_messages SET created_at=? WHERE key=? AND pending IS NOT NULL AND created_at < ?",
            iso(now), key, iso(claimed_before))
        return changed == 1

    async def purge_before(self, before: datetime) -> int:
        changed = await self.store.write("DELETE FROM processed_messages WHERE created_at < ?", iso(before))
        return changed


class Outbox(_Repo):
    async def add(self, openid: str, texts: list[str], now: datetime) -> None:
        await self.store.write_many(
            "INSERT INTO outbox(openid, text, created_at, next_at) VALUES (?, ?, ?, ?)",
            [(openid, text, iso(now), iso(now)) for text in texts])

    async def claim(self, now: datetime, lease: timedelta, owner: str, limit: int = 20) -> list[OutboxItem]:
        """Take up to `limit` due notices for `lease` in the name of `owner` (one pusher): no other
        pusher, in this process or another, takes them meanwhile. Only a resident's oldest unsent
        notice is due, so one resident's notices arrive in the order they were written, whichever
        worker sends them. A pusher that dies leaves its claims to run out; then another sends them.
        The lease covers one send, not the batch: the owner renews it before each send (`renew`)."""
        claimed = await self.store.fetchall(
            "UPDATE outbox SET claimed_until=?, claimed_by=? WHERE id IN ("
            "SELECT o.id FROM outbox o WHERE o.sent_at IS NULL AND o.dead_at IS NULL AND o.next_at <= ? "
            "AND (o.claimed_until IS NULL OR o.claimed_until <= ?) "
            "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.openid = o.openid AND e.id < o.id "
            "AND e.sent_at IS NULL AND e.dead_at IS NULL) "
            f"ORDER BY o.id LIMIT ?{self.store.db.skip_locked}) RETURNING id",
            _lease_end(now, lease), owner, iso(now), iso(now), limit)
        if not claimed:
            return []
        ids = [r["id"] for r in claimed]
        rows = await self.store.fetchall(
            f"SELECT {_ITEM_COLUMNS} FROM outbox o "
            f"LEFT JOIN residents r ON r.openid = o.openid WHERE o.id IN ({marks(ids)}) ORDER BY o.id", *ids)
        return [_item(r) for r in rows]

    async def renew(self, item_id: int, owner: str, now: datetime, lease: timedelta) -> bool:
        """Extend `owner`'s claim on a notice for one more send, only while the claim still holds:
        False when it ran out (another pusher may have taken the notice since) or the notice is
        no longer owed — the owner then leaves it alone, so it is never sent by two."""
        changed = await self.store.write(
            "UPDATE outbox SET claimed_until=? WHERE id=? AND claimed_by=? AND claimed_until > ? "
            "AND sent_at IS NULL AND dead_at IS NULL", _lease_end(now, lease), item_id, owner, iso(now))
        return changed == 1

    async def waiting(self, openid: str | None = None, limit: int = 1000) -> list[OutboxItem]:
        """Notices not yet sent nor given up, oldest first (claimed or not): to look, not to send."""
        where, args = "o.sent_at IS NULL AND o.dead_at IS NULL", []
        if openid is not None:
            where += " AND o.openid = ?"
            args.append(openid)
        rows = await self.store.fetchall(
            f"SELECT {_ITEM_COLUMNS} FROM outbox o "
            f"LEFT JOIN residents r ON r.openid = o.openid WHERE {where} ORDER BY o.id LIMIT ?", *args, limit)
        return [_item(r) for r in rows]

    async def renew_each(self, item_ids: list[int], owner: str, now: datetime, lease: timedelta) -> set[int]:
        """`renew` for several notices in one statement: those whose claim still held."""
        if not item_ids:
            return set()
        rows = await self.store.fetchall(
            f"UPDATE outbox SET claimed_until=? WHERE id IN ({marks(item_ids)}) AND claimed_by=? AND claimed_until > ? "
            "AND sent_at IS NULL AND dead_at IS NULL RETURNING id", _lease_end(now, lease), *item_ids, owner, iso(now))
        return {r["id"] for r in rows}

    async def sent_each(self, item_ids: list[int], now: datetime) -> None:
        """`sent` for several customer-service messages (no msgid) in one statement."""
        if item_ids:
            await self.store.write(f"UPDATE outbox SET sent_at=?, attempts=attempts+1, claimed_until=NULL, "
                                   f"claimed_by=NULL WHERE id IN ({marks(item_ids)})", iso(now), *item_ids)

    async def sent(self, item_id: int, now: datetime, wechat_msgid: str | None = None) -> None:
        """Sent; a template message keeps the msgid WeChat gave it, for WeChat's report on it."""
        await self.store.write("UPDATE outbox SET sent_at=?, attempts=attempts+1, claimed_until=NULL, "
                               "claimed_by=NULL, wechat_msgid=? WHERE id=?", iso(now), wechat_msgid, item_id)

    async def reported(self, openid: str, wechat_msgid: str, status: str, now: datetime) -> bool:
        """WeChat's report on a template message sent to `openid` (TEMPLATESENDJOBFINISH), kept with
        its notice. A failure (`failed:user block` …) also puts the notice among the dead, if it is
        not there already, so the staff call the resident. False if no such notice."""
        async with self.store.transaction() as db:
            changed = await db.execute("UPDATE outbox SET delivery=? WHERE wechat_msgid=? AND openid=?",
                                       status, wechat_msgid, openid)
            if changed and status.strip().lower() != "success":
                await db.execute("UPDATE outbox SET dead_at=?, last_error=? WHERE wechat_msgid=? AND openid=? "
                                 "AND dead_at IS NULL", iso(now), f"WeChat reported the template message {status}",
                                 wechat_msgid, openid)
            return bool(changed)

    async def failed(self, item_id: int, error: str, retry_at: datetime | None, now: datetime) -> None:
        if retry_at is None:
            await self.store.write("UPDATE outbox SET attempts=attempts+1, dead_at=?, last_error=?, "
                                   "claimed_until=NULL, claimed_by=NULL WHERE id=?", iso(now), error, item_id)
        else:
            await self.store.write("UPDATE outbox SET attempts=attempts+1, next_at=?, last_error=?, "
                                   "claimed_until=NULL, claimed_by=NULL WHERE id=?", iso(retry_at), error, item_id)

    async def dead(self, limit: int = 100, centers: list[str] | None = None, open_only: bool = False,
                   item_id: int | None = None) -> list[dict[str, Any]]:
        """Notices WeChat would not take. With `centers`: those of residents bound to, or with a case
        or booking at, one of them — the residents those centers' staff should call; `open_only`:
        those nobody has followed up yet. Each with the resident's latest case, whose details the
        caller needs."""
        where, args = "o.dead_at IS NOT NULL", []
        if centers is not None:
            where, args = where + _of_centers(centers), centers * 3
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

    async def resend(self, now: datetime, centers: list[str] | None = None, item_id: int | None = None,
                     since: datetime | None = None) -> list[int]:
        """Dead notices (of residents of `centers`; one, or all dead since `since`) owed again:
        due at once and retried for another day, as if just written. Their ids."""
        where, args = "dead_at IS NOT NULL AND sent_at IS NULL", []
        if centers is not None:
            where, args = where + _of_centers(centers, "outbox"), centers * 3
        if item_id is not None:
            where += " AND id = ?"
            args.append(item_id)
        if since is not None:
            where += " AND dead_at >= ?"
            args.append(iso(since))
        rows = await self.store.fetchall(
            "UPDATE outbox SET dead_at=NULL, last_error=NULL, handled_by=NULL, handled_at=NULL, delivery=NULL, "
            f"claimed_until=NULL, claimed_by=NULL, next_at=?, resent_at=? WHERE {where} RETURNING id",
            iso(now), iso(now), *args)
        return sorted(r["id"] for r in rows)

    async def handled(self, item_id: int, by: str, now: datetime) -> bool:
        """A person followed up a dead notice; False if someone already had."""
        changed = await self.store.write(
            "UPDATE outbox SET handled_by=?, handled_at=? WHERE id=? AND dead_at IS NOT NULL AND handled_at IS NULL",
            by, iso(now), item_id)
        return changed == 1

    async def pending_count(self) -> int:
        row = await self.store.fetchone("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL")
        return row["n"] if row else 0

    async def backlog(self) -> tuple[int, str | None, int]:
        """For monitoring: notices waiting, when the oldest of them was written, and dead notices
        nobody has followed up yet."""
        row = await self.store.fetchone(
            "SELECT COALESCE(SUM(CASE WHEN dead_at IS NULL THEN 1 ELSE 0 END), 0) AS waiting, "
            "MIN(CASE WHEN dead_at IS NULL THEN created_at END) AS oldest, "
            "COALESCE(SUM(CASE WHEN dead_at IS NOT NULL AND handled_at IS NULL THEN 1 ELSE 0 END), 0) AS dead "
            "FROM outbox WHERE sent_at IS NULL")
        return int(row["waiting"]), row["oldest"], int(row["dead"])




# what a pusher needs of a notice: the resident's last message opens WeChat's 48-hour window, and
# a notice is retried for a day from when it was written, or resent
_ITEM_COLUMNS = ("o.id, o.openid, o.text, o.attempts, COALESCE(o.resent_at, o.created_at) AS since, o.topic, "
                 "r.last_message_at")


def _of_centers(centers: list[str], table: str = "o") -> str:
    """SQL (AND …, three IN lists of `centers`) keeping the notices of residents those centers'
    staff should reach: bound to one of them, or with a case or booking there."""
    seen = marks(centers)
    return (f" AND (EXISTS (SELECT 1 FROM residents r WHERE r.openid={table}.openid AND r.center IN ({seen}))"
            f" OR EXISTS (SELECT 1 FROM cases c WHERE c.openid={table}.openid AND c.center IN ({seen}))"
            f" OR EXISTS (SELECT 1 FROM bookings b WHERE b.openid={table}.openid AND b.center IN ({seen})))")


def _lease_end(now: datetime, lease: timedelta) -> str:
    """When a claim ends, rounded up to the second times are stored in: never shorter than `lease`."""
    end = now + lease
    return iso(end + timedelta(microseconds=1_000_000 - end.microsecond) if end.microsecond else end)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(id=row["id"], openid=row["openid"], text=row["text"], attempts=row["attempts"],
                      created_at=datetime.fromisoformat(row["since"]),
                      topic=json.loads(row["topic"]) if row["topic"] else None,
                      last_message_at=datetime.fromisoformat(row["last_message_at"]) if row["last_message_at"] else None)


class AccessTokens(_Repo):
    """The WeChat access token, where every worker finds it: taking a new one invalidates the
    old, so workers must share one rather than each fetch their own."""

    async def get(self, app_id: str) -> tuple[str, datetime] | None:
        row = await self.store.fetchone("SELECT token, expires_at FROM access_tokens WHERE app_id=?", app_id)
        return (row["token"], datetime.fromisoformat(row["expires_at"])) if row else None

    async def fetched_at(self, app_id: str) -> datetime | None:
        """When the token kept now was taken from WeChat."""
        row = await self.store.fetchone("SELECT fetched_at FROM access_tokens WHERE app_id=?", app_id)
        return datetime.fromisoformat(row["fetched_at"]) if row and row["fetched_at"] else None

    async def save(self, app_id: str, token: str, expires_at: datetime, fetched_at: datetime | None = None) -> None:
        await self.store.write(
            "INSERT INTO access_tokens(app_id, token, expires_at, fetched_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(app_id) DO UPDATE SET token=excluded.token, expires_at=excluded.expires_at, "
            "fetched_at=excluded.fetched_at", app_id, token, iso(expires_at), iso(fetched_at) if fetched_at else None)
