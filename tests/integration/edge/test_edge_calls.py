"""Trunk → edge → workers: allow-list, call-load dispatching, failover, worker → agent."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gateway.edge import EdgeManager, TrunkSource, WorkerDestination
from tests.integration.edge.conftest import SIP_DOMAIN, EdgeFactory
from tests.integration.edge.test_edge_register import register
from tests.support.edge_env import SippPool, SippProc, sip_port
from tests.support.polling import wait_for
from tests.support.sipp import render_scenario

pytestmark = pytest.mark.integration


async def start_workers(
    sipp: SippPool, workdir: Path, names: list[str], reject: dict[str, int] | None = None
) -> dict[str, SippProc]:
    reject = reject or {}
    procs = {}
    for name in names:
        if name in reject:
            sf = render_scenario("edge_worker_reject.xml", workdir, code=reject[name])
        else:
            sf = render_scenario("edge_worker_uas.xml", workdir)
        procs[name] = await sipp.start(name, sf)
    return procs


def destinations(procs: dict[str, SippProc], maxload: int = 1) -> tuple[WorkerDestination, ...]:
    return tuple(WorkerDestination(name, "127.0.0.1", p.port, maxload) for name, p in procs.items())


async def all_active(edge: EdgeManager, count: int) -> bool:
    ok = await wait_for(lambda: _active(edge, count), timeout=8.0, interval=0.2)
    return bool(ok)


async def _active(edge: EdgeManager, count: int) -> bool:
    states = await edge.worker_states()
    return sum(1 for s in states.values() if s.state == "active" and s.probing) >= count


async def trunk_call(
    sipp: SippPool,
    workdir: Path,
    edge: EdgeManager,
    *,
    port: int,
    calls: int = 1,
    hold_ms: int = 200,
    rate: int = 10,
    name: str = "trunk",
) -> SippProc:
    s = edge.settings
    sf = render_scenario("edge_call_uac.xml", workdir, domain=f"127.0.0.1:{s.listen_port}")
    return await sipp.start(
        name,
        sf,
        remote=f"127.0.0.1:{s.listen_port}",
        port=port,
        extra=(
            "-s",
            "4930123456",
            "-m",
            str(calls),
            "-l",
            str(calls),
            "-r",
            str(rate),
            "-d",
            str(hold_ms),
            "-timeout",
            "15s",
            "-timeout_error",
        ),
    )


async def rejected_call(
    sipp: SippPool,
    workdir: Path,
    edge: EdgeManager,
    *,
    code: int,
    port: int | None = None,
    user: str = "4930123456",
    domain: str | None = None,
    name: str = "rejected",
) -> None:
    s = edge.settings
    sf = render_scenario(
        "edge_call_rejected.xml", workdir, domain=domain or f"127.0.0.1:{s.listen_port}", code=code
    )
    proc = await sipp.start(
        name,
        sf,
        remote=f"127.0.0.1:{s.listen_port}",
        port=port,
        extra=("-s", user, "-m", "1", "-timeout", "8s", "-timeout_error"),
    )
    rc = await proc.wait(12)
    assert rc == 0, f"expected {code}:\n{proc.diagnostics()}"


async def test_trunk_call_reaches_a_worker_and_others_get_403(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    workers = await start_workers(sipp, workdir, ["w1", "w2"])
    trunk_port = sip_port()
    edge = await edge_factory(
        workers=destinations(workers),
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port, "itsp"),),
    )
    assert await all_active(edge, 2), await edge.worker_states()

    caller = await trunk_call(sipp, workdir, edge, port=trunk_port)
    assert await caller.wait(20) == 0, caller.diagnostics()

    invites = {name: w.received("INVITE ") for name, w in workers.items()}
    assert sorted(invites.values()) == [0, 1], invites
    chosen = workers[max(invites, key=lambda n: invites[n])]
    assert await wait_for(lambda: chosen.received("BYE ") == 1, timeout=3)
    assert chosen.received("ACK ") == 1
    text = chosen.messages()
    # the worker sees the DID in the R-URI, the edge as the Contact (topos strips the
    # Via/Record-Route set and gives the worker the edge's Contact), the trunk's tag
    assert f"INVITE sip:4930123456@127.0.0.1:{edge.settings.listen_port} SIP/2.0" in text
    assert "tpsh-" in text and f"@127.0.0.1:{edge.settings.listen_port}>" in text
    assert "X-Contactgw-Trunk: itsp" in text

    # the load slot is free again after the BYE
    states = await edge.worker_states()
    assert all(s.load == 0 for s in states.values()), states

    # same IP, other port: not on the allow-list ... until the allow-list says so
    other_port = sip_port()
    await rejected_call(sipp, workdir, edge, code=403, port=other_port, name="other-403")
    await edge.set_trunk_sources(
        (
            TrunkSource("127.0.0.1", trunk_port, "itsp"),
            TrunkSource("127.0.0.1", other_port, "itsp2"),
        )
    )
    caller = await trunk_call(sipp, workdir, edge, port=other_port, name="other-ok")
    assert await caller.wait(20) == 0, caller.diagnostics()


async def test_failover_to_second_worker_on_503_and_on_dead_worker(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    workers = await start_workers(sipp, workdir, ["busy", "good"], reject={"busy": 503})
    trunk_port = sip_port()
    edge = await edge_factory(
        workers=destinations(workers, maxload=5),
        trunk_sources=(TrunkSource("127.0.0.0/8", trunk_port),),
    )
    assert await all_active(edge, 2)

    caller = await trunk_call(
        sipp, workdir, edge, port=trunk_port, calls=3, rate=5, name="trunk-503"
    )
    assert await caller.wait(30) == 0, caller.diagnostics()
    assert workers["good"].received("INVITE ") == 3
    assert workers["good"].received("BYE ") == 3
    assert workers["busy"].received("INVITE ") >= 1  # the 503s that were failed over


async def test_failover_when_worker_does_not_answer(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    # No probing during the test (interval 60 s): the edge learns that "dead" is dead only
    # from the INVITE that times out after fr_timer (worker_timeout_ms).
    good = await sipp.start("good", render_scenario("edge_worker_uas.xml", workdir))
    dead_port = sip_port()  # nothing listens here
    trunk_port = sip_port()
    edge = await edge_factory(
        workers=(
            WorkerDestination("dead", "127.0.0.1", dead_port, 5),
            WorkerDestination("good", "127.0.0.1", good.port, 5),
        ),
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port),),
        ping_interval_s=60,
        worker_timeout_ms=1000,
    )
    # two concurrent calls: alg 10 puts one on each worker, so one hits "dead"
    started = time.monotonic()
    caller = await trunk_call(
        sipp, workdir, edge, port=trunk_port, calls=2, rate=50, hold_ms=2500, name="trunk-dead"
    )
    # while the calls are up, the failed-over call counts on "good", not on "dead"
    await wait_for(lambda: _good_has_both(edge), timeout=2.5)
    loads = {k: v.load for k, v in (await edge.worker_states()).items()}
    assert loads == {"dead": 0, "good": 2}, loads
    assert await caller.wait(20) == 0, caller.diagnostics()
    elapsed = time.monotonic() - started
    assert good.received("INVITE ") == 2
    assert elapsed >= 1.0 + 2.5  # one call waited fr_timer before failing over
    states = await edge.worker_states()
    assert states["dead"].state == "inactive", states
    assert states["good"].state == "active", states


async def test_call_load_spreads_and_full_gets_503(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    workers = await start_workers(sipp, workdir, ["w1", "w2"])
    trunk_port, trunk_port2 = sip_port(), sip_port()
    edge = await edge_factory(
        workers=destinations(workers, maxload=1),
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port), TrunkSource("127.0.0.1", trunk_port2)),
    )
    assert await all_active(edge, 2)

    # two concurrent calls held 4.5 s: one on each worker
    caller = await trunk_call(
        sipp, workdir, edge, port=trunk_port, calls=2, rate=20, hold_ms=4500, name="trunk-load"
    )
    ok = await wait_for(lambda: all(w.received("ACK ") == 1 for w in workers.values()), timeout=5)
    assert ok, {n: w.received("INVITE ") for n, w in workers.items()}
    states = await edge.worker_states()
    assert [s.load for s in states.values()] == [1, 1], states

    # dispatcher.add/remove while calls are up keep load counters and states (no reload)
    await edge.set_worker_state("w1", "draining")
    spare = await sipp.start("spare", render_scenario("edge_worker_uas.xml", workdir))
    await edge.add_worker("w3", "127.0.0.1", spare.port, 1)
    await edge.set_worker_state("w3", "draining")
    states = await edge.worker_states()
    assert {k: (v.load, v.state) for k, v in states.items()} == {
        "w1": (1, "draining"),
        "w2": (1, "active"),
        "w3": (0, "draining"),
    }, states

    # a third call while all are full or draining: 503 from the edge itself
    await rejected_call(sipp, workdir, edge, code=503, port=trunk_port2, name="third")

    await edge.remove_worker("w3")
    states = await edge.worker_states()
    assert {k: (v.load, v.state) for k, v in states.items()} == {
        "w1": (1, "draining"),
        "w2": (1, "active"),
    }, states

    assert await caller.wait(20) == 0, caller.diagnostics()
    assert all(w.received("BYE ") == 1 for w in workers.values())
    assert await wait_for(lambda: _loads_zero(edge), timeout=3)


async def _good_has_both(edge: EdgeManager) -> bool:
    return (await edge.worker_states())["good"].load == 2


async def _loads_zero(edge: EdgeManager) -> bool:
    return all(s.load == 0 for s in (await edge.worker_states()).values())


async def test_worker_calls_registered_agent(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    agent_uas = await sipp.start("agent-uas", render_scenario("edge_worker_uas.xml", workdir))
    worker_port = sip_port()  # the fake worker's UAC sends from here
    edge = await edge_factory(workers=(WorkerDestination("w1", "127.0.0.1", worker_port, 1),))
    await edge.set_agent_credentials("agent7", "pw7")
    await edge.set_agent_credentials("agent8", "pw8")
    await register(
        sipp,
        workdir,
        edge,
        user="agent7",
        password="pw7",
        expect=200,
        contact=f"127.0.0.1:{agent_uas.port}",
    )

    s = edge.settings
    sf = render_scenario("edge_call_uac.xml", workdir, domain=SIP_DOMAIN)
    started = time.monotonic()
    call = await sipp.start(
        "worker-uac",
        sf,
        remote=f"127.0.0.1:{s.listen_port}",
        port=worker_port,
        extra=("-s", "agent7", "-m", "1", "-d", "200", "-timeout", "10s", "-timeout_error"),
    )
    assert await call.wait(15) == 0, call.diagnostics()
    assert time.monotonic() - started < 5
    assert agent_uas.received("INVITE sip:agent7@127.0.0.1:") == 1
    assert await wait_for(lambda: agent_uas.received("BYE ") == 1, timeout=3)

    # known agent, not registered: 480; unknown user: 404
    await rejected_call(
        sipp,
        workdir,
        edge,
        code=480,
        port=worker_port,
        user="agent8",
        domain=SIP_DOMAIN,
        name="unreg",
    )
    await rejected_call(
        sipp,
        workdir,
        edge,
        code=404,
        port=worker_port,
        user="stranger",
        domain=SIP_DOMAIN,
        name="unknown",
    )
    await asyncio.sleep(0)


async def test_caller_cancels_while_worker_rings(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    ringer = await sipp.start("ringer", render_scenario("edge_worker_ringing.xml", workdir))
    trunk_port = sip_port()
    edge = await edge_factory(
        workers=(WorkerDestination("ringer", "127.0.0.1", ringer.port, 1),),
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port),),
    )
    s = edge.settings
    sf = render_scenario("edge_call_cancel.xml", workdir, domain=f"127.0.0.1:{s.listen_port}")
    caller = await sipp.start(
        "cancel",
        sf,
        remote=f"127.0.0.1:{s.listen_port}",
        port=trunk_port,
        extra=("-s", "4930123456", "-m", "1", "-timeout", "10s", "-timeout_error"),
    )
    assert await caller.wait(15) == 0, caller.diagnostics() + ringer.diagnostics()
    assert ringer.received("CANCEL ") == 1
    assert await wait_for(lambda: ringer.received("ACK ") == 1, timeout=3)
    # the cancelled call no longer counts: the (maxload=1) worker takes the next call
    assert (await edge.worker_states())["ringer"].load == 0


async def test_agent_behind_nat_is_reached_at_its_source_address(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    worker_port, agent_port = sip_port(), sip_port()
    edge = await edge_factory(workers=(WorkerDestination("w1", "127.0.0.1", worker_port, 1),))
    await edge.set_agent_credentials("agent5", "pw5")
    # the softphone registers a private Contact from 127.0.0.1:agent_port (a NAT's mapping)
    sf = render_scenario(
        "edge_register.xml", workdir, domain=SIP_DOMAIN, contact="192.168.77.5:5060", code=200
    )
    reg = await sipp.start(
        "reg-nat",
        sf,
        remote=f"127.0.0.1:{edge.settings.listen_port}",
        port=agent_port,
        extra=(
            "-s",
            "agent5",
            "-au",
            "agent5",
            "-ap",
            "pw5",
            "-m",
            "1",
            "-timeout",
            "8s",
            "-timeout_error",
        ),
    )
    assert await reg.wait(12) == 0, reg.diagnostics()
    [contact] = await edge.registered_contacts("agent5")
    assert contact.uri == "sip:agent5@192.168.77.5:5060"
    assert contact.received == f"sip:127.0.0.1:{agent_port}"

    # the same "NAT mapping" now answers calls
    agent_uas = await sipp.start(
        "agent-nat", render_scenario("edge_worker_uas.xml", workdir), port=agent_port
    )
    call = await sipp.start(
        "worker-uac",
        render_scenario("edge_call_uac.xml", workdir, domain=SIP_DOMAIN),
        remote=f"127.0.0.1:{edge.settings.listen_port}",
        port=worker_port,
        extra=("-s", "agent5", "-m", "1", "-d", "200", "-timeout", "10s", "-timeout_error"),
    )
    assert await call.wait(15) == 0, call.diagnostics()
    assert agent_uas.received("INVITE sip:agent5@192.168.77.5:5060") == 1
    assert await wait_for(lambda: agent_uas.received("BYE ") == 1, timeout=3)
