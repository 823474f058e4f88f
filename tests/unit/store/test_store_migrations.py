"""Migrations on a fresh database, and the schema they build matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from gateway.store import Database, create_engine, migrate
from gateway.store.migrate import current_revision, head_revision
from gateway.store.models import Base

TABLES = {
    "calls",
    "call_offers",
    "agent_state_log",
    "outbox",
    "config_versions",
    "routing_globals",
    "queues",
    "agents",
    "agent_queues",
    "agent_skills",
    "dids",
    "alembic_version",
}


async def test_migrate_creates_a_fresh_sqlite_file_and_its_directory(
    db_url: str, tmp_path: Path
) -> None:
    await migrate(db_url)
    assert (tmp_path / "data" / "contactgw.db").exists()
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert tables == TABLES
        assert await current_revision(engine) == head_revision() == "0002"
    finally:
        await engine.dispose()


async def test_migrate_twice_is_a_no_op(db: Database) -> None:
    await migrate(db.engine)
    assert await current_revision(db.engine) == head_revision()


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def differences(sync_connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(db: Database) -> None:
    async with db.engine.connect() as connection:
        journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert (journal, foreign_keys, timeout) == ("wal", 1, 5000)


async def test_foreign_keys_are_enforced(db: Database) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO call_offers (call_id, agent, offered_at) VALUES ('00000000000000000000000000000001', 'a', '2026-01-01')"
                )
            )
