"""What PostgreSQL's types changed and revision 0004 fixed, on both backends: the routing
configuration keeps the order it was written in (read back, in its snapshot, after a
rollback), and the paging cursors (outbox positions, audit ids) go past 2^31."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from gateway.settings import RoutingSettings
from gateway.store import Database, OutboxStore, RoutingRepository, create_engine, migrate
from gateway.store.migrate import alembic_config
from gateway.store.types import INT64_MAX, JSONType
from gateway.store.users import AuditEntry, AuditStore
from tests.unit.store.test_store_outbox import event

QUEUES = ["zeta", "alpha", "mid", "beta"]  # JSONB would give mid, beta, zeta, alpha
AGENTS = ["zoe", "adam", "mike"]
SKILLS = ["spanish", "billing", "fr", "accounts"]
BEYOND_32_BITS = 2**31 + 7
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def routing(
    queues: list[str], agents: list[str], skills: list[str], strategy: str = "longest-idle"
) -> RoutingSettings:
    return RoutingSettings.model_validate(
        {
            "region": "US",
            "queues": {q: {"strategy": strategy, "skills": {s: 1 for s in skills}} for q in queues},
            "dids": [{"number": f"+1555010010{i}", "queue": q} for i, q in enumerate(queues)],
            "agents": {
                a: {
                    "password": f"{a}-pw",
                    "queues": list(reversed(queues)),
                    "skills": {s: n + 1 for n, s in enumerate(skills)},
                }
                for a in agents
            },
        }
    )


def order(content: RoutingSettings | dict[str, Any]) -> dict[str, Any]:
    """The orders that matter: queues, each queue's skills, agents, each agent's skills
    and queues."""
    data = content.model_dump(mode="json") if isinstance(content, RoutingSettings) else content
    return {
        "queues": list(data["queues"]),
        "queue skills": {q: list(v["skills"]) for q, v in data["queues"].items()},
        "agents": list(data["agents"]),
        "agent skills": {a: list(v["skills"]) for a, v in data["agents"].items()},
        "agent queues": {a: list(v["queues"]) for a, v in data["agents"].items()},
        "dids": [d["queue"] for d in data["dids"]],
    }


async def test_routing_comes_back_in_the_order_written_and_so_does_a_rollback(
    db: Database,
) -> None:
    repo = RoutingRepository(db)
    written = routing(QUEUES, AGENTS, SKILLS)
    want = order(written)
    assert want["queues"] == QUEUES  # the settings keep it: only the store could lose it
    first = await repo.apply_routing_config(written, "file", "ops")

    loaded = await repo.load_routing_config()
    assert loaded is not None
    assert order(loaded[1]) == want
    assert order(await repo.version_snapshot(first.version)) == want

    # the same content, sorted, and one change so that it is a version of its own
    resorted = routing(sorted(QUEUES), sorted(AGENTS), sorted(SKILLS), "round-robin")
    second = await repo.apply_routing_config(resorted, "api", "ops")
    assert second.version == first.version + 1
    loaded = await repo.load_routing_config()
    assert loaded is not None
    assert order(loaded[1])["queues"] == sorted(QUEUES)

    # rollback (what `contactgw config rollback 1` does): from version 1's snapshot
    old = await repo.version_settings(first.version)
    assert order(old) == want
    third = await repo.apply_routing_config(old, f"rollback:{first.version}", "ops")
    assert third.version == second.version + 1
    loaded = await repo.load_routing_config()
    assert loaded is not None
    assert order(loaded[1]) == want
    assert loaded[1] == written
    assert order(await repo.version_snapshot(third.version)) == want


async def test_outbox_positions_go_past_32_bits(db: Database, backend: str) -> None:
    """BIGINT on PostgreSQL (column and sequence); SQLite's rowid is 64-bit already."""
    store = OutboxStore(db)
    await store.add([event(1)])
    async with db.transaction() as session:
        if backend == "postgresql":
            sequence = "pg_get_serial_sequence('outbox', 'position')"
            await session.execute(text(f"SELECT setval({sequence}, {BEYOND_32_BITS})"))
        else:  # AUTOINCREMENT goes on from the highest position ever used
            await session.execute(
                text("UPDATE sqlite_sequence SET seq = :n WHERE name = 'outbox'"),
                {"n": BEYOND_32_BITS},
            )
    await store.add([event(2), event(3)])
    positions = [e.position for e in await store.pending()]
    assert positions == [1, BEYOND_32_BITS + 1, BEYOND_32_BITS + 2]
    page, _ = await store.page(after=BEYOND_32_BITS + 1)
    assert [(e.position, e.payload["n"]) for e in page] == [(BEYOND_32_BITS + 2, 3)]
    pending = await store.pending(after=BEYOND_32_BITS)
    assert [e.sequence for e in pending] == [2, 3]


async def test_audit_ids_go_past_32_bits(db: Database, backend: str) -> None:
    store = AuditStore(db)
    entry = AuditEntry(at=T0, user="root", role="admin", action="config.apply", outcome="ok")
    await store.add(entry)
    async with db.transaction() as session:
        if backend == "postgresql":
            sequence = "pg_get_serial_sequence('audit_log', 'id')"
            await session.execute(text(f"SELECT setval({sequence}, {BEYOND_32_BITS})"))
        else:
            await session.execute(
                text("UPDATE sqlite_sequence SET seq = :n WHERE name = 'audit_log'"),
                {"n": BEYOND_32_BITS},
            )
    await store.add(entry)
    assert [e.id for e in await store.page()] == [1, BEYOND_32_BITS + 1]
    assert [e.id for e in await store.page(after=BEYOND_32_BITS)] == [BEYOND_32_BITS + 1]


@pytest.mark.parametrize("cursor", [2**31, 2**40, INT64_MAX, INT64_MAX + 1, 10**30])
async def test_a_cursor_of_any_size_is_an_answer_not_an_error(db: Database, cursor: int) -> None:
    """A client's cursor past anything stored (past 64 bits, which neither backend can
    bind) is an empty page; below anything, everything."""
    await OutboxStore(db).add([event(1)])
    entry = AuditEntry(at=T0, user="root", role="admin", action="config.apply", outcome="ok")
    await AuditStore(db).add(entry)
    assert (await OutboxStore(db).page(after=cursor))[0] == []
    assert await OutboxStore(db).pending(after=cursor) == ()
    assert await AuditStore(db).page(after=cursor) == []
    assert len((await OutboxStore(db).page(after=-cursor))[0]) == 1
    assert len(await AuditStore(db).page(after=-cursor)) == 1


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_0004_numbers_existing_rows_in_their_snapshots_order(
    empty_db_url: str, backend: str
) -> None:
    """A database written at 0003: the rows get the order of the newest snapshot (on
    PostgreSQL the order JSONB kept, the written one being lost before 0004)."""
    engine = create_engine(empty_db_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, "0003")
        repo_content = routing(QUEUES, AGENTS, SKILLS).model_dump(mode="json")
        await _write_at_0003(engine, repo_content)
        async with engine.connect() as connection:
            stored = await connection.execute(text("SELECT snapshot FROM config_versions"))
            snapshot = stored.scalar_one()
        kept = order(snapshot if isinstance(snapshot, dict) else _json(snapshot))
        if backend == "sqlite":
            assert kept == order(repo_content)
        else:
            assert kept["queues"] == ["mid", "beta", "zeta", "alpha"]  # what JSONB did

        await migrate(engine)
        loaded = await RoutingRepository(Database(engine)).load_routing_config()
        assert loaded is not None
        got = order(loaded[1])
        assert (got["queues"], got["agents"], got["agent skills"]) == (
            kept["queues"],
            kept["agents"],
            kept["agent skills"],
        )
        async with engine.begin() as connection:  # the outbox kept its rows, now 64-bit
            count = await connection.execute(text("SELECT count(*) FROM outbox"))
            assert count.scalar_one() == 1
    finally:
        await engine.dispose()


def _json(value: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(value)
    return loaded


async def _write_at_0003(engine: Any, content: dict[str, Any]) -> None:
    """Rows as 0003's code wrote them (no positions; JSONB on PostgreSQL), in plain SQL."""
    as_json = bindparam("json", type_=JSONType)  # 0003's JSON type
    async with engine.begin() as connection:
        run = connection.execute
        await run(
            text(
                "INSERT INTO config_versions (version, applied_at, source, content_hash, "
                "summary, diff, snapshot) VALUES (1, '2026-03-01', 'file', 'x', 'initial', "
                "'{}', :json)"
            ).bindparams(as_json),
            {"json": content},
        )
        for name in sorted(content["queues"]):  # not in the written order
            await run(
                text(
                    "INSERT INTO queues (name, strategy, config, version) "
                    "VALUES (:n, 'longest-idle', :json, 1)"
                ).bindparams(as_json),
                {"n": name, "json": content["queues"][name]},
            )
        for user in sorted(content["agents"]):
            agent = content["agents"][user]
            await run(
                text(
                    "INSERT INTO agents (sip_user, password, config, version) "
                    "VALUES (:u, 'pw', :json, 1)"
                ).bindparams(as_json),
                {"u": user, "json": {"rank": agent["rank"], "uri": agent["uri"]}},
            )
            for skill in sorted(agent["skills"]):
                await run(
                    text("INSERT INTO agent_skills (agent, skill, level) VALUES (:a, :s, :l)"),
                    {"a": user, "s": skill, "l": agent["skills"][skill]},
                )
        await run(
            text(
                "INSERT INTO outbox (id, type, sequence, payload, created_at) "
                "VALUES ('00000000000000000000000000000001', 't', 0, '{}', '2026-03-01')"
            )
        )


@pytest.mark.backends("postgresql")
async def test_on_postgresql_routing_json_is_text_and_the_outbox_is_bigint(db: Database) -> None:
    query = text(
        "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
        "WHERE (table_name, column_name) IN (('config_versions', 'snapshot'), "
        "('queues', 'config'), ('outbox', 'position'), ('outbox', 'payload'), ('audit_log', 'id'))"
    )
    async with db.reading() as session:
        types = {str(k): str(v) for k, v in (await session.execute(query)).all()}
        sequence = await session.scalar(
            text("SELECT data_type FROM pg_sequences WHERE sequencename = 'outbox_position_seq'")
        )
    assert types == {
        "config_versions.snapshot": "json",
        "queues.config": "json",
        "outbox.position": "bigint",
        "outbox.payload": "jsonb",
        "audit_log.id": "bigint",
    }
    assert sequence == "bigint"
