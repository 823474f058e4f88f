"""Runtime control over RPC: probing, draining, adding workers, crash and restart."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from gateway.edge import EdgeUnavailable, TrunkSource
from tests.integration.edge.conftest import EdgeFactory
from tests.integration.edge.test_edge_calls import (
    all_active,
    destinations,
    rejected_call,
    start_workers,
    trunk_call,
)
from tests.integration.edge.test_edge_register import register
from tests.support.edge_env import SippPool, sip_port
from tests.support.polling import wait_for
from tests.support.sipp import render_scenario

pytestmark = pytest.mark.integration


async def test_drain_and_probing_marks_killed_worker_inactive(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    workers = await start_workers(sipp, workdir, ["w1", "w2"])
    trunk_port = sip_port()
    edge = await edge_factory(
        workers=destinations(workers, maxload=5),
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port),),
    )
    assert await all_active(edge, 2)

    await edge.set_worker_state("w1", "draining")
    assert (await edge.worker_states())["w1"].state == "draining"
    caller = await trunk_call(sipp, workdir, edge, port=trunk_port, calls=3, rate=20, hold_ms=300)
    assert await caller.wait(20) == 0, caller.diagnostics()
    assert workers["w1"].received("INVITE ") == 0
    assert workers["w2"].received("INVITE ") == 3

    # kill w2: OPTIONS probing (1 s interval, 2 s timeout) marks it inactive
    await workers["w2"].stop()
    killed = time.monotonic()
    inactive = await wait_for(lambda: _state_is(edge, "w2", "inactive"), timeout=10.0, interval=0.1)
    detect_s = time.monotonic() - killed
    assert inactive, await edge.worker_states()
    print(f"dead worker marked inactive after {detect_s:.2f}s")
    assert detect_s < 5.0

    # w1 draining, w2 dead: nobody takes calls
    await rejected_call(sipp, workdir, edge, code=503, port=trunk_port, name="none")
    # undrain w1: calls flow again
    await edge.set_worker_state("w1", "active")
    caller = await trunk_call(sipp, workdir, edge, port=trunk_port, name="after")
    assert await caller.wait(20) == 0, caller.diagnostics()
    assert workers["w1"].received("INVITE ") == 1


async def _state_is(edge, worker_id: str, state: str) -> bool:  # type: ignore[no-untyped-def]
    states = await edge.worker_states()
    return worker_id in states and states[worker_id].state == state


async def test_add_and_remove_workers_at_runtime(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    trunk_port = sip_port()
    edge = await edge_factory(trunk_sources=(TrunkSource("127.0.0.1", trunk_port),))
    assert await edge.worker_states() == {}
    await rejected_call(sipp, workdir, edge, code=503, port=trunk_port, name="empty")

    worker = await sipp.start("w9", render_scenario("edge_worker_uas.xml", workdir))
    await edge.add_worker("w9", "127.0.0.1", worker.port, 2)
    states = await edge.worker_states()
    assert list(states) == ["w9"] and states["w9"].maxload == 2
    caller = await trunk_call(sipp, workdir, edge, port=trunk_port, name="to-w9")
    assert await caller.wait(20) == 0, caller.diagnostics()
    assert worker.received("INVITE ") == 1

    await edge.remove_worker("w9")
    assert await edge.worker_states() == {}
    await rejected_call(sipp, workdir, edge, code=503, port=trunk_port, name="removed")


async def test_crash_is_restarted_and_state_pushed_again(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    edge = await edge_factory()
    await edge.set_agent_credentials("agent1", "pw1")
    spare = await sipp.start("spare", render_scenario("edge_worker_uas.xml", workdir))
    await edge.add_worker("spare", "127.0.0.1", spare.port, 1)
    await edge.set_worker_state("spare", "draining")
    await register(sipp, workdir, edge, user="agent1", password="pw1", expect=200)

    old_pid = edge.process.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    crashed = time.monotonic()
    assert await wait_for(
        lambda: edge.process.ready.is_set() and edge.process.pid not in (None, old_pid),
        timeout=10.0,
    ), edge.process.tail_text(40)
    print(f"edge back after {time.monotonic() - crashed:.2f}s")
    health = await edge.health()
    assert health.running and health.restarts == 1 and health.pid != old_pid
    assert "exited with" in (health.last_error or "")

    # registrations died with the process; credentials and worker state were pushed again
    assert await edge.registered_contacts("agent1") == []
    await register(sipp, workdir, edge, user="agent1", password="pw1", expect=200)
    assert len(await edge.registered_contacts("agent1")) == 1
    states = await edge.worker_states()
    assert states["spare"].state == "draining", states


async def test_start_fails_clearly_when_the_port_is_taken(edge_factory: EdgeFactory) -> None:
    port = sip_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        with pytest.raises(EdgeUnavailable, match="exited with") as info:
            await edge_factory(listen_port=port)
    assert "bind" in str(info.value).lower() or "address already in use" in str(info.value)
