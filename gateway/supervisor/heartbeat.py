"""The control plane's heartbeat file: proof of life for the children that outlive it.

The control plane writes its pid into `<run_dir>/control.alive` and touches it every
second (`Heartbeat`). A new control plane adopts what outlived the old one only if that
pid is dead (`owner_alive`): a second `contactgw run` must never take over the children
of a running one. The
edge's orphan guard (gateway/edge/guard.py) watches the file with a `Staleness`: when its
modification time has not changed for `timeout` seconds of the guard's own monotonic
clock, the control plane is gone and nobody adopted the edge. Comparing the file's wall
time with the guard's wall time instead would make a clock step look like a death.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

INTERVAL_S = 1.0
FILE_NAME = "control.alive"


def beat(path: Path) -> None:
    """Touch the heartbeat file (`Heartbeat.start` creates it)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        claim(path)


def claim(path: Path) -> None:
    """Write our pid into the heartbeat file: a new control plane can tell whether the
    one that beat last is still alive (`owner_alive`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    tmp.replace(path)


def owner_alive(path: Path) -> int | None:
    """The pid of another live process that claimed the heartbeat, if there is one."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state in ("Z", "X") else pid


def mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


class Heartbeat:
    """Touch `path` every `interval` seconds while started."""

    def __init__(self, path: Path, interval: float = INTERVAL_S) -> None:
        self.path = path
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        claim(self.path)  # at once: a guard started right after sees a fresh one
        self._task = asyncio.get_running_loop().create_task(self._run(), name="heartbeat")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                beat(self.path)
            except OSError as exc:  # a full or read-only disk must not stop the control plane
                log.warning("cannot touch the heartbeat file %s: %s", self.path, exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class Staleness:
    """Seconds since the heartbeat last changed, on the observer's monotonic clock.

    A missing file counts from the first observation (the control plane may not have
    started its heartbeat yet when the guard starts).
    """

    def __init__(self, now: float) -> None:
        self._seen: int | None = None
        self._changed_at = now

    def observe(self, mtime: int | None, now: float) -> float:
        if mtime is not None and mtime != self._seen:
            self._seen, self._changed_at = mtime, now
        return now - self._changed_at
