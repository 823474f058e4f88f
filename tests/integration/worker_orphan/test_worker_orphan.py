"""Workers outlive a dead control plane (issue 14): a real worker, sipp callers and
agent, and a control plane played by the test.

1. Two conversations' worth of legs (a caller bridged to an agent, both recorded; a
   queued caller hearing music), then the control plane dies: the calls stay up (the
   recordings keep growing, no gap > 200 ms), a new INVITE gets 503, the caller hangs
   up meanwhile (the worker hangs up the agent). A control plane on the same port gets
   a resumed hello, the legs as they were at the loss (with the notes), SnapshotDone,
   then the events buffered since, in order, and its commands work.
2. No control plane comes back: after ``--orphan-timeout`` (0: at once) the caller
   gets a BYE, the recording's header is final and the worker exits 0.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.ipc import protocol as p
from tests.integration.worker_orphan.conftest import (
    MUSIC,
    ControlPlane,
    event_of,
    start_sipp,
)
from tests.support import audio, ports
from tests.support.polling import wait_for
from tests.support.sipp import uac_bye, uac_wait_bye, uas_wait_bye

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
CONFIRMED, GONE = p.LegState.CONFIRMED, p.LegState.DISCONNECTED
BYE_AFTER_MS = 5000  # the first caller hangs up while the worker is orphaned


def longest_gap_ms(path: str) -> int:
    """The longest run of silent 20 ms frames between the first and last loud one."""
    x, rate = audio.read_wav(path)
    longest = run = 0
    last = -2
    for i in audio.dropouts(x, rate):
        run = run + 1 if i == last + 1 else 1
        longest, last = max(longest, run), i
    return longest * 20


def index_of(events: list[p.Event], kind: type, **fields: Any) -> int:
    found = event_of(kind, **fields)(events)
    assert found is not None, (kind, fields, events)
    return events.index(found)


async def call_in(
    cp: ControlPlane, tmp: Path, worker_port: int, tone: str, end: str
) -> tuple[Any, str]:
    """A sipp caller to the worker, answered; returns (sipp, its leg)."""
    known = {e.leg for e in cp.events() if isinstance(e, p.IncomingCall)}
    caller, _ = await start_sipp(
        tmp, "uac_pcap.xml", target=worker_port, tone_pcap=tone, dtmf="", end=end,
        from_user=f"1555000{len(known)}",
    )  # fmt: skip
    new = await cp.wait(lambda evs: [e.leg for e in evs if isinstance(e, p.IncomingCall) and e.leg not in known])  # fmt: skip
    return caller, new[0]


async def test_calls_survive_and_a_new_control_plane_gets_snapshot_then_events(
    spawn_worker: Any, tones: dict[int, str], tmp_path: Path
) -> None:
    port = ports.tcp_port()
    cp = await ControlPlane(port).start()
    worker = await spawn_worker(port, orphan_timeout=30)
    assert not (await cp.connected()).resumed
    agent, agent_port = await start_sipp(
        tmp_path, "uas_tone.xml", tone_pcap=tones[1000], end=uas_wait_bye(), answer_delay_ms=100
    )
    caller, a = await call_in(cp, tmp_path, worker.sip_port, tones[440], uac_bye(BYE_AFTER_MS))
    rec_a, rec_b = str(tmp_path / "rec" / "caller.wav"), str(tmp_path / "rec" / "agent.wav")
    await cp.cmd(p.Answer(a, prompt=MUSIC, loop=True))
    await cp.wait(event_of(p.LegStateChanged, leg=a, state=CONFIRMED))
    await cp.cmd(p.RecordStart(a, rec_a))
    b = (await cp.cmd(p.Dial(f"sip:agent@127.0.0.1:{agent_port}", leg="w1-agent")))["leg"]
    await cp.wait(event_of(p.LegStateChanged, leg=b, state=CONFIRMED))
    await cp.cmd(p.RecordStart(b, rec_b))
    await cp.cmd(p.Bridge(a, b))
    note: dict[str, object] = {"call": "c-1", "phase": "connected", "agent": "alice"}
    await cp.cmd(p.Annotate(a, note))
    queued, c = await call_in(cp, tmp_path, worker.sip_port, tones[1000], uac_wait_bye())
    await cp.cmd(p.Answer(c, prompt=MUSIC, loop=True))
    await cp.cmd(p.Annotate(c, {"call": "c-2", "phase": "queued"}))
    await cp.wait(event_of(p.LegStateChanged, leg=c, state=CONFIRMED))

    await cp.close()  # the control plane dies
    size_at_loss = os.path.getsize(rec_a)
    refused, _ = await start_sipp(tmp_path, "uac_reject.xml", target=worker.sip_port, code=503)
    assert await refused.wait(10) == 0, refused.errors()  # no routing without a control plane
    grew = await wait_for(lambda: os.path.getsize(rec_a) > size_at_loss + 16000, 5)
    assert grew, (size_at_loss, os.path.getsize(rec_a))  # > 1 s more audio while orphaned
    assert await caller.wait(15) == 0, caller.errors()  # hung up during the orphan time
    assert await agent.wait(10) == 0, agent.errors()  # the worker hung up the agent (linked)
    assert worker.proc.returncode is None

    cp2 = await ControlPlane(port).start()  # the restarted control plane, same port
    hello = await cp2.connected()
    assert hello.resumed and hello.pid == worker.proc.pid and hello.worker_id == "w1"
    done = await cp2.wait(event_of(p.SnapshotDone))
    await cp2.wait(lambda evs: len(evs) >= evs.index(done) + 1 + done.events)
    events = cp2.events()
    cut = events.index(done)
    snaps = {e.leg: e for e in events[:cut] if isinstance(e, p.LegSnapshot)}
    assert len(snaps) == cut == done.legs == 3 and set(snaps) == {a, b, c}
    sa, sb, sc = snaps[a], snaps[b], snaps[c]
    assert (sa.direction, sa.state, sa.note, sa.bridged_to) == ("in", CONFIRMED, note, b)
    assert (sa.recording, sa.recording_paused, sa.playing, sa.held) == (rec_a, False, "", False)
    assert sa.sip_call_id and "1555000" in sa.remote
    assert (sb.direction, sb.state, sb.bridged_to, sb.recording) == ("out", CONFIRMED, a, rec_b)
    assert sb.note == {} and f"127.0.0.1:{agent_port}" in sb.remote
    assert (sc.playing, sc.playing_loop, sc.bridged_to, sc.recording) == (MUSIC, True, "", "")
    assert sc.note == {"call": "c-2", "phase": "queued"}
    assert done.orphaned_s > BYE_AFTER_MS / 1000 - 3 and done.orphaned_s < 30

    replay = events[cut + 1 :]  # what happened meanwhile, in order
    assert len(replay) == done.events
    gone_a = index_of(replay, p.LegStateChanged, leg=a, state=GONE)
    gone_b = index_of(replay, p.LegStateChanged, leg=b, state=GONE)
    assert gone_a < gone_b  # cause before effect
    assert index_of(replay, p.RecordingClosed, path=rec_a) > gone_a
    assert index_of(replay, p.RecordingClosed, path=rec_b) > gone_a
    assert not [e for e in replay if isinstance(e, p.IncomingCall | p.CallRejected)]  # the 503
    assert [e for e in replay if isinstance(e, p.Capacity)] == [p.Capacity(1, 4, False)]

    # the audio went on through the loss: each recording is its tone, without a gap
    for path, freq in ((rec_a, 440), (rec_b, 1000)):
        x, rate = audio.read_wav(path)
        assert len(x) / rate > BYE_AFTER_MS / 1000 - 2.5, path
        assert audio.mostly_tone(x, rate, freq), path
        assert longest_gap_ms(path) <= 200, path

    # the new control plane is in charge: commands work, new events arrive live
    assert (await cp2.cmd(p.Ping()))["legs"] == 1
    await cp2.cmd(p.Hangup(c))
    assert await queued.wait(10) == 0, queued.errors()
    await cp2.wait(event_of(p.LegStateChanged, leg=c, state=GONE))
    await cp2.cmd(p.Shutdown())
    assert await asyncio.wait_for(worker.proc.wait(), 10) == 0
    assert "resumed after" in worker.text()
    await cp2.close()


@pytest.mark.parametrize(
    ("timeout", "says"),
    [(2.0, "no control plane within 2 s: ending 1 legs and exiting"),
     (0.0, "control plane connection lost: hanging up")],
)  # fmt: skip
async def test_no_control_plane_comes_back_the_worker_ends_its_calls_and_exits(
    spawn_worker: Any, tones: dict[int, str], tmp_path: Path, timeout: float, says: str
) -> None:
    port = ports.tcp_port()
    cp = await ControlPlane(port).start()
    worker = await spawn_worker(port, orphan_timeout=timeout)
    await cp.connected()
    caller, leg = await call_in(cp, tmp_path, worker.sip_port, tones[440], uac_wait_bye())
    rec = str(tmp_path / "rec" / "caller.wav")
    await cp.cmd(p.Answer(leg))
    await cp.wait(event_of(p.LegStateChanged, leg=leg, state=CONFIRMED))
    await cp.cmd(p.RecordStart(leg, rec))
    await wait_for(lambda: os.path.exists(rec) and os.path.getsize(rec) > 8000, 5)
    await cp.close()
    lost = time.monotonic()
    assert await caller.wait(timeout + 10) == 0, caller.errors()  # it got the worker's BYE
    assert await asyncio.wait_for(worker.proc.wait(), 10) == 0
    assert timeout <= time.monotonic() - lost < timeout + 6
    audio.check_header(rec)  # the WAV header is final
    x, rate = audio.read_wav(rec)
    assert len(x) / rate >= timeout and audio.mostly_tone(x, rate, 440)
    assert says in worker.text()
