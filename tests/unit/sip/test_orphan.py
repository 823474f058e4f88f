"""The orphan policy (gateway/sip/orphan.py) with a stepped clock: the snapshot is the
events' cut, events after it are buffered in order, the wait is bounded in time and in
events, and a resume hands back snapshot + SnapshotDone + events exactly once."""

from __future__ import annotations

import pytest

from gateway.ipc import protocol as p
from gateway.sip.orphan import MAX_EVENTS, Orphanage, Phase
from tests.support.clock import ManualClock

CONFIRMED = p.LegState.CONFIRMED
GONE = p.LegState.DISCONNECTED


def snap(leg: str) -> p.LegSnapshot:
    return p.LegSnapshot(leg, f"{leg}@sip", "in", CONFIRMED, "sip:caller@x", {"call": leg})


def state(leg: str, s: p.LegState = GONE) -> p.LegStateChanged:
    return p.LegStateChanged(leg, s, 200, "")


def orphaned(clock: ManualClock, timeout: float = 60.0, max_events: int = MAX_EVENTS) -> Orphanage:
    o = Orphanage(timeout, max_events=max_events)
    o.lose(clock.now().mono)
    o.accept(snap("w1-in-1"))
    o.accept(p.SnapshotDone(1, 0.0, 0))
    return o


def test_events_before_the_marker_are_folded_into_the_snapshot_and_later_ones_kept() -> None:
    clock = ManualClock()
    o = Orphanage(60.0)
    assert o.enabled and not o.orphaned
    o.lose(clock.now().mono)
    assert o.phase is Phase.SNAPSHOT and not o.snapshot_taken
    o.accept(state("w1-in-1", CONFIRMED))  # emitted before the snapshot: it is in it
    o.accept(snap("w1-in-1"))
    o.accept(snap("w1-out-2"))
    o.accept(p.SnapshotDone(2, 0.0, 0))
    assert o.snapshot_taken
    o.accept(state("w1-in-1"))
    o.accept(p.RecordingClosed("w1-in-1", "/r/a.wav", 3.0, 48044))
    clock.advance(4.25)
    r = o.resume(clock.now().mono)
    assert [s.leg for s in r.snapshot] == ["w1-in-1", "w1-out-2"]
    assert r.done == p.SnapshotDone(2, 4.25, 2)
    assert r.events == (state("w1-in-1"), p.RecordingClosed("w1-in-1", "/r/a.wav", 3.0, 48044))
    assert r.messages() == [*r.snapshot, r.done, *r.events]
    assert o.phase is Phase.CONNECTED
    # a second loss starts afresh: nothing of the first one is replayed again
    o.lose(clock.now().mono)
    o.accept(p.SnapshotDone(0, 0.0, 0))
    assert o.resume(clock.now().mono).messages() == [p.SnapshotDone(0, 0.0, 0)]


def test_resume_before_the_snapshot_is_refused() -> None:
    o = Orphanage(60.0)
    with pytest.raises(RuntimeError):
        o.resume(0.0)
    o.lose(0.0)
    with pytest.raises(RuntimeError):
        o.resume(0.1)


def test_rejected_invites_are_not_kept_and_only_the_latest_capacity_is() -> None:
    clock = ManualClock()
    o = orphaned(clock, max_events=5)
    o.accept(p.Capacity(1, 4, False))
    o.accept(p.DtmfDigit("w1-in-1", "5"))
    for _ in range(100):  # a flood of INVITEs while orphaned cannot fill the buffer
        o.accept(p.CallRejected("x@y", 486, "Busy Here"))
        o.accept(p.Capacity(2, 4, False))
        o.accept(p.Capacity(1, 4, False))
    assert o.give_up(clock.now().mono) is None
    r = o.resume(clock.now().mono)
    assert r.events == (p.DtmfDigit("w1-in-1", "5"), p.Capacity(1, 4, False))
    assert r.done.events == 2


def test_the_buffer_is_bounded_and_an_overflow_gives_up() -> None:
    clock = ManualClock()
    o = orphaned(clock, max_events=3)
    for digit in "123":
        o.accept(p.DtmfDigit("w1-in-1", digit))
    assert o.give_up(clock.now().mono) is None
    o.accept(p.DtmfDigit("w1-in-1", "4"))
    assert o.overflowed
    assert o.give_up(clock.now().mono) == "more than 3 events to replay"
    assert MAX_EVENTS == 10_000


def test_the_wait_is_bounded_by_the_timeout_and_retries_every_half_second() -> None:
    clock = ManualClock()
    o = orphaned(clock, timeout=2.0)
    assert o.retry_in(clock.now().mono) == 0.5
    clock.advance(1.75)
    assert o.give_up(clock.now().mono) is None
    assert o.retry_in(clock.now().mono) == pytest.approx(0.25)  # never past the deadline
    clock.advance(0.25)
    assert o.give_up(clock.now().mono) == "no control plane within 2 s"
    assert o.retry_in(clock.now().mono) == 0.0


def test_a_second_loss_while_orphaned_keeps_the_first_deadline() -> None:
    clock = ManualClock()
    o = orphaned(clock, timeout=10.0)
    clock.advance(6)
    o.lose(clock.now().mono)  # a reconnect that failed after its hello is no new loss
    assert o.snapshot_taken and o.deadline == pytest.approx(clock.now().mono + 4)


def test_zero_disables_survival() -> None:
    assert not Orphanage(0).enabled
