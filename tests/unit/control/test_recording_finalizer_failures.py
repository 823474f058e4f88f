"""A recording that cannot be finished: the failure is named, what could be finished is
kept, and the alarm counts it, marks the call record and writes recording.failed.

The full disk is a real one: a tmpfs of 1 MB (tests/support/small_disk.py); the
kernel's ENOSPC reaches the pool process's write of the stereo file."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.control.recording import RecordingFailure, RecordingFinalizer
from gateway.control.recording_alarm import RecordingAlarm
from gateway.metrics import Metrics
from gateway.store.cdr import CdrStore
from gateway.store.engine import Database
from gateway.store.migrate import migrate
from gateway.store.outbox import OutboxStore
from tests.support.clock import ManualClock
from tests.support.small_disk import small_disk
from tests.unit.control.test_recording_finalizer import write_leg

ARRIVED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", 1024) as where:
        yield where


async def test_a_full_disk_fails_the_stereo_file_and_keeps_the_legs(disk: Path) -> None:
    failures: list[RecordingFailure] = []
    finalizer = RecordingFinalizer(processes=1, on_failure=failures.append)
    try:
        call = disk / "call"
        call.mkdir()
        legs = {
            "caller": str(write_leg(call / "caller.wav", 20, 440.0)),  # 320 KB each:
            "agent": str(write_leg(call / "agent.wav", 20, 1000.0)),
        }  # stereo 640
        done = await finalizer.finalize(legs, True, call_id="c-full", queue="sales")
    finally:
        await finalizer.close()
    assert done.failure == "disk_full"
    assert done.stereo is None
    assert not list(call.glob("stereo*")), "no partial stereo file is left behind"
    assert sorted(f.role for f in done.files) == ["agent", "caller"]  # still checksummed
    assert [(f.call_id, f.queue, f.reason) for f in failures] == [("c-full", "sales", "disk_full")]
    assert "No space left" in failures[0].detail
    assert finalizer.failing and finalizer.failures == 1

    # space again: the next call's recording is finished and the alarm clears
    (call / "caller.wav").unlink()
    (call / "agent.wav").unlink()
    legs = {"caller": str(write_leg(call / "caller.wav", 5, 440.0)),
            "agent": str(write_leg(call / "agent.wav", 5, 1000.0))}  # fmt: skip
    finalizer = RecordingFinalizer(processes=0)
    done = await finalizer.finalize(legs, True, call_id="c-next")
    assert done.failure is None and not finalizer.failing


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}"
    await migrate(url)
    db = Database.open(url)
    yield db
    await db.close()


async def test_the_alarm_marks_the_record_counts_and_tells(store: Database) -> None:
    cdr, outbox, metrics = CdrStore(store), OutboxStore(store), Metrics()
    alarm = RecordingAlarm(cdr=cdr, outbox=outbox, metrics=metrics, clock=ManualClock(),
                           retries=1)  # fmt: skip
    marked, orphan = uuid.uuid4(), uuid.uuid4()
    await cdr.record_call_arrived(call_id=marked, sip_call_id="s1", arrived_at=ARRIVED,
                                  did="100", caller="200", trunk="t", worker="w1")  # fmt: skip
    alarm.raised(RecordingFailure(str(marked), "sales", "disk_full", "[Errno 28] full", ()))
    alarm.raised(RecordingFailure(str(orphan), None, "missing", "no agent.wav", ()))
    await alarm.settled()

    record = await cdr.get_call(marked)
    assert record is not None and record.recording_failure == "disk_full"
    events = [m for m in await outbox.pending(100) if m.type.endswith("recording.failed")]
    by_call = {m.subject: m.payload for m in events}
    assert set(by_call) == {str(marked), str(orphan)}  # the orphan's event still went out
    assert by_call[str(marked)]["reason"] == "disk_full"
    assert by_call[str(marked)]["queue"] == "sales"
    text = metrics.render()[0].decode()
    assert 'contactgw_recording_failures_total{reason="disk_full"} 1.0' in text
    assert 'contactgw_recording_failures_total{reason="missing"} 1.0' in text
