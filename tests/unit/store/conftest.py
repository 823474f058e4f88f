"""Every store test runs on both backends: SQLite (the embedded default) and PostgreSQL
(a throwaway server, tests/support/postgres.py, with a fresh database per test).

``db_url`` is this test's database (SQLite: a file not created yet; PostgreSQL: a copy
of one the migrations built, so ``migrate`` has nothing left to do); ``empty_db_url`` is
an empty one on either backend, for the migrations' own tests; ``db`` opens ``db_url``
at the newest revision.

A test that is about one backend's mechanics says so: ``@pytest.mark.backends("sqlite")``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store import Database
from tests.support.database import migrated, postgres_at_head, sqlite_url
from tests.support.postgres import PostgresServer, pg_server, pg_url  # noqa: F401  (fixtures)

BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): run a store test on these backends only (sqlite, postgresql)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = marker.args if marker else BACKENDS
        unknown = set(names) - set(BACKENDS)
        if unknown:
            raise ValueError(f"unknown backends {sorted(unknown)}: use {BACKENDS}")
        metafunc.parametrize("backend", names)


@pytest.fixture
async def pg_head_url(pg_server: PostgresServer) -> AsyncIterator[str]:  # noqa: F811
    url = await postgres_at_head(pg_server)
    try:
        yield url
    finally:
        await pg_server.drop_database(url)


# sync, so that they can ask for the async PostgreSQL fixtures only when needed
@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_head_url"))


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    async with migrated(db_url) as database:
        yield database
