"""Residents' dialogs kept in memory, written through to the store: for one process on SQLite.

With one process on a SQLite file (no Redis, no other worker), nothing but this process changes a
dialog, and the front desk reads a resident's dialog inside that resident's lock: the copy in
memory is the truth, and reading it costs no trip to the store. Every change is written through
(`Store.write_soon`: with the writer's next batch, in order with every other write), so the file
holds the same and a restart reads it back. A resident not yet in memory is read from the store
in order after the writes queued before (`Database.fetchall_in_order`), so a dialog dropped from
memory and written a moment ago is read as written. With several workers, or Redis, the store
stays the truth (`Dialogs`, `RedisDialogs`).

Another process may delete dialogs from the file behind this one's back: `frontdesk resident
erase` while the server runs. It raises the count in `dialogs_epoch` in the same transaction.
Before a dialog is read from memory, the writer is asked whether any other connection has
committed since its last batch (SQLite's data_version, read in each batch: no trip); if one has,
the count is read, in order after the writes queued before, and if it moved, every dialog in
memory is forgotten and read from the table again. A message read before the erasure and
answered after it may still write its dialog back, as on PostgreSQL, where a message in flight
does the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from datetime import datetime, timedelta

from bot.store.base import Dialog
from bot.store.db import iso
from bot.store.repos import Dialogs

log = logging.getLogger(__name__)

KEPT = 50_000   # residents whose dialogs are kept (the least recently used are dropped first)


class DialogsInMemory(Dialogs):
    in_table = False   # read from memory, the table only for a resident not in memory

    def __init__(self, store, kept: int = KEPT):
        super().__init__(store)
        self.kept = kept
        # openid → (state, data as JSON, last written) or None: known to have no dialog
        self._dialogs: OrderedDict[str, tuple[str, str, datetime] | None] = OrderedDict()
        self._epoch: int | None = None   # `dialogs_epoch` when last read
        self._others_seen = -1           # the writer's count of others' commits when the epoch was read
        self._looking = asyncio.Lock()

    async def get(self, openid: str, now: datetime, idle: timedelta) -> Dialog | None:
        if self.store.db.others_committed() != self._others_seen:
            await self._forget_if_erased()
        if openid not in self._dialogs:
            row = next(iter(await self.store.db.fetchall_in_order(
                "SELECT state, data, updated_at FROM dialogs WHERE openid=?", openid)), None)
            self._keep(openid, None if row is None else (
                row["state"], self._open(row["data"]), datetime.fromisoformat(row["updated_at"])))
        self._dialogs.move_to_end(openid)
        found = self._dialogs[openid]
        if found is None:
            return None
        state, data, updated_at = found
        if updated_at + idle < now:
            await self.clear(openid)
            return None
        return Dialog(state=state, data=json.loads(data))   # a copy: a handler changes it only by `set`

    async def set(self, openid: str, dialog: Dialog, now: datetime) -> None:
        data = json.dumps(dialog.data, ensure_ascii=False)
        self._keep(openid, (dialog.state, data, now))
        await self.store.write_soon(
            "INSERT INTO dialogs(openid, state, data, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(openid) DO UPDATE SET state=excluded.state, data=excluded.data, "
            "updated_at=excluded.updated_at",
            openid, dialog.state, self._seal(data), iso(now))

    async def deleted_in(self, tx) -> None:
        await tx.execute("UPDATE dialogs_epoch SET n = n + 1 WHERE id = 1")

    async def _forget_if_erased(self) -> None:
        async with self._looking:   # one look at a time; whoever waited finds it done
            others = self.store.db.others_committed()
            if others == self._others_seen:
                return
            rows = await self.store.db.fetchall_in_order("SELECT n FROM dialogs_epoch WHERE id = 1")
            epoch = rows[0]["n"]
            if self._epoch is not None and epoch != self._epoch:
                log.info("dialogs were erased from the store file by another process: %d in memory forgotten",
                         len(self._dialogs))
                self._dialogs.clear()
            self._epoch, self._others_seen = epoch, others

    async def clear(self, openid: str) -> None:
        self._keep(openid, None)
        await self.store.write_soon("DELETE FROM dialogs WHERE openid=?", openid)

    def _keep(self, openid: str, value: tuple[str, str, datetime] | None) -> None:
        self._dialogs[openid] = value
        self._dialogs.move_to_end(openid)
        while len(self._dialogs) > self.kept:
            self._dialogs.popitem(last=False)
