"""The supervisor survives its workers: SIGKILL mid-call, a hung worker, draining."""

from __future__ import annotations

import asyncio
import signal
import socket

import pytest

from gateway.ipc import protocol as p
from gateway.ipc.errors import Draining
from gateway.supervisor import WorkerDown, WorkerUp
from tests.integration.worker.conftest import (
    Harness,
    expect_refusal,
    is_event,
    leg_state,
    start_agent,
    start_caller,
)
from tests.integration.worker.test_conversation import assert_tone, connect_agent
from tests.support import audio
from tests.support.sipp import uac_bye, uac_wait_bye, uas_wait_bye

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def port_of(h: Harness, worker: str) -> int:
    return next(w.sip_port for w in h.pool.workers() if w.worker_id == worker)


async def test_sigkill_mid_call_restarts_worker_and_repairs_its_recordings(
    make_harness, pcaps, tmp_path
):
    h = await make_harness(2)
    sipps = []
    try:
        # Conversation A on w1 (will be killed), B on w2 (must carry on).
        agent_a, port_a = await start_agent(tmp_path, pcaps["tone1000_long"], end=uas_wait_bye())
        caller_a = await start_caller(
            tmp_path,
            port_of(h, "w1"),
            pcaps["tone440_long"],
            pcaps["dtmf"],
            dtmf_after_ms=20000,
            end=uac_wait_bye(),
        )
        agent_b, port_b = await start_agent(tmp_path, pcaps["tone1000_long"], end=uas_wait_bye())
        caller_b = await start_caller(
            tmp_path,
            port_of(h, "w2"),
            pcaps["tone440_long"],
            pcaps["dtmf"],
            dtmf_after_ms=7000,
            end=uac_bye(500),
        )
        sipps = [agent_a, caller_a, agent_b, caller_b]
        in_a = (await h.wait(is_event(p.IncomingCall, leg="w1-in-1"), 10)).event
        in_b = (await h.wait(is_event(p.IncomingCall, leg="w2-in-1"), 10)).event
        leg_a, leg_b = await asyncio.gather(
            connect_agent(h, "w1", in_a.leg, port_a, tmp_path, "A"),
            connect_agent(h, "w2", in_b.leg, port_b, tmp_path, "B"),
        )
        await asyncio.sleep(2.5)
        mark = len(h.history)
        h.expected_deaths = 1
        h.pool.kill("w1", signal.SIGKILL)

        down = (await h.wait(is_event(WorkerDown, worker_id="w1"), 5, start=mark)).event
        assert set(down.legs) == {in_a.leg, leg_a}
        lost = h.find(
            lambda ev: (
                isinstance(ev.event, p.LegStateChanged)
                and ev.worker_id == "w1"
                and ev.event.reason == "worker lost"
            )
        )
        assert {ev.event.leg for ev in lost} == {in_a.leg, leg_a}
        repaired = {
            ev.event.leg: ev.event
            for ev in h.history[mark:]
            if isinstance(ev.event, p.RecordingClosed)
        }
        assert set(repaired) == {in_a.leg, leg_a}
        assert_tone(repaired[in_a.leg].path, 440, 1000, min_seconds=2.0)
        assert_tone(repaired[leg_a].path, 1000, 440, min_seconds=1.5)

        # w2's conversation is unaffected: commands work, and it ends normally.
        assert (await h.cmd("w2", p.Ping()))["legs"] == 2
        await h.wait(
            lambda ev: isinstance(ev.event, WorkerUp) and ev.worker_id == "w1", 10, start=mark
        )
        assert (await h.cmd("w1", p.Ping()))["legs"] == 0
        await h.wait(leg_state(in_b.leg, "disconnected"), 15)
        await h.wait(leg_state(leg_b, "disconnected"), 5)
        assert await caller_b.wait(10) == 0, caller_b.errors()
        assert await agent_b.wait(10) == 0, agent_b.errors()
        rec_b = (await h.wait(is_event(p.RecordingClosed, leg=in_b.leg), 5)).event
        x, rate = audio.read_wav(rec_b.path)
        assert audio.dropouts(x, rate) == []  # no glitch while its neighbour died
        assert [w.restarts for w in h.pool.workers()] == [1, 0]
    finally:
        for s in sipps:
            s.kill()


async def test_hung_worker_fails_health_checks_and_is_replaced(make_harness):
    h = await make_harness(1, health_interval=0.5, health_timeout=0.5, health_failures=2)
    h.expected_deaths = 1
    h.pool.kill("w1", signal.SIGSTOP)
    down = (await h.wait(is_event(WorkerDown, worker_id="w1"), 8)).event
    assert down.exit_code != 0
    await h.wait(
        lambda ev: isinstance(ev.event, WorkerUp),
        10,
        start=h.history.index(next(ev for ev in h.history if ev.event is down)),
    )
    assert (await h.cmd("w1", p.Ping()))["legs"] == 0


async def test_drain_refuses_new_calls_then_hangs_up_after_grace(make_harness, pcaps, tmp_path):
    h = await make_harness(1)
    caller = await start_caller(
        tmp_path,
        port_of(h, "w1"),
        pcaps["tone440_long"],
        pcaps["dtmf"],
        dtmf_after_ms=300,
        end=uac_wait_bye(),
    )
    try:
        incoming = (await h.wait(is_event(p.IncomingCall), 10)).event
        await h.cmd("w1", p.Answer(incoming.leg))
        await h.wait(leg_state(incoming.leg, "confirmed"), 5)
        drain = asyncio.create_task(h.pool.drain(grace=1.5))
        await h.wait(is_event(p.Capacity, draining=True), 5)
        with pytest.raises(Draining) as err:
            await h.cmd("w1", p.Dial("sip:nobody@127.0.0.1:9"))
        assert err.value.code == "draining"
        await expect_refusal(tmp_path, port_of(h, "w1"), 503)
        await asyncio.wait_for(drain, 20)
        ended = (await h.wait(leg_state(incoming.leg, "disconnected"), 1)).event
        assert ended.code in (0, 200)
        assert await caller.wait(10) == 0, caller.errors()  # it got a proper BYE
        down = (await h.wait(is_event(WorkerDown), 5)).event
        assert down.exit_code == 0
    finally:
        caller.kill()


async def test_sigterm_drains_hangs_up_after_grace_and_exits_zero(make_harness, pcaps, tmp_path):
    h = await make_harness(1, drain_grace=1.0)
    caller = await start_caller(
        tmp_path, port_of(h, "w1"), pcaps["tone440_long"], None, end=uac_wait_bye()
    )
    try:
        leg = (await h.wait(is_event(p.IncomingCall), 10)).event.leg
        await h.cmd("w1", p.Answer(leg))
        await h.wait(leg_state(leg, "confirmed"), 5)
        h.pool.kill("w1", signal.SIGTERM)
        await h.wait(is_event(p.Capacity, draining=True), 5)
        await asyncio.sleep(0.5)
        assert (await h.cmd("w1", p.Ping()))["legs"] == 1  # grace: the call is still up
        await h.wait(leg_state(leg, "disconnected"), 5)
        down = (await h.wait(is_event(WorkerDown, worker_id="w1"), 5)).event
        assert down.exit_code == 0 and down.legs == ()
        assert await caller.wait(10) == 0, caller.errors()
        await h.wait(
            is_event(WorkerUp, worker_id="w1"),
            10,
            start=h.history.index(next(ev for ev in h.history if ev.event is down)),
        )  # the supervisor restarts it
    finally:
        caller.kill()


async def test_worker_that_cannot_start_is_retried_with_backoff(make_harness):
    h = await make_harness(1, start=False, backoff_initial=0.2, start_timeout=2.0)
    h.expected_deaths = -1  # counted below
    port = h.pool.config.sip_port_base
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", port))  # the worker's SIP port is taken
    try:
        with pytest.raises(RuntimeError, match="did not start"):
            await h.pool.start()
        failures = [ev for ev in h.history if isinstance(ev.event, WorkerDown)]
        assert 2 <= len(failures) <= 5  # 0.2, 0.4, 0.8 s ... not a tight loop
        assert {ev.event.exit_code for ev in failures} == {2}
    finally:
        blocker.close()
    await h.wait(is_event(WorkerUp, worker_id="w1"), 10)  # port free again: it comes up
    assert (await h.cmd("w1", p.Ping()))["legs"] == 0
