"""Dialog tracking: when a worker dies, the edge ends every dialog that involved it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.edge import EdgeManager, TrunkSource, WorkerDestination
from gateway.edge.settings import WORKER_PROFILE
from tests.integration.edge.conftest import SIP_DOMAIN, EdgeFactory
from tests.integration.edge.test_edge_calls import trunk_call
from tests.integration.edge.test_edge_register import register
from tests.support.edge_env import SippPool, rtp_port, sip_port
from tests.support.edge_fake_worker import FakeWorker
from tests.support.polling import wait_for
from tests.support.sipp import render_scenario

pytestmark = pytest.mark.integration


async def _profile_size(edge: EdgeManager, worker_id: str) -> int:
    return await edge.rpc.dlg_profile_size(WORKER_PROFILE, worker_id)


async def test_end_worker_dialogs_sends_bye_to_caller_and_agent(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    trunk_port = sip_port()
    worker = FakeWorker(port=sip_port(), edge=("127.0.0.1", 0), media_port=rtp_port())
    other = FakeWorker(port=sip_port(), edge=("127.0.0.1", 0), media_port=rtp_port())
    await worker.start()  # up before the edge's first OPTIONS probe
    await other.start()
    try:
        edge = await edge_factory(
            workers=(
                WorkerDestination("w1", "127.0.0.1", worker.port, 2),
                WorkerDestination("w2", "127.0.0.1", other.port, 2),
            ),
            trunk_sources=(TrunkSource("127.0.0.1", trunk_port, "itsp"),),
        )
        listen = ("127.0.0.1", edge.settings.listen_port)
        worker.edge = other.edge = listen

        # nothing to end yet
        assert await edge.end_worker_dialogs("w1") == 0

        # agents' softphones: registered at the edge, answer one call each
        agents = {}
        for user in ("agent7", "agent8"):
            await edge.set_agent_credentials(user, f"pw-{user}")
            agents[user] = await sipp.start(
                user,
                render_scenario("edge_worker_uas.xml", workdir),
                extra=("-m", "1", "-timeout", "20s", "-timeout_error"),
            )
            await register(
                sipp,
                workdir,
                edge,
                user=user,
                password=f"pw-{user}",
                expect=200,
                contact=f"127.0.0.1:{agents[user].port}",
            )
        # w2 is draining: the trunk call goes to w1
        await edge.set_worker_state("w2", "draining")

        # the carrier calls; w1 answers, then bridges to agent7 through the edge
        caller = await sipp.start(
            "trunk",
            render_scenario("edge_call_uac_remote_bye.xml", workdir, domain=f"{listen[0]}:{listen[1]}"),
            remote=f"{listen[0]}:{listen[1]}",
            port=trunk_port,
            extra=("-s", "4930123456", "-m", "1", "-timeout", "20s", "-timeout_error"),
        )
        invite = await worker.answer_incoming(timeout=8)
        assert invite.first_line.startswith("INVITE sip:4930123456@"), invite.first_line
        await worker.call(f"sip:agent7@{SIP_DOMAIN}", timeout=8)
        # an unrelated call: w2 -> agent8
        await other.call(f"sip:agent8@{SIP_DOMAIN}", timeout=8)
        assert await wait_for(lambda: caller.received("SIP/2.0 200") >= 1, timeout=3)
        assert await wait_for(
            lambda: all(a.received("ACK ") == 1 for a in agents.values()), timeout=3
        )
        assert await _profile_size(edge, "w1") == 2
        assert await _profile_size(edge, "w2") == 1
        assert (await edge.worker_states())["w1"].load == 1

        # w1 is SIGKILLed: no BYE from it; the control plane asks the edge to clean up
        worker.kill()
        started = time.time()
        assert await edge.end_worker_dialogs("w1") == 2
        assert await caller.wait(10) == 0, caller.diagnostics()
        assert await agents["agent7"].wait(10) == 0, agents["agent7"].diagnostics()
        assert caller.received("BYE ") == 1
        assert agents["agent7"].received("BYE ") == 1
        delays = [
            (stamp - started) * 1000
            for stamp in (caller.received_at("BYE "), agents["agent7"].received_at("BYE "))
            if stamp is not None
        ]
        shown = ", ".join(f"{d:.1f}" for d in delays)
        print(f"\nBYE at the caller and the agent {shown} ms after end_worker_dialogs()")

        # w2's call is untouched
        assert agents["agent8"].received("BYE ") == 0
        assert agents["agent8"].proc.returncode is None
        assert await _profile_size(edge, "w2") == 1

        # w1's dialogs are gone once their BYEs complete (the one to w1 times out)
        assert await wait_for(lambda: _no_dialogs(edge, "w1"), timeout=10)
        assert await edge.end_worker_dialogs("w1") == 0
        # the caller leg's call-load slot is free again (the edge's own BYE released it)
        loads = {k: v.load for k, v in (await edge.worker_states()).items()}
        assert loads == {"w1": 0, "w2": 0}, loads
    finally:
        worker.kill()
        other.kill()
        if worker.log:
            print("--- fake worker\n" + "\n".join(worker.log[-20:]))


async def _no_dialogs(edge: EdgeManager, worker_id: str) -> bool:
    return await _profile_size(edge, worker_id) == 0


async def test_failed_over_call_is_tagged_with_the_worker_that_took_it(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    # "dead" never answers: its calls fail over to "good" after fr_timer. Ending "dead"'s
    # dialogs afterwards must not touch them.
    good = await sipp.start("good", render_scenario("edge_worker_uas.xml", workdir))
    trunk_port = sip_port()
    edge = await edge_factory(
        workers=(
            WorkerDestination("dead", "127.0.0.1", sip_port(), 5),
            WorkerDestination("good", "127.0.0.1", good.port, 5),
        ),
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port),),
        ping_interval_s=60,
        worker_timeout_ms=1000,
    )
    caller = await trunk_call(
        sipp, workdir, edge, port=trunk_port, calls=2, rate=50, hold_ms=3000, name="trunk"
    )
    assert await wait_for(lambda: _profile_size_is(edge, "good", 2), timeout=4)
    assert await _profile_size(edge, "dead") == 0
    assert await edge.end_worker_dialogs("dead") == 0
    assert await caller.wait(20) == 0, caller.diagnostics()
    assert good.received("BYE ") == 2  # the callers' own BYEs, not the edge's
    assert await wait_for(lambda: _no_dialogs(edge, "good"), timeout=3)


async def _profile_size_is(edge: EdgeManager, worker_id: str, size: int) -> bool:
    return await _profile_size(edge, worker_id) == size
