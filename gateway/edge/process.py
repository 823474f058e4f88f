"""Run Kamailio in the foreground and keep it running.

Theory of operation:
- `start()` calls `prepare()` (render + write the runtime files), spawns
  `kamailio -f RUNDIR/kamailio.cfg -DD -E ...` in its own session (process group), and
  waits until the JSON-RPC socket answers; then `on_ready()` pushes runtime state.
- A reader task turns Kamailio's stderr into log records and keeps the last lines for
  error messages and `health()`.
- A supervisor task waits for the process to exit. If that was not asked for, it kills
  whatever is left of the process group (children may survive their parent and keep the
  SIP port), waits a backoff (0.5 s doubling to 30 s, reset after a minute of good run),
  and starts again through the same path: prepare, spawn, wait ready, on_ready.
- `stop()` sends SIGTERM (Kamailio stops its children), then SIGKILL to the group.
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
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.edge.errors import EdgeError, EdgeUnavailable
from gateway.edge.rpc import JsonRpcClient
from gateway.edge.settings import EdgeSettings

log = logging.getLogger("gateway.edge")
kamailio_log = logging.getLogger("gateway.edge.kamailio")

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0


def kamailio_command(settings: EdgeSettings) -> list[str]:
    return [
        settings.kamailio_binary,
        "-f", str(settings.config_path),
        "-DD",
        "-E",
        "-P", str(settings.pid_path),
        "-Y", str(settings.rundir),
        "-m", str(settings.shm_mb),
        "-M", str(settings.pkg_mb),
    ]  # fmt: skip


def _log_level(line: str) -> int:
    if " CRITICAL:" in line or " ALERT:" in line or " ERROR:" in line:
        return logging.ERROR
    if " WARNING:" in line:
        return logging.WARNING
    if " NOTICE:" in line:
        return logging.INFO
    return logging.DEBUG


async def _exited(proc: asyncio.subprocess.Process) -> int:
    """The main process's exit code, without waiting for its pipes.

    `Process.wait()` also waits until stdout is closed, and Kamailio's children (which
    inherit it) can outlive a crashed main process: poll the return code instead.
    """
    while proc.returncode is None:
        await asyncio.sleep(0.05)
    return proc.returncode


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the control plane dies, even by SIGKILL,
    so an orphaned edge never keeps the SIP port (Kamailio then stops its children)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class KamailioProcess:
    def __init__(
        self,
        settings: EdgeSettings,
        *,
        prepare: Callable[[], None],
        on_ready: Callable[[], Awaitable[None]],
        log_lines: int = 400,
    ) -> None:
        self.settings = settings
        self._prepare = prepare
        self._on_ready = on_ready
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._started_at: float | None = None
        self.restarts = 0
        self.last_error: str | None = None
        self.log_tail: collections.deque[str] = collections.deque(maxlen=log_lines)
        self.ready = asyncio.Event()

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    @property
    def uptime_s(self) -> float | None:
        if self._started_at is None or self.pid is None:
            return None
        return time.monotonic() - self._started_at

    async def start(self) -> None:
        if self._supervisor is not None:
            raise EdgeError("Kamailio is already started")
        self._stopping = False
        self._kill_stale()
        await self._launch()
        self._supervisor = asyncio.create_task(self._supervise(), name="edge-supervisor")

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
        """prepare → spawn → wait for RPC → on_ready. Raises with the log tail on failure."""
        self.ready.clear()
        self._prepare()
        command = kamailio_command(self.settings)
        log.info("starting Kamailio: %s", " ".join(command))
        self._proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(self.settings.rundir),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._started_at = time.monotonic()
        self._reader = asyncio.create_task(self._read_log(self._proc), name="edge-log")
        try:
            await self._wait_rpc(self._proc)
            await self._on_ready()
        except BaseException:
            await self._terminate()
            raise
        self.ready.set()
        log.info("Kamailio ready (pid %s) on %s", self._proc.pid, self.settings.edge_uri)

    async def _wait_rpc(self, proc: asyncio.subprocess.Process) -> None:
        client = JsonRpcClient(self.settings.rpc_socket, timeout=0.5)
        deadline = time.monotonic() + READY_TIMEOUT_S
        try:
            while True:
                if proc.returncode is not None:
                    await asyncio.sleep(0.05)  # let the reader drain the last lines
                    raise EdgeUnavailable(
                        f"Kamailio exited with {proc.returncode} while starting:\n"
                        + self.tail_text(30)
                    )
                try:
                    await client.call("core.version")
                    return
                except EdgeUnavailable:
                    if time.monotonic() > deadline:
                        raise EdgeUnavailable(
                            "Kamailio RPC did not answer within "
                            f"{READY_TIMEOUT_S:.0f}s:\n" + self.tail_text(30)
                        ) from None
                    await asyncio.sleep(0.05)
        finally:
            client.close()

    async def _read_log(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip()
            if not line.strip():
                continue
            self.log_tail.append(line)
            kamailio_log.log(_log_level(line), "%s", line)

    def tail_text(self, lines: int = 30) -> str:
        return "\n".join(list(self.log_tail)[-lines:])

    async def _supervise(self) -> None:
        backoff = BACKOFF_INITIAL_S
        while not self._stopping:
            proc = self._proc
            if proc is not None:
                code = await _exited(proc)
                if self._stopping:
                    return
                self.ready.clear()
                ran = time.monotonic() - (self._started_at or time.monotonic())
                if ran > STABLE_AFTER_S:
                    backoff = BACKOFF_INITIAL_S
                self.last_error = f"Kamailio exited with {code} after {ran:.1f}s"
                log.error(
                    "%s; restarting in %.1fs\n%s", self.last_error, backoff, self.tail_text(10)
                )
                await self._kill_group(proc.pid)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            self.restarts += 1
            try:
                await self._launch()
            except EdgeError as exc:
                self.last_error = str(exc)
                log.error("Kamailio restart failed: %s", exc)
                self._proc = None
            except OSError as exc:
                self.last_error = f"cannot start Kamailio: {exc}"
                log.error("%s", self.last_error)
                self._proc = None

    async def _terminate(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(_exited(proc), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("Kamailio did not stop in %.0fs; killing it", STOP_TIMEOUT_S)
        await self._kill_group(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await _exited(proc)
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 2.0)
            self._reader = None

    async def _kill_group(self, pgid: int) -> None:
        """Kill what is left of a Kamailio process group (its children)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        for _ in range(50):  # wait until the SIP port is free again (bounded: 1 s)
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            await asyncio.sleep(0.02)

    def _kill_stale(self) -> None:
        """A previous control plane may have died and left our Kamailio running."""
        try:
            pid = int(self.settings.pid_path.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return
        if str(self.settings.config_path) in cmdline:
            log.warning("killing stale Kamailio %d from a previous run", pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
