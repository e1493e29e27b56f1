"""Staff passwords: argon2id through argon2-cffi, the field's recommended hash.

Hashing takes tens of milliseconds on purpose, so the console calls these in a thread.
Accounts created before argon2 carry a salted scrypt hash; it is still verified and replaced by
an argon2 hash at the next successful sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
# verified against when the name is unknown, so a wrong name takes as long as a wrong password
_DUMMY = _HASHER.hash("frontdesk: no such staff member")

MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _scrypt_matches(stored: str, password: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        mine = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(mine, base64.b64decode(digest))


def verify_password(stored: str | None, password: str) -> tuple[bool, bool]:
    """(matches, should be rehashed). A missing hash never matches but costs the same time."""
    if not stored:
        try:
            _HASHER.verify(_DUMMY, password + "\x00")
        except VerificationError:
            pass
        return False, False
    if stored.startswith("scrypt$"):
        return _scrypt_matches(stored, password), True
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, _HASHER.check_needs_rehash(stored)


def weak(password: str) -> bool:
    """Too short, or one kind of character only: refused when an account is given a password."""
    return len(password) < MIN_LENGTH or password.isdigit() or password.isalpha()
