"""Alembic environment: async-aware, and usable both ways.

- At startup, gateway.store.migrate runs ``command.upgrade`` on a connection it
  already opened (``config.attributes["connection"]``), inside our own transaction
  (on SQLite that is BEGIN IMMEDIATE, so two processes cannot migrate at once).
- From a shell, with ``sqlalchemy.url`` set on the Config (see gateway/store/migrate.py
  ``alembic_config``), it opens an async engine itself; ``--sql`` (offline) works too.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from gateway.store.engine import create_engine
from gateway.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url on the Alembic config (see gateway.store.migrate)")
    if context.is_offline_mode():
        context.configure(
            url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(url))


_main()
