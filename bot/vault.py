"""Personal data at rest (个人信息保护): 身份证号 and phone numbers are stored encrypted, and so
is a resident's half-finished dialog, which may hold them.

Keys come from the environment, never from the config file or the repository:
`FRONTDESK_DATA_KEYS` holds one or more Fernet keys (`frontdesk keys new` makes one), newest
first, separated by commas. Values are encrypted with the newest; any listed key decrypts, so
rotation is: put a new key first, restart, `frontdesk keys rotate` (re-encrypts everything with
it), then drop the old key. Fernet is AES-128-CBC with HMAC-SHA256 from `cryptography`.

A phone number is also kept as a keyed hash (a blind index), so staff can still find a case by
the full number without the number being readable in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.errors import ConfigError, FrontdeskError

ENV = "FRONTDESK_DATA_KEYS"
SEALED = "enc:"                 # the prefix of an encrypted value
SECRET_FIELDS = ("phone", "id_number")


class SealBroken(FrontdeskError):
    """A stored value none of the configured keys opens (a key was dropped too early)."""


def new_key() -> str:
    return Fernet.generate_key().decode()


class Vault:
    def __init__(self, keys: list[str]):
        if not keys:
            raise ConfigError(f"{ENV}: no key; create one with `frontdesk keys new`")
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except (ValueError, TypeError):
            raise ConfigError(f"{ENV}: each key must be a Fernet key (32 bytes, url-safe base64), as "
                              "`frontdesk keys new` prints it") from None
        # the blind index follows the newest key, so `keys rotate` recomputes it too; until then an
        # index made with an older key listed is still found (`blinds`)
        self._index_keys = [hashlib.sha256(b"frontdesk blind index\x00" + k.strip().encode()).digest() for k in keys]
        self._index_key = self._index_keys[0]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Vault":
        raw = (environ if environ is not None else os.environ).get(ENV, "")
        return cls([k for k in raw.split(",") if k.strip()])

    def seal(self, value: str) -> str:
        return SEALED + self._fernet.encrypt(value.encode("utf-8")).decode()

    def open(self, value: str) -> str:
        if not value.startswith(SEALED):
            return value   # written before encryption at rest, or not secret
        try:
            return self._fernet.decrypt(value[len(SEALED):].encode()).decode("utf-8")
        except InvalidToken:
            raise SealBroken("a stored value cannot be decrypted with the keys in " + ENV) from None

    def reseal(self, value: str) -> str:
        """The same value encrypted with the newest key (for `keys rotate`)."""
        if not value.startswith(SEALED):
            return self.seal(value)
        try:
            return SEALED + self._fernet.rotate(value[len(SEALED):].encode()).decode()
        except InvalidToken:
            raise SealBroken("a stored value cannot be decrypted with the keys in " + ENV) from None

    def blind(self, phone: str, key: bytes | None = None) -> str:
        """A keyed hash of a phone number: equal numbers, equal hashes; the number not recoverable."""
        return hmac.new(key or self._index_key, phone.strip().encode(), hashlib.sha256).hexdigest()[:32]

    def blinds(self, phone: str) -> list[str]:
        """The phone's blind index under every listed key: what a search looks for, so a case
        is found between a key change and `keys rotate`."""
        return [self.blind(phone, key) for key in self._index_keys]

    # what the case repository stores --------------------------------------------------------

    def seal_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        """A case's data as stored: secret fields encrypted, the phone's blind index beside it."""
        out = dict(data)
        for name in SECRET_FIELDS:
            if isinstance(out.get(name), str) and out[name] and not out[name].startswith(SEALED):
                if name == "phone":
                    out["phone_index"] = self.blind(out[name])
                out[name] = self.seal(out[name])
        return out

    def open_fields(self, data: dict[str, Any], unreadable: list[str] | None = None) -> dict[str, Any]:
        """A case's data opened. With `unreadable`, a field no listed key opens is named there and
        left empty (None) instead of stopping everything (a resident's export goes on)."""
        out = {k: v for k, v in data.items() if k != "phone_index"}
        for name in SECRET_FIELDS:
            if isinstance(out.get(name), str):
                try:
                    out[name] = self.open(out[name])
                except SealBroken:
                    if unreadable is None:
                        raise
                    unreadable.append(name)
                    out[name] = None
        return out
