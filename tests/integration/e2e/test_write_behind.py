"""Record writes on the real gateway (SQLite file): a database held locked by another
connection while calls flow, and a gateway SIGKILLed or stopped with writes pending.

Every row and event lands once: after the lock is released, and after a restart on the
same data directory (the journal is replayed first).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gateway.events.catalogue import AgentStateChanged
from tests.support.gateway_env import Gateway, start_phone

pytestmark = pytest.mark.integration

DID = "+15550100100"
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": DID, "queue": "sales"}],
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}
OVERRIDES = {"database": {"pending_writes_degraded_after": 3}}


def database(tmp: Path) -> Path:
    return tmp / "var" / "contactgw.db"


@contextmanager
def locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding SQLite's write lock (as a long writer would)."""
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    finally:
        connection.execute("ROLLBACK")
        connection.close()


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    (tmp_path / "first").mkdir()
    gateway = Gateway(tmp_path / "first", ROUTING, workers=1, overrides=OVERRIDES)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


async def health(gw: Gateway) -> dict[str, Any]:
    return (await gw.api.get("/health")).json()  # type: ignore[no-any-return]


async def answered_call(gw: Gateway) -> None:
    await gw.wait_for("alice available", lambda: _state_is(gw, "available"), timeout=15)
    sipp = await gw.call(DID, hold_ms=1500)
    assert await sipp.wait(30) == 0, f"{sipp.errors()}\n{gw.log()}"


async def pending_and_late(gw: Gateway) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        h = await health(gw)
        w = h["writes"]
        late = w["pending"] > 0 and w["oldest_pending_seconds"] > 3 and h["status"] == "degraded"
        return h if late and "locked" in (w["last_error"] or "") else None

    return await gw.wait_for("pending writes (database is locked) in /health", probe, timeout=20)  # type: ignore[no-any-return]


async def wrapped_up(gw: Gateway) -> None:
    """Every call's last write (call.completed, after wrap-up) has been handed over."""
    await gw.wait_for("alice available", lambda: _state_is(gw, "available"), timeout=15)
    await asyncio.sleep(0.5)


def assert_each_row_once(db: Path, calls: int) -> None:
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT id, disposition, agent, ended_at FROM calls").fetchall()
        assert len(rows) == calls, rows
        assert all(r[1] == "answered" and r[2] == "alice" and r[3] for r in rows), rows
        offers = c.execute("SELECT call_id, result FROM call_offers").fetchall()
        assert sorted(o[0] for o in offers) == sorted(r[0] for r in rows), offers
        assert {o[1] for o in offers} == {"answered"}
        for (call_id,) in c.execute(
            "SELECT DISTINCT subject FROM outbox WHERE type LIKE '%call.%'"
        ):
            types = [
                t
                for (t,) in c.execute(
                    "SELECT type FROM outbox WHERE subject = ? ORDER BY position", (call_id,)
                )
            ]
            assert len(types) == len(set(types)), types  # no event of a call twice
            assert types[-1].endswith("call.completed"), types
        states = c.execute("SELECT state, at FROM agent_state_log WHERE agent = 'alice'").fetchall()
        (changes,) = c.execute(
            "SELECT count(*) FROM outbox WHERE subject = 'alice' AND type = ?",
            (AgentStateChanged.TYPE,),
        ).fetchone()
        assert len(states) == changes == len(set(states)), states
        assert sum(s[0] == "on-call" for s in states) == calls, states


@pytest.mark.timeout(180)
async def test_a_database_locked_for_seconds_while_calls_flow_loses_nothing(gw: Gateway) -> None:
    phone = await start_phone(gw, "alice", tone=1000, answer_after=0.3)
    try:
        with locked(database(gw.tmp)):
            await answered_call(gw)
            during = await pending_and_late(gw)
            await wrapped_up(gw)
        assert during["writes"]["retries"] > 0
        await answered_call(gw)  # and one more once it is free again
        await wrapped_up(gw)

        async def drained() -> bool:
            h = await health(gw)
            return h["status"] == "ok" and h["writes"]["pending"] == 0

        await gw.wait_for("nothing pending", drained, timeout=30)
        await gw.cdr(2)
    finally:
        await phone.stop()
    assert_each_row_once(database(gw.tmp), calls=2)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
async def test_writes_pending_at_a_kill_or_stop_are_written_once_by_the_next_start(
    gw: Gateway, tmp_path: Path, how: str
) -> None:
    phone = await start_phone(gw, "alice", tone=1000, answer_after=0.3)
    try:
        with locked(database(gw.tmp)):
            await answered_call(gw)
            await pending_and_late(gw)
            await wrapped_up(gw)
            pending = (await health(gw))["writes"]["pending"]
            assert gw.proc is not None
            if how == "sigkill":
                gw.proc.kill()
                assert await gw.proc.wait() == -signal.SIGKILL
            else:  # a clean stop gives up flushing after its bound and keeps the rest
                gw.proc.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(gw.proc.wait(), 60) == 0, gw.log()
                assert "not yet in the database; kept for the next start" in gw.log()
    finally:
        await phone.stop()
    with sqlite3.connect(database(gw.tmp)) as c:  # the killed gateway wrote none of it
        assert c.execute("SELECT count(*) FROM calls WHERE ended_at IS NOT NULL").fetchone() == (0,)

    (tmp_path / "second").mkdir()
    second = Gateway(tmp_path / "second", ROUTING, workers=1,
                     overrides={**OVERRIDES, "data_dir": str(gw.tmp / "var")})  # fmt: skip
    await second.start()
    try:
        assert "record writes left by the previous run" in second.log()
        await second.cdr(1)
        assert (await health(second))["writes"]["pending"] == 0
    finally:
        assert await second.stop() == 0, second.log()
    assert pending > 0
    assert_each_row_once(database(gw.tmp), calls=1)


async def _state_is(gw: Gateway, state: str) -> bool:
    return await gw.agent_state("alice") == state
