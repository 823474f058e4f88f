"""`contactgw run` on PostgreSQL: it migrates an empty database at start, stores its
routing there, and one answered call writes its call record, its offer and its events
(outbox) to PostgreSQL, read back here straight from the database, not through the API.

sipp plays the carrier, a pjsua2 softphone the agent, as in tests/integration/e2e.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gateway.store.migrate import head_revision
from tests.support.gateway_env import Gateway, start_phone

pytestmark = pytest.mark.integration

DID = "+15550100100"
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": DID, "queue": "sales"}],
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection to the gateway's database, for the assertions."""
    connection = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def gw(tmp_path: Path, pg_url: str) -> AsyncIterator[Gateway]:
    gateway = Gateway(tmp_path, ROUTING, workers=1, overrides={"database": {"url": pg_url}})
    await gateway.start()
    try:
        yield gateway
    finally:
        rc = await gateway.stop()
        assert rc == 0, gateway.log()


async def test_an_answered_call_is_recorded_in_postgresql(
    gw: Gateway, pg: asyncpg.Connection
) -> None:
    assert await pg.fetchval("SELECT version_num FROM alembic_version") == head_revision()
    versions = await pg.fetch("SELECT version, source FROM config_versions")
    assert [v["version"] for v in versions] == [1], versions
    assert await pg.fetchval("SELECT queue FROM dids WHERE number = $1", DID) == "sales"
    assert not (gw.tmp / "var" / "contactgw.db").exists()  # no SQLite file on the side

    phone = await start_phone(gw, "alice", tone=1000, answer_after=0.3)
    try:
        await gw.wait_for("alice available", _available(gw), timeout=10)
        sipp = await gw.call(DID, hold_ms=3000)
        rc = await sipp.wait(40)
        assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"
        (api_row,) = await gw.cdr(1)  # closed (ended_at set) once the call has settled
    finally:
        await phone.stop()

    call = await pg.fetchrow("SELECT * FROM calls")
    assert call is not None and call["id"] == uuid.UUID(api_row["id"])
    assert (call["did"], call["queue"], call["agent"], call["disposition"]) == (
        DID,
        "sales",
        "alice",
        "answered",
    )
    assert call["answered_at"] is not None and call["ended_at"] >= call["answered_at"]
    assert 2.0 < call["talk_seconds"] < 8.0
    offers = await pg.fetch("SELECT agent, result, sip_code FROM call_offers")
    assert [tuple(o) for o in offers] == [("alice", "answered", 200)]

    async def call_events() -> list[asyncpg.Record] | None:
        rows = await pg.fetch(
            "SELECT type, sequence, payload FROM outbox WHERE subject = $1 ORDER BY position",
            str(call["id"]),
        )
        return rows if any(r["type"].endswith("call.completed") for r in rows) else None

    rows = await gw.wait_for("the call's events in the outbox", call_events)
    types = [r["type"].removeprefix("io.contactgw.") for r in rows]
    assert types[0] == "call.received" and "call.answered" in types, types
    assert types.index("call.queued") < types.index("call.offered") < types.index("call.answered")
    assert [r["sequence"] for r in rows] == list(range(1, len(rows) + 1))
    agent_events = await pg.fetchval("SELECT count(*) FROM outbox WHERE subject = 'alice'")
    assert agent_events >= 2  # alice's state changes: logged in, on the call, wrap-up...


def _available(gw: Gateway) -> Any:
    async def probe() -> bool:
        return await gw.agent_state("alice") == "available"

    return probe
