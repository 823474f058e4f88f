"""API tokens: ``cgw_<id>_<secret>``, random, stored as their SHA-256 only.

`<secret>` is ``secrets.token_urlsafe(32)`` (256 random bits); `<id>` is 8 hex
characters, also random, shown by ``contactgw users list`` and used to find the
token's row and to revoke it. The ``cgw_`` prefix lets secret scanners spot a token
pasted where it should not be.

Why a plain SHA-256 and not bcrypt/scrypt/argon2: slow, salted hashes exist to make
guessing *low-entropy* secrets (passwords) expensive. A 256-bit random token cannot
be guessed or brute-forced from its hash whatever the hash's speed, so a fast hash
loses nothing, and it keeps each request's check to a microsecond instead of tens of
milliseconds of deliberate CPU burn on our two cores. Comparisons use
`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "cgw_"
_SHAPE = re.compile(r"^cgw_([0-9a-f]{8})_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True, slots=True)
class NewToken:
    id: str
    token: str  # shown once, never stored
    sha256: str


def new_token() -> NewToken:
    token_id = secrets.token_hex(4)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    return NewToken(token_id, token, hash_token(token))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_id(token: str) -> str | None:
    """The id inside a well-formed token, None for anything else."""
    match = _SHAPE.match(token)
    return match.group(1) if match else None


def matches(token: str, sha256: str) -> bool:
    return hmac.compare_digest(hash_token(token), sha256)
