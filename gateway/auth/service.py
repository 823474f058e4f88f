"""Authentication against the database, a short cache, and the audit trail.

Theory of operation. The API checks each bearer token against the ``api_tokens``
table (the CLI writes it, possibly from another process while the gateway runs). A
lookup result is cached for `CACHE_TTL` seconds (monotonic clock), known and unknown
tokens alike, so a burst of requests costs one SELECT; a token revoked from the CLI
therefore stops working within `CACHE_TTL` (< 1 s). Whether auth is on at all
("some user exists, or ``api.admin_token`` is set") is cached the same way, so the
first ``contactgw users add`` closes an open API within the same bound.

``api.admin_token`` stays a built-in admin token, checked before the database (it
keeps working while the database is unreachable). With no user and no admin token
the API is open, as in the embedded quick-start: every request acts as the
`ANONYMOUS` admin, and `announce` logs a warning at start.

While the database cannot be asked (PostgreSQL restarting, SQLite locked past its
timeout), a token seen before keeps its last known principal (the cache entry is used
past its TTL) and a token never seen gets `AuthUnavailable` (503), never a 401 or a 500:
the API of a gateway whose calls go on through a database outage stays usable.

``last_used_at`` is written at most every `TOUCH_EVERY` seconds per token, in a
background task: no request waits for a write lock to record that it happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gateway.auth.errors import AuthUnavailable, Unauthenticated
from gateway.auth.permissions import Role
from gateway.auth.tokens import hash_token, matches, token_id
from gateway.store.engine import Database
from gateway.store.users import AuditEntry, AuditStore, UserStore

log = logging.getLogger("gateway.auth")

CACHE_TTL = 0.5  # seconds
# what a database that cannot be asked raises (driver errors are wrapped by SQLAlchemy;
# a refused connection or a timeout may surface as it is)
UNREACHABLE = (SQLAlchemyError, OSError, TimeoutError)
CACHE_SIZE = 4096
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as."""

    name: str
    role: Role
    agent_id: str | None = None  # the agent an `agent` user is bound to
    token_id: str | None = None


ADMIN_TOKEN = Principal("admin_token", Role.ADMIN)
ANONYMOUS = Principal("anonymous", Role.ADMIN)  # auth off: the open quick-start API


def utcnow() -> datetime:
    return datetime.now(UTC)


class Authenticator:
    def __init__(
        self,
        db: Database | None,
        admin_token: str | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
        ttl: float = CACHE_TTL,
    ) -> None:
        self._users = UserStore(db) if db is not None else None
        self._audit = AuditStore(db) if db is not None else None
        self._admin_hash = hash_token(admin_token) if admin_token else None
        self._monotonic, self._now, self._ttl = monotonic, now, ttl
        self._tokens: dict[str, tuple[float, Principal | None]] = {}
        self._auth_on: tuple[float, bool] | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def audit_store(self) -> AuditStore | None:
        return self._audit

    async def announce(self) -> None:
        """At start: warn if the API is open to anyone who can reach it."""
        if not await self.enabled():
            log.warning(
                "API authentication is off (no users, no api.admin_token): every route is "
                "open; add a user with `contactgw users add NAME --role admin`"
            )

    async def enabled(self) -> bool:
        if self._admin_hash is not None:
            return True
        if self._users is None:
            return False
        now = self._monotonic()
        if self._auth_on is None or now >= self._auth_on[0]:
            try:
                on = await self._users.any_user()
            except UNREACHABLE as exc:
                if self._auth_on is None:
                    raise AuthUnavailable(f"the user database is unreachable: {exc}") from exc
                return self._auth_on[1]  # as it was when last asked
            if self._auth_on is not None and on != self._auth_on[1]:
                log.warning("API authentication is now %s", "on" if on else "off (no users)")
            self._auth_on = (now + self._ttl, on)
        return self._auth_on[1]

    async def authenticate(self, token: str | None) -> Principal:
        """The principal of a bearer token; raises Unauthenticated."""
        if self._admin_hash is not None and token is not None and matches(token, self._admin_hash):
            return ADMIN_TOKEN
        if not await self.enabled():
            return ANONYMOUS
        if token is None:
            raise Unauthenticated("a bearer token is required")
        principal = await self._lookup(token)
        if principal is None:
            raise Unauthenticated("unknown or revoked token")
        return principal

    async def _lookup(self, token: str) -> Principal | None:
        key = hash_token(token)
        now = self._monotonic()
        cached = self._tokens.get(key)
        if cached is not None and now < cached[0]:
            return cached[1]
        try:
            principal = await self._from_store(token)
        except UNREACHABLE as exc:
            if cached is not None:
                return cached[1]  # stale, but the database cannot say otherwise now
            raise AuthUnavailable(f"the user database is unreachable: {exc}") from exc
        if len(self._tokens) >= CACHE_SIZE:
            self._tokens.clear()
        self._tokens[key] = (now + self._ttl, principal)
        return principal

    async def _from_store(self, token: str) -> Principal | None:
        tid = token_id(token)
        if tid is None or self._users is None:
            return None
        owner = await self._users.token_owner(tid)
        if owner is None or owner.revoked or not matches(token, owner.sha256):
            return None
        stamp = self._now()
        if owner.last_used_at is None or stamp - owner.last_used_at >= TOUCH_EVERY:
            self._spawn(self._users.touch(tid, stamp))
        return Principal(owner.user, Role(owner.role), owner.agent_id, tid)

    def forget(self) -> None:
        """Drop the cache (after a change made in this process)."""
        self._tokens.clear()
        self._auth_on = None

    async def audit(
        self,
        who: Principal,
        action: str,
        *,
        outcome: str,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        if self._audit is None:
            return
        entry = AuditEntry(
            at=self._now(),
            user=who.name,
            role=who.role.value,
            action=action,
            outcome=outcome,
            target=target,
            details=details or {},
        )
        try:
            await self._audit.add(entry)
        except Exception:  # logged with the entry; the request itself was served
            log.exception("audit entry lost: %s", entry)

    @contextlib.asynccontextmanager
    async def audited(
        self,
        who: Principal,
        action: str,
        *,
        refused: type[Exception] | tuple[type[Exception], ...],
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AsyncIterator[None]:
        """Audit what the block does: "ok", or the name of a `refused` error it raised
        (which goes on up); other errors are not an outcome of the request's own."""
        try:
            yield
        except refused as exc:
            await self.audit(who, action, outcome=type(exc).__name__, target=target,
                             details=details)  # fmt: skip
            raise
        await self.audit(who, action, outcome="ok", target=target, details=details)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not record a token's last use: %s", task.exception())

    async def settled(self) -> None:
        """Wait for the background writes (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
