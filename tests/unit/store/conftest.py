"""Every store test runs on both backends: SQLite (the embedded default) and PostgreSQL
(a throwaway server, tests/support/postgres.py, with a fresh database per test).

A test that is about one backend's mechanics says so: ``@pytest.mark.backends("sqlite")``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store import Database
from tests.support.database import migrated, sqlite_url
from tests.support.postgres import pg_server, pg_url  # noqa: F401  (fixtures)

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
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    async with migrated(db_url) as database:
        yield database
