"""Every store test runs on both backends: SQLite (the embedded default) and PostgreSQL
(a throwaway server, tests/support/postgres.py, with a fresh database per test), through
the shared building blocks in tests/support/database.py.

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
from tests.support.database import (  # noqa: F401  (fixtures)
    backend_db_url,
    migrated,
    parametrize_backends,
    pg_head_url,
    sqlite_url,
)
from tests.support.postgres import pg_server, pg_url  # noqa: F401  (fixtures)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): run a store test on these backends only (sqlite, postgresql)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc)


@pytest.fixture
def db_url(backend_db_url: str) -> str:  # noqa: F811
    return backend_db_url


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    async with migrated(db_url) as database:
        yield database
