"""Engines and transactions.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) is for production.
For SQLite, every connection gets WAL (readers do not block the writer), foreign
keys, and a busy timeout; and every transaction starts with ``BEGIN IMMEDIATE``.

Why IMMEDIATE: the sqlite3 driver's default does not begin a transaction for SELECT,
and a plain ``BEGIN`` is DEFERRED, taking the write lock only at the first write.
Two read-modify-write transactions can then both read the old value and one update
is lost (or fails with SQLITE_BUSY on the upgrade). ``BEGIN IMMEDIATE`` takes the
write lock up front, so writers queue behind ``busy_timeout`` instead. We take
transaction control away from the driver (``isolation_level = None``) and emit our
own BEGIN from the engine's ``begin`` event: SQLAlchemy's documented recipe for
sqlite3/aiosqlite. Read-heavy paths can still use a separate engine if needed;
at our write rate (a few rows per call) a single writer is ample.

PostgreSQL keeps the same contract. Its default READ COMMITTED lets two
read-modify-write transactions read the same old value (the store's repositories
rely on not seeing that: the outbox numbers a subject's events ``MAX + 1`` in the
INSERT, a routing apply reads the current version before writing the next), so every
write transaction starts by taking one transaction-scoped advisory lock,
:data:`WRITER_LOCK`, released at commit or rollback: writers queue as on SQLite, across
processes too, and wait at most the busy timeout (``lock_timeout``, set for that
transaction only). Reads (:meth:`Database.reading`) take no lock and run
REPEATABLE READ, READ ONLY: one snapshot for the whole transaction, like a WAL reader.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gateway.store.types import json_dumps

BUSY_TIMEOUT_MS = 5000
READONLY = "contactgw_readonly"
# pg_advisory_xact_lock key of the single writer (any bigint; "contactg" in ASCII)
WRITER_LOCK = 0x636F6E7461637467


def create_engine(
    url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, echo: bool = False
) -> AsyncEngine:
    """An async engine for ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URLs.

    The SQLite file's directory is created if missing.
    """
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, json_serializer=json_dumps)
        _configure_sqlite(engine, busy_timeout_ms, in_memory=database in ("", ":memory:"))
        return engine
    if parsed.drivername == "postgresql+asyncpg":
        engine = create_async_engine(url, echo=echo, pool_pre_ping=True, json_serializer=json_dumps)
        _configure_postgresql(engine, busy_timeout_ms)
        return engine
    raise ValueError(
        f"unsupported database URL {parsed.drivername!r}: use sqlite+aiosqlite or postgresql+asyncpg"
    )


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int, *, in_memory: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see below
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough with WAL
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # a read-only transaction (Database.reading) needs no write lock: WAL readers
        # see a consistent snapshot and never block the writer
        readonly = connection.get_execution_options().get(READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def _configure_postgresql(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    # lock_timeout 0 would mean "wait forever": the shortest real wait instead
    take_lock = (
        f"SELECT set_config('lock_timeout', '{max(1, int(busy_timeout_ms))}ms', true), "
        f"pg_advisory_xact_lock({WRITER_LOCK})"
    )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if not connection.get_execution_options().get(READONLY, False):
            connection.exec_driver_sql(take_lock)


def is_postgresql(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


class Database:
    """An engine plus a session factory; the store's repositories take one of these."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        readonly: dict[str, Any] = {READONLY: True}
        if is_postgresql(engine):
            readonly.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self._readers = async_sessionmaker(
            engine.execution_options(**readonly), expire_on_commit=False
        )

    @classmethod
    def open(cls, url: str) -> Database:
        return cls(create_engine(url))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on exit, rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for SELECTs only: on SQLite a deferred BEGIN (no write lock), on
        PostgreSQL a read-only snapshot without the writer lock, so frequent reads (the
        events publisher's) do not queue behind or block writers."""
        async with self._readers() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
