"""A child daemon run in the foreground and kept running (Kamailio, mosquitto).

Theory of operation:
- `start()` runs `prepare()` (write the runtime files), `check_free()` (refuse to start
  over another process's port), spawns `command()` in its own session (process group)
  with stdout+stderr piped, and awaits `wait_ready(proc)`; then `on_ready()`.
- A reader task turns the child's output into log records (level from `log_level(line)`)
  and keeps the last lines for error messages and health reports.
- A supervisor task waits for the process to exit. If that was not asked for, it kills
  whatever is left of the process group (children may outlive their parent and keep a
  port), waits a backoff (0.5 s doubling to 30 s, reset after a minute of good run), and
  starts again through the same path.
- `stop()` sends SIGTERM, waits, then SIGKILL to the group.
- By default the child gets SIGTERM when the control plane dies, even by SIGKILL
  (PR_SET_PDEATHSIG), so an orphan never keeps a port (mosquitto: its events wait in the
  outbox). A subclass that passes `log_path` instead outlives the control plane (the
  Kamailio edge: calls keep their signalling): no PDEATHSIG, and its output goes to that
  file (gateway/child_log.py says why not a pipe), tailed by the manager.
- At `start()` a pid file naming a live process with our config path is a previous run's
  child. One that outlives its parent is adopted if `adopt_refusal(pid)` finds no reason
  against it: it is watched by pidfd (gateway/adopted_process.py), its log file tailed
  from the end, `on_ready()` pushes the runtime state again, and if it dies later it is
  restarted like a child of ours. Otherwise it gets SIGTERM (then SIGKILL) and a fresh
  child is started; the reason is logged. A pid file naming a dead or foreign process is
  ignored: that process is never touched.

Subclasses give the command and the readiness check; failures to start raise
`ProcessStartError` (or the subclass's own error) with the output's tail.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import logging
import os
import signal
import time
from pathlib import Path

from gateway.adopted_process import AdoptedProcess
from gateway.child_log import end_of, open_for_child, tail
from gateway.logsafe import printable
from gateway.supervisor.children import watch_children

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0
RELAYED_LINE_LIMIT = 2000  # Kamailio quotes whole datagrams it cannot parse
_PR_SET_PDEATHSIG = 1


class ProcessStartError(Exception):
    """The child could not be started, or did not become ready."""


Running = asyncio.subprocess.Process | AdoptedProcess


async def exited(proc: Running) -> int:
    """The main process's exit code, without waiting for its pipes.

    `Process.wait()` also waits until stdout is closed, and a daemon's children (which
    inherit it) can outlive a crashed main process: poll the return code instead.
    """
    while proc.returncode is None:
        await asyncio.sleep(0.05)
    return proc.returncode


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ManagedProcess:
    """Override `command`, `wait_ready`; optionally `prepare`, `check_free`, `on_ready`,
    `log_level`, `adopt_refusal`."""

    name = "process"

    def __init__(
        self,
        *,
        cwd: Path,
        log: logging.Logger,
        child_log: logging.Logger,
        pid_path: Path | None = None,
        log_lines: int = 400,
        log_path: Path | None = None,
    ) -> None:
        self._cwd = cwd
        self.log_path = log_path  # given: the child outlives us and logs there
        self._log = log
        self._child_log = child_log
        self._pid_path = pid_path
        self._proc: Running | None = None
        self.adopted = False  # the running child was left by a previous control plane
        self._reader: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._started_at: float | None = None
        self.restarts = 0
        self.last_error: str | None = None
        self.log_tail: collections.deque[str] = collections.deque(maxlen=log_lines)
        self.ready = asyncio.Event()

    # -- what subclasses say --------------------------------------------------------

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write the runtime files (called before every spawn)."""

    def check_free(self) -> None:
        """Raise `ProcessStartError` if another process holds what the child needs."""

    async def wait_ready(self, proc: asyncio.subprocess.Process) -> None:
        raise NotImplementedError

    async def on_ready(self) -> None:
        """Push runtime state into a freshly started child."""

    def log_level(self, line: str) -> int:
        return logging.INFO

    async def adopt_refusal(self, pid: int) -> str | None:
        """Why the previous run's live child `pid` cannot be adopted (None: it can)."""
        return "it cannot be adopted"

    @property
    def outlives_parent(self) -> bool:
        return self.log_path is not None

    def describe(self) -> str:
        """Where the ready child serves, for the log."""
        return ""

    # -- state ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    @property
    def uptime_s(self) -> float | None:
        if self._started_at is None or self.pid is None:
            return None
        return time.monotonic() - self._started_at

    def tail_text(self, lines: int = 30) -> str:
        return "\n".join(list(self.log_tail)[-lines:])

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._supervisor is not None:
            raise ProcessStartError(f"{self.name} is already started")
        self._stopping = False
        if not await self._adopt_or_clear():
            await self._launch()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"{self.name}-supervisor")

    async def stop(self) -> None:
        self._stopping = True
        self.ready.clear()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._terminate()

    async def _launch(self) -> None:
        """prepare → check → spawn → wait ready → on_ready. Raises with the tail on failure."""
        self.ready.clear()
        self.prepare()
        self.check_free()
        command = self.command()
        self._log.info("starting %s: %s", self.name, " ".join(command))
        watch_children()  # reaped by the loop (pidfd), not by a waiting thread
        out = asyncio.subprocess.PIPE if self.log_path is None else open_for_child(self.log_path)
        try:
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                cwd=str(self._cwd),
                start_new_session=True,
                preexec_fn=die_with_parent if self.log_path is None else None,
            )
        finally:
            if self.log_path is not None:
                os.close(out)
        self._proc, self.adopted = proc, False
        self._started_at = time.monotonic()
        self._reader = asyncio.create_task(self._read_log(proc, 0), name=f"{self.name}-log")
        try:
            await self.wait_ready(proc)
            await self.on_ready()
        except BaseException:
            await self._terminate()
            raise
        self.ready.set()
        self._log.info("%s ready (pid %s) %s", self.name, proc.pid, self.describe())

    async def _adopt_or_clear(self) -> bool:
        """Adopt the previous run's child (True), or stop it so a fresh one can start."""
        pid = self.previous_pid()
        if pid is None:
            return False
        reason = (
            await self.adopt_refusal(pid)
            if self.outlives_parent
            else "it does not outlive its control plane"
        )
        if reason is None:
            try:
                proc = AdoptedProcess(pid)
            except ProcessLookupError:
                return False  # exited in between: start afresh
            assert self.log_path is not None
            self._proc, self.adopted = proc, True
            self._started_at = time.monotonic()
            self._reader = asyncio.create_task(
                self._read_log(proc, end_of(self.log_path)), name=f"{self.name}-log"
            )
            try:
                await self.on_ready()
            except Exception as exc:  # noqa: BLE001 - replaced by a fresh child below
                reason = f"pushing the runtime state failed: {exc}"
                await self._terminate()
            else:
                self.ready.set()
                self._log.info("%s adopted (pid %d) %s", self.name, pid, self.describe())
                return True
        self._log.warning("stopping %s %d left by a previous run: %s", self.name, pid, reason)
        await self._stop_pid(pid)
        return False

    async def _stop_pid(self, pid: int) -> None:
        """SIGTERM a process that is not our child (via pidfd), then kill its group."""
        try:
            pgid = os.getpgid(pid)
            proc = AdoptedProcess(pid)
        except ProcessLookupError:
            return
        try:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(exited(proc), STOP_TIMEOUT_S)
        except TimeoutError:
            self._log.warning("%s %d did not stop in %.0fs; killing it", self.name, pid,
                              STOP_TIMEOUT_S)  # fmt: skip
        finally:
            proc.close()
        await self._kill_group(pgid)

    async def _read_log(self, proc: Running, offset: int) -> None:
        if self.log_path is not None:
            async for raw in tail(self.log_path, offset, lambda: proc.returncode is not None):
                self._relay(raw)
            return
        assert isinstance(proc, asyncio.subprocess.Process) and proc.stdout is not None
        while raw := await proc.stdout.readline():
            self._relay(raw)

    def _relay(self, raw: bytes) -> None:
        line = printable(raw.rstrip(), limit=RELAYED_LINE_LIMIT)  # network bytes in it
        if line.strip():
            self.log_tail.append(line)
            self._child_log.log(self.log_level(line), "%s", line)

    async def _supervise(self) -> None:
        backoff = BACKOFF_INITIAL_S
        while not self._stopping:
            proc = self._proc
            if proc is not None:
                code = await exited(proc)
                if self._stopping:
                    return
                self.ready.clear()
                ran = time.monotonic() - (self._started_at or time.monotonic())
                if ran > STABLE_AFTER_S:
                    backoff = BACKOFF_INITIAL_S
                status = "an unknown status (adopted)" if self.adopted else code
                self.last_error = f"{self.name} exited with {status} after {ran:.1f}s"
                self._log.error(
                    "%s; restarting in %.1fs\n%s", self.last_error, backoff, self.tail_text(10)
                )
                await self._kill_group(proc.pid)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            self.restarts += 1
            try:
                await self._launch()
            except OSError as exc:
                self.last_error = f"cannot start {self.name}: {exc}"
                self._log.error("%s", self.last_error)
                self._proc = None
            except Exception as exc:  # noqa: BLE001 - a failed start is retried, never fatal
                self.last_error = str(exc)
                self._log.error("%s restart failed: %s", self.name, exc)
                self._proc = None

    async def _terminate(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(exited(proc), STOP_TIMEOUT_S)
            except TimeoutError:
                self._log.warning("%s did not stop in %.0fs; killing it", self.name, STOP_TIMEOUT_S)
        await self._kill_group(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await exited(proc)
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 2.0)
            self._reader = None

    async def _kill_group(self, pgid: int) -> None:
        """Kill what is left of the child's process group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        for _ in range(50):  # wait until its ports are free again (bounded: 1 s)
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            await asyncio.sleep(0.02)

    def previous_pid(self) -> int | None:
        """A previous control plane may have died and left our child running: its pid
        file names it, and its command line must hold our config path to be ours."""
        if self._pid_path is None:
            return None
        try:
            pid = int(self._pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            cmdline = ""
        if self.stale_marker() not in cmdline:
            # removed, or Kamailio refuses to start while the pid it names runs
            self._log.info("pid file %s names %d, not a %s of ours: process left alone, "
                           "pid file removed", self._pid_path, pid, self.name)  # fmt: skip
            self._pid_path.unlink(missing_ok=True)
            return None
        return pid

    def stale_marker(self) -> str:
        """A string only our child's command line holds (its config path)."""
        return "\0".join(self.command())
