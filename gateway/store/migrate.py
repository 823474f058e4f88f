"""Apply the Alembic migrations programmatically: ``await migrate(url)`` at startup.

No alembic.ini is shipped: :func:`alembic_config` builds the configuration in code,
pointing at the ``migrations`` package next to this module, so it works from an
installed wheel. For development (new revisions), from the repository root::

    .venv/bin/python -m gateway.store.migrate revision -m "add foo" [--autogenerate]
    .venv/bin/python -m gateway.store.migrate upgrade   # on $CONTACTGW_DATABASE__URL
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.engine import create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(target: str | AsyncEngine) -> None:
    """Bring the database at ``target`` (URL or engine) to the newest revision.

    Safe to call on every start: an up-to-date database is left alone; a fresh SQLite
    file is created.
    """
    engine = create_engine(target) if isinstance(target, str) else target
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to_head)
    finally:
        if isinstance(target, str):
            await engine.dispose()


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.store.migrate")
    sub = parser.add_subparsers(dest="command", required=True)
    revision = sub.add_parser("revision", help="write a new revision file")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--autogenerate", action="store_true")
    sub.add_parser("upgrade", help="upgrade the database to head")
    args = parser.parse_args(argv)
    url = os.environ.get("CONTACTGW_DATABASE__URL", "sqlite+aiosqlite:///var/contactgw.db")
    config = alembic_config(url)
    if args.command == "revision":
        command.revision(config, message=args.message, autogenerate=args.autogenerate)
    else:
        command.upgrade(config, "head")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
