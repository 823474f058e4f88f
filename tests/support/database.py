"""The store fixtures' building blocks, shared by every suite that needs a database.

    url = sqlite_url(tmp_path)                  # a file under tmp_path/data (not created)
    url = await postgres_at_head(pg_server)     # a fresh PostgreSQL database, already migrated
    async with migrated(url) as db: ...         # Database at the newest revision, closed after

Both backends for a suite (tests/unit/store and the API
suites tests/integration/api_auth and tests/unit/api through this module): in its
conftest,

    from tests.support.database import backend_db_url, parametrize_backends, pg_head_url
    from tests.support.postgres import pg_server  # noqa: F401  (fixtures)

    def pytest_generate_tests(metafunc): parametrize_backends(metafunc)

and a fixture asks for ``backend_db_url`` (this test's database: SQLite, a file not
created yet; PostgreSQL, a fresh copy of one migrated once per session, dropped after).
Every test that uses it, directly or through other fixtures, runs once per backend
(``[sqlite]``, ``[postgresql]``); a ``backends`` marker narrows one test, where the
conftest registers it (tests/unit/store's does).
Without the PostgreSQL binaries the ``[postgresql]`` runs skip (fail under ``CI``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from gateway.store import Database, migrate
from tests.support.postgres import PostgresServer

HEAD = "head"
BACKENDS = ("sqlite", "postgresql")


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'contactgw.db'}"


@asynccontextmanager
async def migrated(url: str) -> AsyncIterator[Database]:
    database = Database.open(url)
    try:
        await migrate(database.engine)
        yield database
    finally:
        await database.close()


async def postgres_at_head(server: PostgresServer) -> str:
    """A fresh database at the newest revision: a copy of one migrated once per server
    (running the migrations costs ~0.4 s a database on PostgreSQL, a copy ~0.03 s)."""
    template = server.templates.get(HEAD)
    if template is None:
        url = await server.create_database()
        await migrate(url)  # disposes of its engine: a template must have no connections
        template = server.templates[HEAD] = url.rsplit("/", 1)[1]
    return await server.create_database(template=template)


def parametrize_backends(metafunc: pytest.Metafunc) -> None:
    """For a conftest's ``pytest_generate_tests``: a test that needs ``backend`` (e.g.
    through ``backend_db_url``) runs on each of BACKENDS, or those its ``backends``
    marker names."""
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker else BACKENDS
    unknown = set(names) - set(BACKENDS)
    if unknown:
        raise ValueError(f"unknown backends {sorted(unknown)}: use {BACKENDS}")
    metafunc.parametrize("backend", names)


@pytest.fixture
async def pg_head_url(pg_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh database at the newest revision on the session's server, dropped after."""
    url = await postgres_at_head(pg_server)
    try:
        yield url
    finally:
        await pg_server.drop_database(url)


# sync, so that it asks for the async PostgreSQL fixtures only on that backend
@pytest.fixture
def backend_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """This test's database URL on ``backend`` (SQLite: not created yet; PostgreSQL:
    already migrated, so ``migrate`` has nothing left to do)."""
    if backend == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_head_url"))
