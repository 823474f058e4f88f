"""Errors of authentication and authorisation, transport-neutral (no HTTP here).

    AuthError
    ├── Unauthenticated   no token, an unknown one, or a revoked one
    ├── Forbidden         a known token whose role lacks the permission (names it)
    ├── AuthUnavailable   the user database cannot be asked (and the token is not cached)
    └── InvalidUser       a user or token request the CLI refuses (bad role, name...)

gateway/api/errors.py maps them to HTTP (401 with ``WWW-Authenticate: Bearer``, 403,
503 with ``Retry-After``).
"""

from __future__ import annotations


class AuthError(Exception):
    pass


class Unauthenticated(AuthError):
    pass


class Forbidden(AuthError):
    def __init__(self, permission: str, reason: str) -> None:
        super().__init__(reason)
        self.permission = permission


class InvalidUser(AuthError):
    pass


class AuthUnavailable(AuthError):
    pass
