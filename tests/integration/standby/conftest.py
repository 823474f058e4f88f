"""PostgreSQL for the standby tests (tests/support/postgres.py) and the lock's view of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from gateway.control.standby import LOCK_CLASS, asyncpg_dsn, lock_key
from tests.support.postgres import pg_server, pg_url  # noqa: F401  (fixtures)

KEY = lock_key("contactgw")  # control.standby_key's default


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection to the SQLAlchemy URL's database."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[asyncpg.Connection]:  # noqa: F811
    async with connection(pg_url) as conn:
        yield conn


async def lock_backend(conn: asyncpg.Connection, application_name: str) -> int | None:
    """The backend pid of the session so named, if it holds the control-plane lock."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 "
        "AND a.application_name = $3",
        LOCK_CLASS, KEY, application_name,
    )  # fmt: skip


def wait_for_lock(conn: asyncpg.Connection) -> Awaitable[Any]:
    """A contender: `conn` queues for the lock (resolves once it holds it)."""
    return conn.fetchval("SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, KEY)
