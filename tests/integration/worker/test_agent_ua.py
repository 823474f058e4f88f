"""The test softphone (tests/support/agent_ua.py) against sipp and a real worker."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from gateway.ipc import protocol as p
from tests.integration.worker.conftest import (
    REPO,
    is_event,
    leg_state,
    start_caller,
    start_registrar,
)
from tests.integration.worker.test_conversation import assert_tone, connect_agent
from tests.support import ports
from tests.support.agent_ua_client import AgentProcess
from tests.support.sipp import uac_wait_bye

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_help_documents_the_control_protocol():
    out = subprocess.run(
        [sys.executable, "-m", "tests.support.agent_ua", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0
    for word in (
        "--registrar",
        "--answer-after",
        "--never-answer",
        "--reject",
        "--tone",
        '"cmd": "hangup"',
    ):
        assert word in out.stdout


async def test_registers_with_digest_auth_and_unregisters_on_quit(tmp_path):
    sip_port = ports.sip_block(1)
    registrar, reg_port = await start_registrar(
        tmp_path,
        user="alice",
        password="s3cret",
        contact_re=rf"sip:alice@127\.0\.0\.1:{sip_port}",
        calls=1,
    )
    agent = await AgentProcess.start(
        [
            "--user",
            "alice",
            "--password",
            "s3cret",
            "--registrar",
            f"sip:127.0.0.1:{reg_port}",
            "--domain",
            "test.local",
            "--sip-port",
            str(sip_port),
            "--rtp-port",
            str(ports.rtp_block(40)),
        ]
    )
    try:
        reg = await agent.wait_event("registration", registered=True)
        assert reg["code"] == 200
        assert await registrar.wait(10) == 0, registrar.errors()
        await agent.send({"cmd": "state"})
        status = await agent.wait_event("status")
        assert status["registered"] is True and status["call"] is None
    finally:
        registrar.kill()
        assert await agent.stop() == 0
    assert agent.find("bye")


async def test_worker_bridges_caller_to_agent_ua_and_agent_hangs_up(make_harness, pcaps, tmp_path):
    h = await make_harness(1)
    agent_port = ports.sip_block(1)
    agent = await AgentProcess.start(
        [
            "--user",
            "bob",
            "--no-register",
            "--sip-port",
            str(agent_port),
            "--rtp-port",
            str(ports.rtp_block(40)),
            "--answer-after",
            "0.3",
            "--tone",
            "1000",
            "--record",
            str(tmp_path / "bob-{n}.wav"),
        ]
    )
    caller = await start_caller(
        tmp_path, h.pool.workers()[0].sip_port, pcaps["tone440_long"], None, end=uac_wait_bye()
    )
    try:
        incoming = (await h.wait(is_event(p.IncomingCall), 10)).event
        agent_leg = await connect_agent(h, "w1", incoming.leg, agent_port, tmp_path, "ua")
        assert "sip:queue@127.0.0.1" in (await agent.wait_event("incoming"))["from"]  # caller-id
        await agent.wait_event("call_state", state="confirmed")
        await asyncio.sleep(3)  # let a few seconds of audio flow both ways
        await agent.send({"cmd": "state"})
        assert (await agent.wait_event("status"))["call"] == "confirmed"
        await agent.send({"cmd": "hangup"})
        await h.wait(leg_state(agent_leg, "disconnected"), 5)
        await h.wait(leg_state(incoming.leg, "disconnected"), 5)
        assert await caller.wait(10) == 0, caller.errors()
        rec = await agent.wait_event("recording")
        await h.wait(is_event(p.RecordingClosed, leg=agent_leg), 5)
    finally:
        caller.kill()
        assert await agent.stop() == 0
    # The softphone heard the caller through the bridge; the worker heard the softphone.
    assert_tone(rec["path"], 440, 1000, min_seconds=2.0)
    agent_rec = next(ev.event for ev in h.find(is_event(p.RecordingClosed, leg=agent_leg)))
    assert_tone(agent_rec.path, 1000, 440, min_seconds=2.0)
