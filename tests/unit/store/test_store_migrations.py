"""Migrations on a fresh database (SQLite and PostgreSQL), and the schema they build
matches the models (what ``alembic check`` checks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from gateway.store import Database, create_engine, migrate
from gateway.store.migrate import alembic_config, current_revision, head_revision
from gateway.store.models import Base

# whatever revisions exist: the models are the reference, this test that they agree
TABLES = set(Base.metadata.tables) | {"alembic_version"}


async def tables_and_revision(url: str) -> tuple[set[str], str | None]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        return tables, await current_revision(engine)
    finally:
        await engine.dispose()


async def test_migrate_upgrades_an_empty_database_to_head(empty_db_url: str) -> None:
    assert await tables_and_revision(empty_db_url) == (set(), None)
    await migrate(empty_db_url)
    assert await tables_and_revision(empty_db_url) == (TABLES, head_revision())


@pytest.mark.backends("sqlite")
async def test_migrate_creates_a_fresh_sqlite_file_and_its_directory(
    db_url: str, tmp_path: Path
) -> None:
    await migrate(db_url)
    assert (tmp_path / "data" / "contactgw.db").exists()
    assert await tables_and_revision(db_url) == (TABLES, head_revision())


async def test_migrate_twice_is_a_no_op(db: Database) -> None:
    await migrate(db.engine)
    assert await current_revision(db.engine) == head_revision()


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def differences(sync_connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_downgrade_to_base_and_upgrade_again(db: Database) -> None:
    def downgrade(sync_connection):  # type: ignore[no-untyped-def]
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        command.downgrade(config, "base")

    async with db.engine.begin() as connection:
        await connection.run_sync(downgrade)
    async with db.engine.connect() as connection:
        left = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert left == {"alembic_version"}
    assert await current_revision(db.engine) is None
    await migrate(db.engine)
    assert await current_revision(db.engine) == head_revision()


@pytest.mark.backends("sqlite")
async def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(db: Database) -> None:
    async with db.engine.connect() as connection:
        journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert (journal, foreign_keys, timeout) == ("wal", 1, 5000)


@pytest.mark.backends("postgresql")
async def test_postgresql_reads_are_one_read_only_snapshot(db: Database) -> None:
    async with db.reading() as session:
        isolation = (await session.execute(text("SHOW transaction_isolation"))).scalar()
        read_only = (await session.execute(text("SHOW transaction_read_only"))).scalar()
    assert (isolation, read_only) == ("repeatable read", "on")


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO call_offers (call_id, agent, offered_at) VALUES ('00000000000000000000000000000001', 'a', '2026-01-01')"
                )
            )
