"""The store fixtures' building blocks, shared by every suite that needs a database.

    url = sqlite_url(tmp_path)                  # a file under tmp_path/data (not created)
    async with migrated(url) as db: ...         # Database at the newest revision, closed after

tests/unit/store/conftest.py runs its suite on SQLite and PostgreSQL (tests/support/postgres.py);
other suites use SQLite, the embedded default.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from gateway.store import Database, migrate


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
