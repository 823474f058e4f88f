"""Transfer segments (gateway/control/transfer_segments.py) through the switchboard rig:
the target's connection opens segment 2 with its own recording pair, the record waits
for its files and lists both segments with the chain and each one's stereo file."""

from __future__ import annotations

import hashlib
import wave
from datetime import UTC, datetime
from pathlib import Path

from acd import events as ev
from acd.model import AgentConfig
from gateway.control.recording import FinishedRecordings
from gateway.control.retention import LEGAL_HOLD, sweep
from gateway.control.segment_recordings import finish_segments, ready_events
from gateway.control.session import CallSession
from gateway.control.transfer_model import Flow, Request, Target
from gateway.control.transfer_segments import (
    Segment,
    current_segment,
    offset_into,
    open_segment,
    segment_records,
    segment_url,
)
from gateway.control.transfer_service import TransferService
from gateway.ipc import protocol as p
from tests.unit.control.conftest import Rig, answered_call

L = p.LegState
CALLER = "w1-in-1"


def sha256_of(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_wav(path: str, seconds: float = 0.5) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * int(8000 * seconds))


async def alice_talking_and_bob_free(rig: Rig) -> tuple[CallSession, str]:
    """A caller talking to alice (her leg's name), bob logged in and free."""
    rig.driver.feed(ev.AddAgent(AgentConfig("bob", queues=())))
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    rig.login("bob")
    return s, str(dial.leg)


async def test_a_blind_transfer_records_a_second_segment_and_the_record_chains_both(
    rig: Rig,
) -> None:
    s, alice = await alice_talking_and_bob_free(rig)
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

    # a PCI pause during bob's segment: timed into segment 2's files, bob's and the caller's
    # recorders (segment 2's) silenced
    call = rig.board.calls.by_call(s.call_id)
    assert call is not None
    rig.step(1.0)
    rig.driver.act(lambda: rig.board.incall.pause_recording(call, "api", "sue"))
    rig.step(0.5)
    rig.driver.act(lambda: rig.board.incall.resume_recording(call, "api", "sue"))
    await rig.settle()
    assert rig.pool.of(p.RecordPause) == [p.RecordPause(CALLER), p.RecordPause(bob)]
    (span,) = s.pci.spans
    assert (span.segment, span.start, span.end) == (2, 1.0, 1.5)  # not from alice's answer

    rig.step(0.5)
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
    # each segment's files finished like the call's: lengths and checksums in its row
    for seg in (one, two):
        assert {f["role"] for f in seg["files"]} == {"caller", "agent", "stereo"}, seg
        stereo = next(f for f in seg["files"] if f["role"] == "stereo")
        assert seg["sha256"] == stereo["sha256"] == sha256_of(seg["recording_stereo"])
        assert seg["duration_seconds"] == 0.5 and seg["failure"] is None
    (pause,) = row.recording_pauses or ()
    assert (pause["segment"], pause["start"], pause["end"]) == (2, 1.0, 1.5)
    # one recording.ready per segment, each with its own files and URL
    page, _ = await rig.outbox.page(subject=s.call_id, limit=1000)
    ready = [e.payload for e in page if e.type == "io.contactgw.recording.ready"]
    assert [(e["segment"], e["segments"]) for e in ready] == [(1, 2), (2, 2)]
    assert ready[0]["url"] == f"/calls/{s.call_id}/recording"
    assert ready[1]["url"] == f"/calls/{s.call_id}/recording?segment=2"
    assert {f["path"] for f in ready[1]["files"]} == {
        two["recording_caller"], two["recording_agent"], two["recording_stereo"]}  # fmt: skip
    paused = [e.payload for e in page if e.type.startswith("io.contactgw.recording.")
              and e.type.endswith(("paused", "resumed"))]  # fmt: skip
    assert [(e["segment"], e["offset_seconds"]) for e in paused] == [(2, 1.0), (2, 1.5)]


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


def test_offsets_are_into_the_segment_and_urls_name_it() -> None:
    t0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
    segments: list[Segment] = []
    open_segment(segments, agent="bob", leg="b", at=t0.replace(second=30), transfer_id="t1",
                 previous_agent="alice", folder=None, caller_leg="c")  # fmt: skip
    now = t0.replace(second=42)
    assert current_segment([]) == 1 and current_segment(segments) == 2
    assert offset_into(t0, segments, 1, now) == 42.0
    assert offset_into(t0, segments, 2, now) == 12.0
    assert offset_into(None, [], 1, now) == 0.0  # not answered: nothing recorded yet
    assert segment_url("c1", 1) == "/calls/c1/recording"
    assert segment_url("c1", 2, base="/api/v1/calls") == "/api/v1/calls/c1/recording?segment=2"


async def test_a_segment_without_files_gets_no_ready_event_and_keeps_its_row() -> None:
    async def never(files: dict[str, str]) -> FinishedRecordings:
        raise AssertionError(f"nothing to finish: {files}")

    rows = [{"index": 1, "recording_caller": None, "recording_agent": None},
            {"index": 2, "recording_caller": None, "recording_agent": None}]  # fmt: skip
    out = await finish_segments(rows, None, never)
    assert out == rows and out[0] is not rows[0]
    assert ready_events("c1", "sales", (), out) == ()


def test_retention_deletes_every_segment_with_its_call_folder(tmp_path: Path) -> None:
    folder = tmp_path / "2026" / "01" / "02" / "call-1"
    for name in ("stereo.wav", "segment-2/stereo.wav", "segment-3/caller.wav"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"RIFF")
    kept = tmp_path / "2026" / "01" / "02" / "call-2" / "segment-2"
    kept.mkdir(parents=True)
    (kept.parent / LEGAL_HOLD).touch()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert sweep(tmp_path, 30, now) == [folder]
    assert not folder.exists() and kept.is_dir()  # a legal hold keeps all its segments


async def test_a_pci_pause_running_at_the_transfer_goes_on_in_the_new_segment(rig: Rig) -> None:
    s, alice = await alice_talking_and_bob_free(rig)
    call = rig.board.calls.by_call(s.call_id)
    assert call is not None
    rig.step(2.0)
    rig.driver.act(lambda: rig.board.incall.pause_recording(call, "api", "sue"))
    await rig.settle()
    TransferService(rig.driver).start(s.call_id, Request(Flow.BLIND, Target.parse("agent", "bob")))
    await rig.settle()
    bob = str(rig.pool.of(p.Dial)[-1].leg)
    rig.step(3.0)
    rig.pool.sent.clear()
    rig.leg(alice, L.DISCONNECTED)
    rig.leg(bob, L.CONFIRMED)
    await rig.settle()
    # segment 2's recorders start, then are paused at once: the card number stays out
    sent = [c for _, c in rig.pool.sent if isinstance(c, p.RecordStart | p.RecordPause)]
    assert [type(c).__name__ for c in sent] == [
        "RecordStart", "RecordStart", "RecordPause", "RecordPause",
    ]  # fmt: skip
    assert {c.leg for c in sent if isinstance(c, p.RecordPause)} == {CALLER, bob}
    one, two = s.pci.spans
    assert (one.segment, one.start, one.end, one.by) == (1, 2.0, 5.0, "sue")
    assert (two.segment, two.start, two.end, two.by) == (2, 0.0, None, "sue")
    rig.step(1.5)
    rig.driver.act(lambda: rig.board.incall.resume_recording(call, "api", "sue"))
    assert (two.start, two.end) == (0.0, 1.5)
