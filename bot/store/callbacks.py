"""Callbacks already seen (against replays): each signed (timestamp, nonce) with a digest of the
message it came with (the gateway digests the XML it acts on, after any decryption).

In plain and compatible mode WeChat's signature covers only the token, the timestamp and the
nonce, not the body: a captured callback URL could carry another body, as another resident,
while its timestamp is inside the window. WeChat's own retries repeat the pair with the same
body. So a pair seen again is admitted only with the body it first came with; every worker sees
the same pairs (here in the database; in Redis when configured, `bot.store.redis`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.store.db import iso

if TYPE_CHECKING:
    from bot.store.store import Store


class CallbackNonces:
    def __init__(self, store: "Store"):
        self.store = store

    async def admit(self, stamp: str, nonce: str, digest: str, now: datetime, keep: timedelta) -> bool:
        """True when (stamp, nonce) is new — now remembered with `digest` — or came before with
        this same digest (WeChat's retry); False when it came before with another body. Kept
        until `purge_before` (`keep` is for backends that forget by themselves)."""
        changed = await self.store.write(
            "INSERT INTO callback_nonces(stamp, nonce, digest, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(stamp, nonce) DO NOTHING", stamp, nonce, digest, iso(now))
        if changed == 1:
            return True
        kept = await self.digest_of(stamp, nonce)
        return kept == digest

    async def digest_of(self, stamp: str, nonce: str) -> str | None:
        row = await self.store.fetchone("SELECT digest FROM callback_nonces WHERE stamp=? AND nonce=?", stamp, nonce)
        return row["digest"] if row else None

    async def purge_before(self, before: datetime) -> int:
        """Forget pairs first seen before `before`: their timestamps are outside the window."""
        return await self.store.write("DELETE FROM callback_nonces WHERE seen_at < ?", iso(before))
