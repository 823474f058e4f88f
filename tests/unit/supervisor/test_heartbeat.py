"""The heartbeat file: written by the control plane, judged by the edge's guard."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from gateway.supervisor.heartbeat import Heartbeat, Staleness, beat, mtime_ns, owner_alive
from tests.support.polling import wait_for


def test_staleness_counts_from_the_last_change_on_the_observers_clock() -> None:
    s = Staleness(now=100.0)
    assert s.observe(None, 100.0) == 0.0  # no file yet: counts from the first look
    assert s.observe(None, 103.0) == 3.0
    assert s.observe(5, 104.0) == 0.0  # it appeared
    assert s.observe(5, 106.5) == 2.5  # unchanged: the control plane is silent
    assert s.observe(7, 107.0) == 0.0  # touched again
    # the file's own time means nothing (a wall-clock step is no death): only changes count
    assert s.observe(1, 107.5) == 0.0


async def test_heartbeat_claims_the_file_and_keeps_touching_it(tmp_path: Path) -> None:
    path = tmp_path / "run" / "control.alive"
    heartbeat = Heartbeat(path, interval=0.02)
    heartbeat.start()
    try:
        assert path.read_text() == f"{os.getpid()}\n"
        first = mtime_ns(path)
        os.utime(path, ns=(0, 0))  # pretend it is old
        assert await wait_for(lambda: mtime_ns(path) not in (0, first), 2)
    finally:
        await heartbeat.stop()
    stopped = mtime_ns(path)
    await asyncio.sleep(0.1)
    assert mtime_ns(path) == stopped
    assert owner_alive(path) is None  # it is us


def test_owner_alive_names_a_live_other_process_only(tmp_path: Path) -> None:
    path = tmp_path / "control.alive"
    assert owner_alive(path) is None  # no file
    beat(path)  # a missing file is created with our pid
    assert path.read_text() == f"{os.getpid()}\n"
    other = subprocess.Popen(["sleep", "30"])
    try:
        path.write_text(f"{other.pid}\n")
        assert owner_alive(path) == other.pid
    finally:
        other.kill()
        other.wait()
    assert owner_alive(path) is None  # dead
    path.write_text("not a pid\n")
    assert owner_alive(path) is None
