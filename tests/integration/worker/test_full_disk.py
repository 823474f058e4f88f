"""A recordings disk that fills up mid-call (a real 256 KB tmpfs, tests/support/small_disk.py):
the call stays up and ends normally, the worker lives on, and the finalizer names the
failure (disk_full) instead of the stereo file.

What pjsua2's recorder does when its writes fail (found by this test): the conversation
goes on (no error, no event), the recorder stops writing at the first ENOSPC (1.5 s and
1.2 s of a 7.5 s call here), and at hang-up it closes a WAV whose header matches what
reached the disk; RecordingClosed reports that shorter duration. So the legs hold the
first seconds of the call, and only the finalizer's own failing write says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.control.recording import RecordingFinalizer
from gateway.ipc import protocol as p
from tests.integration.worker.conftest import is_event, leg_state, start_agent, start_caller
from tests.integration.worker.test_conversation import connect_agent
from tests.support import audio
from tests.support.sipp import uac_bye, uas_wait_bye
from tests.support.small_disk import fill, small_disk

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

FREE = 64 * 1024  # ~2 s of one 8 kHz leg: both legs run out within the first seconds


async def test_a_full_recordings_disk_keeps_the_call_up(make_harness, pcaps, tmp_path):
    with small_disk(tmp_path / "recordings", 256) as disk:
        fill(disk, leave_bytes=FREE)
        h = await make_harness(1)
        agent, agent_port = await start_agent(tmp_path, pcaps["tone1000"], end=uas_wait_bye())
        caller = await start_caller(tmp_path, h.pool.workers()[0].sip_port, pcaps["tone440"],
                                    None, end=uac_bye(1500))  # fmt: skip
        try:
            incoming = (await h.wait(is_event(p.IncomingCall), 10)).event
            agent_leg = await connect_agent(h, "w1", incoming.leg, agent_port, disk, "c1")
            await h.wait(leg_state(incoming.leg, "disconnected"), 20)
            await h.wait(leg_state(agent_leg, "disconnected"), 5)
            for leg in (incoming.leg, agent_leg):
                await h.wait(is_event(p.RecordingClosed, leg=leg), 5)
            # the call ran its course: the caller's own BYE after its 6 s of tone
            assert await caller.wait(20) == 0, caller.errors()
            assert await agent.wait(20) == 0, agent.errors()
        finally:
            caller.kill()
            agent.kill()
        assert h.pool.workers()[0].state == "up"  # and no worker died (the harness checks)
        closed = {ev.event.leg: ev.event for ev in h.find(is_event(p.RecordingClosed))}
        legs = {"caller": closed[incoming.leg].path, "agent": closed[agent_leg].path}
        sizes = {role: Path(path).stat().st_size for role, path in legs.items()}
        assert sum(sizes.values()) <= FREE + 8192, sizes  # what fitted, no more
        for leg, role in ((incoming.leg, "caller"), (agent_leg, "agent")):
            x, rate = audio.read_wav(legs[role])  # the header agrees with the bytes on disk
            assert len(x) / rate == pytest.approx(closed[leg].duration, abs=0.05)
            assert closed[leg].duration < 4.0, "the recorder stopped at the full disk"

        finalizer = RecordingFinalizer(processes=1)
        try:
            done = await finalizer.finalize(legs, True, call_id="c1")
        finally:
            await finalizer.close()
        assert done.failure == "disk_full", done
        assert done.stereo is None and not list(Path(legs["caller"]).parent.glob("stereo*"))
