"""Start, find and stop the orphan guard (gateway/edge/guard.py) of the edge.

Each new Kamailio gets its guard, started here in its own session without PDEATHSIG and
logging to `guard.log` in the edge's run directory; its pid goes to `guard.pid`. When an
edge is adopted, the guard its previous control plane started is found by that pid file
and its command line (`gateway.edge.guard --pid <edge pid>`) and left running; if it is
not there (killed, or never started), a new one is started for the adopted edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from gateway.child_log import open_for_child
from gateway.edge.render import write_atomic

log = logging.getLogger("gateway.edge")

GUARD_MODULE = "gateway.edge.guard"
STOP_TIMEOUT_S = 2.0


def guard_command(edge_pid: int, heartbeat: Path, timeout: float) -> list[str]:
    return [sys.executable, "-m", GUARD_MODULE, "--pid", str(edge_pid),
            "--heartbeat", str(heartbeat), "--timeout", f"{timeout:g}"]  # fmt: skip


def is_guard_of(pid: int, edge_pid: int) -> bool:
    """Is `pid` a running guard of the edge `edge_pid`?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    try:
        at = argv.index(b"--pid")
    except ValueError:
        return False
    return GUARD_MODULE.encode() in argv and argv[at + 1 : at + 2] == [str(edge_pid).encode()]


class OrphanGuard:
    def __init__(self, rundir: Path, heartbeat: Path, timeout: float) -> None:
        self.pid_path = rundir / "guard.pid"
        self.log_path = rundir / "guard.log"
        self._heartbeat = heartbeat
        self._timeout = timeout
        self._proc: asyncio.subprocess.Process | None = None

    def running_for(self, edge_pid: int) -> int | None:
        """The pid of a guard (ours or a previous run's) of `edge_pid`, if one runs."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if is_guard_of(pid, edge_pid) else None

    async def ensure(self, edge_pid: int) -> int:
        """A guard runs for `edge_pid` when this returns (its pid)."""
        if (pid := self.running_for(edge_pid)) is not None:
            return pid
        await self.stop()  # the guard of a previous edge of ours exits by itself; be sure
        out = open_for_child(self.log_path)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *guard_command(edge_pid, self._heartbeat, self._timeout),
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        finally:
            os.close(out)
        write_atomic(self.pid_path, f"{self._proc.pid}\n")
        log.info("orphan guard %d watches edge %d (timeout %g s)", self._proc.pid, edge_pid,
                 self._timeout)  # fmt: skip
        return self._proc.pid

    async def stop(self) -> None:
        """End the guard we started (one left by a previous run exits with its edge)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
