"""ManagedProcess adopts a child left by a previous control plane, or replaces it.

The "previous run's child" is a small Python process started here in its own session with
its output in the log file, as a ManagedProcess with `log_path` starts it; the manager
under test did not start it, so it watches it by pidfd.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.child_log import open_for_child
from gateway.edge import EdgeSettings
from gateway.edge.process import KamailioProcess
from gateway.events.broker import BrokerConfig, EmbeddedBroker
from gateway.managed_process import ManagedProcess
from tests.support.polling import wait_for

# writes its pid file, says a line on SIGUSR1, runs until signalled
CHILD = """
import os, signal, sys, time
signal.signal(signal.SIGUSR1, lambda *_: print("poked", flush=True))
open(sys.argv[1], "w").write(str(os.getpid()))
print("child up", flush=True)
while True:
    time.sleep(1)
"""
log = logging.getLogger("test.managed")


class Child(ManagedProcess):
    name = "child"

    def __init__(self, tmp: Path, *, outlives: bool = True, refusal: str | None = None) -> None:
        super().__init__(cwd=tmp, log=log, child_log=log, pid_path=tmp / "child.pid",
                         log_path=tmp / "child.log" if outlives else None)  # fmt: skip
        self.refusal = refusal
        self.pushed = 0

    def command(self) -> list[str]:
        return [sys.executable, "-c", CHILD, str(self._cwd / "child.pid")]

    async def wait_ready(self, proc: asyncio.subprocess.Process) -> None:
        pid_path = self._cwd / "child.pid"
        assert await wait_for(
            lambda: pid_path.exists() and pid_path.read_text() == str(proc.pid), 5
        )

    async def adopt_refusal(self, pid: int) -> str | None:
        return self.refusal

    async def on_ready(self) -> None:
        self.pushed += 1


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


def leftover(tmp: Path) -> int:
    """A child as a dead control plane left it: own session, output in the log file, and
    not our child (started through a parent that exits at once, so init reaps it)."""
    out = open_for_child(tmp / "child.log")
    try:
        spawn = "import subprocess, sys; subprocess.Popen(sys.argv[1:], start_new_session=True)"
        subprocess.run([sys.executable, "-c", spawn, *Child(tmp).command()], stdout=out,
                       stderr=out, check=True, timeout=10)  # fmt: skip
    finally:
        os.close(out)
    pid_path = tmp / "child.pid"
    for _ in range(250):
        with contextlib.suppress(OSError, ValueError):
            if (pid := int(pid_path.read_text())) and alive(pid):
                return pid
        time.sleep(0.02)
    raise AssertionError("the leftover child did not start")


@pytest.fixture
async def managers() -> AsyncIterator[list[ManagedProcess]]:
    started: list[ManagedProcess] = []
    yield started
    for m in started:
        await m.stop()


async def test_a_live_child_of_ours_is_adopted_watched_and_restarted_when_it_dies(
    tmp_path: Path, managers: list[ManagedProcess]
) -> None:
    old = leftover(tmp_path)
    child = Child(tmp_path)
    managers.append(child)
    assert child.previous_pid() == old
    await child.start()
    assert (child.pid, child.adopted, child.pushed) == (old, True, 1)
    assert child.ready.is_set()
    os.kill(old, signal.SIGUSR1)  # its output is tailed from the file
    assert await wait_for(lambda: "poked" in child.log_tail, 3)
    assert "child up" not in child.log_tail  # from the end: the old run's lines stay there

    os.kill(old, signal.SIGKILL)
    assert await wait_for(lambda: child.pid not in (None, old) and child.ready.is_set(), 5)
    assert child.adopted is False and child.pushed == 2 and child.restarts == 1
    assert child.last_error is not None and "unknown status (adopted)" in child.last_error
    assert (tmp_path / "child.log.1").exists()  # the adopted run's output is kept once


async def test_a_child_that_must_not_be_adopted_is_stopped_and_replaced(
    tmp_path: Path, managers: list[ManagedProcess], caplog: pytest.LogCaptureFixture
) -> None:
    for outlives, reason in ((True, "its config changed"),
                             (False, "it does not outlive its control plane")):  # fmt: skip
        old = leftover(tmp_path)
        child = Child(tmp_path, outlives=outlives, refusal="its config changed")
        managers.append(child)
        assert child.previous_pid() == old
        await child.start()
        assert not alive(old)
        assert child.pid not in (None, old) and not child.adopted
        assert f"stopping child {old} left by a previous run: {reason}" in caplog.text
        assert f"child {old} did not stop" not in caplog.text  # SIGTERM was enough
        await child.stop()


async def test_a_pid_file_naming_a_stranger_leaves_it_alone(
    tmp_path: Path, managers: list[ManagedProcess]
) -> None:
    stranger = await asyncio.create_subprocess_exec("sleep", "30")
    try:
        (tmp_path / "child.pid").write_text(str(stranger.pid))
        child = Child(tmp_path)
        managers.append(child)
        assert child.previous_pid() is None
        await child.start()
        assert child.pid != stranger.pid and not child.adopted
        assert stranger.returncode is None and alive(stranger.pid)
    finally:
        stranger.kill()
        await stranger.wait()


def test_only_the_edge_outlives_the_control_plane(tmp_path: Path) -> None:
    # mosquitto keeps PR_SET_PDEATHSIG: events wait in the outbox for the next broker
    assert not EmbeddedBroker(BrokerConfig(run_dir=tmp_path)).outlives_parent
    surviving = EdgeSettings(rundir=tmp_path, orphan_timeout_s=60)
    edge = KamailioProcess(surviving, prepare=lambda: None, on_ready=_nothing)
    assert edge.outlives_parent and edge.log_path == tmp_path / "kamailio.log"
    dying = EdgeSettings(rundir=tmp_path, orphan_timeout_s=0)
    assert not KamailioProcess(dying, prepare=lambda: None, on_ready=_nothing).outlives_parent


async def _nothing() -> None:
    return None
