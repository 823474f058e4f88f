"""PostgreSQL stopped for 30 s while calls flow through a real gateway: no call record,
offer, agent-state row or event is lost or written twice; /health shows the pending
writes (and `degraded` past the bound) while the database is away, then recovers.

The server is the test's own (stopped and started with pg_ctl mid-test), not the
session's; sipp plays the carrier, a pjsua2 softphone the agent, as in test_gateway_on_postgres.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gateway.events.catalogue import AgentStateChanged
from tests.support.gateway_env import Gateway, start_phone
from tests.support.postgres import START_TIMEOUT_S, PostgresServer, PostgresUnavailable, unavailable

pytestmark = pytest.mark.integration

DID = "+15550100100"
OUTAGE_S = 30.0
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": DID, "queue": "sales"}],
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}


@pytest.fixture
def own_pg() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as e:
        unavailable(str(e))
        raise
    try:
        yield server
    finally:
        server.stop()


def pg_stop(server: PostgresServer) -> None:
    """A clean shutdown (`-m fast`: sessions are terminated), as a restart or failover does."""
    server._pg_ctl("stop", "-m", "fast", "-w", "-t", str(START_TIMEOUT_S))


def pg_start(server: PostgresServer) -> None:
    server._pg_ctl("start", "-w", "-t", str(START_TIMEOUT_S), "-l", str(server.log_path))


@pytest.fixture
async def gw(tmp_path: Path, own_pg: PostgresServer) -> AsyncIterator[Gateway]:
    url = await own_pg.create_database()
    overrides = {"database": {"url": url, "pending_writes_degraded_after": 5}}
    gateway = Gateway(tmp_path, ROUTING, workers=1, overrides=overrides)
    await gateway.start()
    gateway.pg_url = url  # type: ignore[attr-defined]
    try:
        yield gateway
    finally:
        rc = await gateway.stop()
        assert rc == 0, gateway.log()


async def health(gw: Gateway) -> dict[str, Any]:
    return (await gw.api.get("/health")).json()  # type: ignore[no-any-return]


@pytest.mark.timeout(240)
async def test_postgresql_stopped_for_30_s_while_calls_flow_loses_nothing(
    gw: Gateway, own_pg: PostgresServer
) -> None:
    phone = await start_phone(gw, "alice", tone=1000, answer_after=0.3)
    try:
        await gw.wait_for("alice available", lambda: _state_is(gw, "available"), timeout=10)
        sipp = await gw.call(DID, hold_ms=1500)
        assert await sipp.wait(30) == 0, f"{sipp.errors()}\n{gw.log()}"
        await gw.cdr(1)  # written before the outage

        pg_stop(own_pg)
        stopped = time.monotonic()
        for _ in range(3):  # one agent: one call after the other, each answered by her
            await gw.wait_for("alice available", lambda: _state_is(gw, "available"), timeout=15)
            sipp = await gw.call(DID, hold_ms=1500)
            assert await sipp.wait(30) == 0, f"{sipp.errors()}\n{gw.log()}"  # calls unaffected

        async def backlog() -> dict[str, Any] | None:
            h = await health(gw)
            late = h["writes"]["oldest_pending_seconds"] > 5 and h["writes"]["pending"] > 0
            return h if late and h["status"] == "degraded" else None

        during = await gw.wait_for("pending writes in /health", backlog, timeout=20)
        assert during["writes"]["retries"] > 0 and during["writes"]["last_error"], during
        await asyncio.sleep(max(0.0, stopped + OUTAGE_S - time.monotonic()))
        assert (await health(gw))["writes"]["pending"] >= during["writes"]["pending"]
        pg_start(own_pg)

        async def recovered() -> dict[str, Any] | None:
            h = await health(gw)
            return h if h["status"] == "ok" and h["writes"]["pending"] == 0 else None

        after = await gw.wait_for("/health ok, nothing pending", recovered, timeout=40)
        assert after["writes"]["dead_letters"] == 0
        assert await gw.metric("contactgw_db_pending_writes") == 0
        assert await gw.metric("contactgw_db_write_retries_total") > 0
        rows = await gw.cdr(4)  # every record closed
    finally:
        await phone.stop()

    connection = await asyncpg.connect(gw.pg_url.replace("postgresql+asyncpg://", "postgresql://"))  # type: ignore[attr-defined]
    try:
        await _assert_nothing_lost(connection, [r["id"] for r in rows])
    finally:
        await connection.close()


async def _assert_nothing_lost(pg: asyncpg.Connection, call_ids: list[str]) -> None:
    calls = await pg.fetch("SELECT id, agent, disposition, talk_seconds, ended_at FROM calls")
    assert len(calls) == 4 and {str(c["id"]) for c in calls} == set(call_ids)
    assert all(c["disposition"] == "answered" and c["agent"] == "alice" for c in calls), calls
    assert all(c["talk_seconds"] and c["talk_seconds"] > 1.0 for c in calls), calls
    offers = await pg.fetch("SELECT call_id, result FROM call_offers")
    assert sorted(str(o["call_id"]) for o in offers) == sorted(call_ids)
    assert {o["result"] for o in offers} == {"answered"}
    for call_id in call_ids:
        events = await pg.fetch(
            "SELECT type, sequence FROM outbox WHERE subject = $1 ORDER BY position", call_id
        )
        types = [e["type"].removeprefix("io.contactgw.") for e in events]
        assert types[0] == "call.received" and types.count("call.answered") == 1, types
        assert [e["sequence"] for e in events] == list(range(1, len(events) + 1)), types
    # one agent-state row per state change, and one event each: none lost, none doubled
    states = await pg.fetch(
        "SELECT state, at FROM agent_state_log WHERE agent = 'alice' ORDER BY id"
    )
    changes = await pg.fetchval(
        "SELECT count(*) FROM outbox WHERE subject = 'alice' AND type = $1", AgentStateChanged.TYPE
    )
    assert len(states) == changes and len({(s["state"], s["at"]) for s in states}) == len(states)
    assert sum(s["state"] == "on-call" for s in states) == 4, states
    assert await pg.fetchval("SELECT count(DISTINCT id) = count(*) FROM outbox")


async def _state_is(gw: Gateway, state: str) -> bool:
    """From /metrics: the agent API authenticates against the database, which is away."""
    return await gw.metric("contactgw_queue_agents", queue="sales", state=state) == 1
