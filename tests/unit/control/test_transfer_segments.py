"""Transfer segments (gateway/control/transfer_segments.py) through the switchboard rig:
the target's connection opens segment 2 with its own recording pair, the record waits
for its files and lists both segments with the chain and each one's stereo file."""

from __future__ import annotations

import wave
from datetime import UTC, datetime
from pathlib import Path

from acd import events as ev
from acd.model import AgentConfig
from gateway.control.transfer_model import Flow, Request, Target
from gateway.control.transfer_segments import Segment, open_segment, segment_records
from gateway.control.transfer_service import TransferService
from gateway.ipc import protocol as p
from tests.unit.control.conftest import Rig, answered_call

L = p.LegState
CALLER = "w1-in-1"


def write_wav(path: str, seconds: float = 0.5) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * int(8000 * seconds))


async def test_a_blind_transfer_records_a_second_segment_and_the_record_chains_both(
    rig: Rig,
) -> None:
    rig.driver.feed(ev.AddAgent(AgentConfig("bob", queues=())))
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    alice = str(dial.leg)
    rig.login("bob")
    rig.step(3.0)
    await rig.settle()
    first = {r.value: path for r, path in s.recordings.items()}
    assert set(first) == {"caller", "agent"}
    rig.pool.sent.clear()

    t = TransferService(rig.driver).start(
        s.call_id, Request(Flow.BLIND, Target.parse("agent", "bob"))
    )
    await rig.settle()
    assert rig.pool.of(p.RecordStart) == []  # nothing new until bob answers
    (bob_dial,) = rig.pool.of(p.Dial)
    bob = str(bob_dial.leg)
    rig.leg(alice, L.DISCONNECTED)
    rig.leg(bob, L.CONFIRMED)
    await rig.settle()
    starts = rig.pool.of(p.RecordStart)
    folder = Path(first["caller"]).parent / "segment-2"
    assert starts == [
        p.RecordStart(CALLER, str(folder / "caller.wav")),
        p.RecordStart(bob, str(folder / "agent.wav")),
    ]
    assert first == {r.value: path for r, path in s.recordings.items()}  # segment 1 stays
    page, _ = await rig.outbox.page(subject=s.call_id, limit=1000)
    (done,) = [e.payload for e in page if e.type == "io.contactgw.transfer.completed"]
    assert done["segment"] == 2

    rig.step(2.0)
    rig.leg(CALLER, L.DISCONNECTED)
    rig.leg(bob, L.DISCONNECTED)
    for path in (*first.values(), *(c.path for c in starts)):
        write_wav(path)
    for path in first.values():  # the caller's segment-1 file was closed by the new recorder
        rig.event(p.RecordingClosed(CALLER, path, 0.5, 8044))
    rig.event(p.RecordingClosed(CALLER, starts[0].path, 0.5, 8044))
    await rig.settle()
    assert not s.settled()  # bob's file is still being written: the record waits
    rig.event(p.RecordingClosed(bob, starts[1].path, 0.5, 8044))
    await rig.settle()
    row = await rig.record(s.call_id)
    assert row.agent == "alice" and row.recording_caller == first["caller"]
    assert row.recording_stereo == str(Path(first["caller"]).with_name("stereo.wav"))
    assert row.segments is not None
    one, two = row.segments
    assert (one["index"], one["agent"], one["previous_segment"], one["transfer_id"]) == (
        1, "alice", None, None)  # fmt: skip
    assert (two["index"], two["agent"], two["previous_segment"], two["transfer_id"]) == (
        2, "bob", 1, t.id)  # fmt: skip
    assert one["initial_call_id"] == two["initial_call_id"] == s.call_id
    assert one["recording_stereo"] == row.recording_stereo
    assert two["recording_caller"] == str(folder / "caller.wav")
    assert two["recording_stereo"] == str(folder / "stereo.wav")
    with wave.open(two["recording_stereo"]) as w:
        assert w.getnchannels() == 2


async def test_a_call_without_a_transfer_has_no_segments(rig: Rig) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    rig.leg(CALLER, L.DISCONNECTED)
    rig.leg(str(dial.leg), L.DISCONNECTED)
    for path in s.recordings.values():
        rig.event(p.RecordingClosed(CALLER, path, 0.0, 44))
    await rig.settle()
    row = await rig.record(s.call_id)
    assert row.segments is None and row.disposition == "answered"


def test_segments_chain_and_an_unrecorded_queue_records_nothing() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    segments: list[Segment] = []
    assert open_segment(segments, agent="bob", leg="b", at=at, transfer_id="t1",
                        previous_agent="alice", folder=None, caller_leg="c") == []  # fmt: skip
    files = open_segment(segments, agent="+1555", leg="n", at=at, transfer_id="t2",
                         previous_agent="bob", folder=Path("/r"), caller_leg="c")  # fmt: skip
    assert files == [("c", "/r/segment-3/caller.wav"), ("n", "/r/segment-3/agent.wav")]
    rows = segment_records("call", None, {}, segments)
    assert rows is not None
    assert [(r["index"], r["agent"], r["previous_segment"]) for r in rows] == [
        (1, "alice", None), (2, "bob", 1), (3, "+1555", 2)]  # fmt: skip
    assert rows[1]["recording_caller"] is None and rows[2]["transfer_id"] == "t2"
    assert segment_records("call", None, {}, []) is None


async def test_a_caller_requeued_by_a_blind_transfer_opens_a_segment_with_its_next_agent(
    rig: Rig,
) -> None:
    rig.driver.feed(ev.AddAgent(AgentConfig("bob", queues=("sales",))))
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, _ = answered_call(rig)
    await rig.settle()
    first = {r.value: path for r, path in s.recordings.items()}
    assert set(first) == {"caller", "agent"}
    rig.pool.sent.clear()

    t = TransferService(rig.driver).start(
        s.call_id, Request(Flow.BLIND, Target.parse("queue", "sales"))
    )
    await rig.settle()
    assert rig.pool.of(p.RecordStart) == []  # back in line: nothing recorded anew yet
    rig.login("bob")  # the next agent of the queue
    rig.step(3.0)
    await rig.settle()
    (bob_dial,) = rig.pool.of(p.Dial)
    bob = str(bob_dial.leg)
    rig.leg(bob, L.CONFIRMED)
    await rig.settle()
    folder = Path(first["caller"]).parent / "segment-2"
    assert rig.pool.of(p.RecordStart) == [
        p.RecordStart(CALLER, str(folder / "caller.wav")),
        p.RecordStart(bob, str(folder / "agent.wav")),
    ]
    assert first == {r.value: path for r, path in s.recordings.items()}  # segment 1 stays
    (seg,) = s.segments
    assert (seg.index, seg.agent, seg.previous_agent, seg.transfer_id) == (
        2, "bob", "alice", t.id)  # fmt: skip
    assert s.requeued_by is None
