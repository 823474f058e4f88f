"""API users, their tokens (hashes only) and the audit log: the queries of gateway.auth.

The store never sees a token, only its id (the token's prefix, for lookup and
revocation) and its SHA-256; hashing lives in gateway.auth.tokens. Audit writes are
one small transaction each, retried while the database is briefly locked, so an entry
is not lost to a concurrent writer holding SQLite's lock past ``busy_timeout``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from gateway.store.engine import Database
from gateway.store.models import ApiToken, AuditLog, User
from gateway.store.records import NotFoundError, StoreError
from gateway.store.types import after as past

AUDIT_RETRIES = 5
AUDIT_RETRY_DELAY = 0.05  # seconds, doubled per attempt


class DuplicateUser(StoreError):
    pass


@dataclass(frozen=True, slots=True)
class UserRecord:
    name: str
    role: str
    agent_id: str | None
    created_at: datetime
    tokens: tuple[TokenRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    user: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """What a token lookup returns: the stored hash to compare, and whose it is."""

    token_id: str
    sha256: str
    user: str
    role: str
    agent_id: str | None
    revoked: bool
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    user: str
    role: str
    action: str
    outcome: str
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None  # set once stored


class UserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_user(
        self,
        name: str,
        role: str,
        agent_id: str | None,
        *,
        token_id: str,
        sha256: str,
        now: datetime,
    ) -> None:
        """The user and its first token, in one transaction."""
        try:
            async with self._db.transaction() as session:
                user = User(name=name, role=role, agent_id=agent_id, created_at=now)
                session.add(user)
                await session.flush()
                session.add(ApiToken(id=token_id, user_id=user.id, sha256=sha256, created_at=now))
        except IntegrityError:
            raise DuplicateUser(f"user {name!r} exists") from None

    async def add_token(self, name: str, *, token_id: str, sha256: str, now: datetime) -> None:
        async with self._db.transaction() as session:
            user_id = await session.scalar(select(User.id).where(User.name == name))
            if user_id is None:
                raise NotFoundError(f"no user {name!r}")
            session.add(ApiToken(id=token_id, user_id=user_id, sha256=sha256, created_at=now))

    async def remove_user(self, name: str) -> None:
        async with self._db.transaction() as session:
            user_id = await session.scalar(select(User.id).where(User.name == name))
            if user_id is None:
                raise NotFoundError(f"no user {name!r}")
            # explicit: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON
            await session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
            await session.execute(delete(User).where(User.id == user_id))

    async def revoke_token(self, token_id: str, now: datetime) -> str:
        """Revoke it; returns the owner's name. Revoking twice keeps the first time."""
        async with self._db.transaction() as session:
            row = (
                await session.execute(
                    select(ApiToken.revoked_at, User.name)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.id == token_id)
                )
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"no token {token_id!r}")
            if row.revoked_at is None:
                await session.execute(
                    update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=now)
                )
            return str(row.name)

    async def users(self) -> list[UserRecord]:
        async with self._db.reading() as session:
            users = (await session.scalars(select(User).order_by(User.name))).all()
            tokens = (await session.scalars(select(ApiToken).order_by(ApiToken.created_at))).all()
        names = {u.id: u.name for u in users}
        by_user: dict[int, list[TokenRecord]] = {}
        for t in tokens:
            record = TokenRecord(t.id, names[t.user_id], t.created_at, t.last_used_at, t.revoked_at)
            by_user.setdefault(t.user_id, []).append(record)
        return [
            UserRecord(u.name, u.role, u.agent_id, u.created_at, tuple(by_user.get(u.id, ())))
            for u in users
        ]

    async def any_user(self) -> bool:
        async with self._db.reading() as session:
            return bool(await session.scalar(select(exists().where(User.id.is_not(None)))))

    async def token_owner(self, token_id: str) -> TokenOwner | None:
        async with self._db.reading() as session:
            row = (
                await session.execute(
                    select(ApiToken, User)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.id == token_id)
                )
            ).one_or_none()
        if row is None:
            return None
        token, user = row
        return TokenOwner(
            token_id=token.id,
            sha256=token.sha256,
            user=user.name,
            role=user.role,
            agent_id=user.agent_id,
            revoked=token.revoked_at is not None,
            last_used_at=token.last_used_at,
        )

    async def touch(self, token_id: str, now: datetime) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
            )


class AuditStore:
    def __init__(
        self, db: Database, *, retries: int = AUDIT_RETRIES, delay: float = AUDIT_RETRY_DELAY
    ) -> None:
        self._db, self._retries, self._delay = db, retries, delay

    async def add(self, entry: AuditEntry) -> None:
        """One INSERT in its own transaction; retried if the database stays locked."""
        delay = self._delay
        for attempt in range(self._retries + 1):
            try:
                async with self._db.transaction() as session:
                    session.add(
                        AuditLog(
                            at=entry.at,
                            user_name=entry.user,
                            role=entry.role,
                            action=entry.action,
                            target=entry.target,
                            details=entry.details,
                            outcome=entry.outcome,
                        )
                    )
                return
            except OperationalError:  # "database is locked" past busy_timeout
                if attempt == self._retries:
                    raise
                await asyncio.sleep(delay)
                delay *= 2

    async def page(
        self,
        *,
        after: int | None = None,
        since: datetime | None = None,
        user: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Oldest first, after the entry with id `after`."""
        query = select(AuditLog).order_by(AuditLog.id).limit(limit)
        if after is not None:
            query = query.where(past(AuditLog.id, after))
        if since is not None:
            query = query.where(AuditLog.at >= since)
        if user is not None:
            query = query.where(AuditLog.user_name == user)
        if action is not None:
            query = query.where(AuditLog.action == action)
        async with self._db.reading() as session:
            rows = (await session.scalars(query)).all()
        return [
            AuditEntry(
                at=r.at,
                user=r.user_name,
                role=r.role,
                action=r.action,
                outcome=r.outcome,
                target=r.target,
                details=dict(r.details),
                id=r.id,
            )
            for r in rows
        ]
