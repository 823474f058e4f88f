"""Players retired for pjproject #4812, and recordings reported once the header is final."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

from gateway.ipc import protocol as p
from gateway.sip.media import RecordingWatch, RetiredPlayers


def test_retired_players_are_freed_after_the_grace_oldest_first_and_capped() -> None:
    players = RetiredPlayers(grace=0.25, limit=3)
    for i in range(4):
        players.retire(f"p{i}", now=10.0 + i * 0.1)
    assert len(players) == 3  # p0 freed at once: over the cap
    players.free_due(10.3)  # p1 (due 10.35) still waits
    assert len(players) == 3
    players.free_due(10.46)  # p1 and p2 are due
    assert len(players) == 1
    players.free_all()
    assert len(players) == 0


def wav(path: Path, riff: int, data: int) -> None:
    path.write_bytes(b"RIFF" + struct.pack("<I", riff) + b"WAVE" + b"\0" * 32 + b"\0" * data)


def test_a_recording_is_reported_once_its_header_is_final(tmp_path: Path) -> None:
    timers: list[Callable[[], None]] = []
    events: list[p.Event] = []
    watch = RecordingWatch(lambda delay, fn: timers.append(fn), events.append)
    path = tmp_path / "caller.wav"
    wav(path, riff=0, data=16000)  # pjmedia has not written the header yet
    watch.watch("L1", str(path))
    assert watch.pending and events == [] and len(timers) == 1
    timers.pop()()
    assert events == [] and len(timers) == 1
    wav(path, riff=36 + 16000, data=16000)
    timers.pop()()
    assert events == [p.RecordingClosed("L1", str(path), 1.0, 44 + 16000)]
    assert not watch.pending and timers == []


def test_a_header_that_never_comes_is_reported_after_the_tries(tmp_path: Path) -> None:
    timers: list[Callable[[], None]] = []
    events: list[p.Event] = []
    watch = RecordingWatch(lambda delay, fn: timers.append(fn), events.append)
    watch.watch("L1", str(tmp_path / "missing.wav"), tries=3)
    while timers:
        timers.pop()()
    assert events == [p.RecordingClosed("L1", str(tmp_path / "missing.wav"), 0.0, 0)]
    assert not watch.pending
