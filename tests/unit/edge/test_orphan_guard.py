"""The orphan guard (gateway/edge/guard.py) with a stand-in edge: a `sleep` in its own
session. Real processes, short timeouts."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.edge import guard
from gateway.edge.orphan import guard_command, is_guard_of

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def edge() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def reaped(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is not None


def test_the_guard_ends_the_edge_when_the_heartbeat_stops(
    tmp_path: Path, edge: subprocess.Popen[bytes]
) -> None:
    heartbeat = tmp_path / "control.alive"
    heartbeat.touch()
    beating = threading.Event()
    beating.set()

    def control_plane() -> None:  # touches the file for 0.6 s, then "dies"
        end = time.monotonic() + 0.6
        while time.monotonic() < end:
            os.utime(heartbeat)
            time.sleep(0.05)
        beating.clear()

    threading.Thread(target=control_plane, daemon=True).start()
    started = time.monotonic()
    assert guard.guard(edge.pid, heartbeat, timeout=0.3, poll_s=0.02) == 0
    took = time.monotonic() - started
    assert not beating.is_set(), "ended while the heartbeat was still going"
    assert 0.8 <= took < 10, took  # lower bound: not while it was beating
    edge.wait(2)
    assert edge.returncode == -15  # SIGTERM, not a kill


def test_the_guard_exits_when_the_edge_is_gone(
    tmp_path: Path, edge: subprocess.Popen[bytes]
) -> None:
    threading.Timer(0.2, edge.kill).start()
    heartbeat = tmp_path / "control.alive"
    heartbeat.touch()
    assert guard.guard(edge.pid, heartbeat, timeout=60, poll_s=0.02) == 0
    assert guard.guard(999_999_999, heartbeat, timeout=60) == 0  # no such process


def test_the_guard_command_runs_and_is_recognised(
    tmp_path: Path, edge: subprocess.Popen[bytes]
) -> None:
    command = guard_command(edge.pid, tmp_path / "missing", 0.5)
    proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20  # a Python start on a loaded box
        while not is_guard_of(proc.pid, edge.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert is_guard_of(proc.pid, edge.pid)
        assert not is_guard_of(proc.pid, edge.pid + 1)
        assert not is_guard_of(edge.pid, edge.pid)  # a sleep is no guard
        _, err = proc.communicate(timeout=30)  # no heartbeat file at all: ends after 0.5 s
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert edge.wait(2) == -15
    assert f"ending the orphaned edge {edge.pid}" in err


def test_a_timeout_of_zero_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        guard.main(["--pid", "1", "--heartbeat", "/x", "--timeout", "0"])
    assert exited.value.code == 2 and "--timeout must be > 0" in capsys.readouterr().err
