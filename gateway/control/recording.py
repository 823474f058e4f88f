"""After a call: the recordings finished (headers, stereo, encoding, checksums) off the loop.

Theory of operation
-------------------
``recordings.finish.finish`` reads and writes every byte of a call's recordings: for an
hour-long call that is ~115 MB mixed and hashed, seconds of CPU. In a thread it would
still hold the GIL and stall every other call's signalling, so ``RecordingFinalizer``
runs it in a small ``ProcessPoolExecutor`` of its own (``spawn`` context: the control
plane has threads and an event loop, and forking such a process copies locks held by
threads that do not exist in the child). Only paths go in and plain data comes out.

``finalize`` never loses a recording: a job the pool cannot run (a pool process died,
the finalizer is closing) runs in a thread instead. A file problem (full disk, bad WAV)
is not an exception: what could be finished is returned, and ``on_failure`` is told
(``RecordingFailure``: metric, call record, ``recording.failed`` event, /health).
``close()`` lets the jobs already submitted finish, then stops the processes.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial

from gateway.events.catalogue import RecordingFile, RecordingRole
from recordings.finish import Finished, finish

log = logging.getLogger(__name__)

ROLES: dict[str, RecordingRole] = {
    "caller": "caller",
    "agent": "agent",
    "stereo": "stereo",
    "voicemail": "voicemail",
}


STORAGE_FAILURES = ("disk_full", "io_error")  # every call's recording will fail, not just one


@dataclass(frozen=True, slots=True)
class FinishedRecordings:
    stereo: str | None  # the stereo file's path when one was made
    files: tuple[RecordingFile, ...]  # every file present, with size, length and sha256
    failure: str | None = None  # recordings.finish.FAILURE_REASONS, None when all went well


@dataclass(frozen=True, slots=True)
class RecordingFailure:
    call_id: str
    queue: str | None
    reason: str  # disk_full, io_error, bad_format, missing, encoding
    detail: str
    files: tuple[RecordingFile, ...]  # what could still be finished


def _converted(done: Finished) -> FinishedRecordings:
    files = tuple(
        RecordingFile(ROLES[f.role], f.path, f.size_bytes, f.duration_seconds, f.sha256)
        for f in done.files
    )
    return FinishedRecordings(done.stereo, files, done.failure)


def finalize_recordings(
    recordings: dict[str, str], stereo: bool, encoding: str = "wav"
) -> FinishedRecordings:
    """The same job in the calling thread (batch tools, tests)."""
    return _converted(finish(recordings, stereo, encoding))


def _warm() -> None:
    """A no-op job: starts a pool process (imports done) before the first call ends."""


def _background() -> None:
    """In each pool process: finishing files can wait, the workers' audio cannot."""
    os.nice(10)


class RecordingFinalizer:
    """``processes=0`` runs each job in a thread (tests, tools): the loop still waits for
    nothing, but a long mix then competes with it for the GIL."""

    def __init__(
        self,
        *,
        processes: int = 1,
        encoding: str = "wav",
        on_failure: Callable[[RecordingFailure], None] | None = None,
    ) -> None:
        self._encoding = encoding
        self._on_failure = on_failure
        self._processes = processes
        self.failures = 0  # since start, for /health
        self.last_failure: RecordingFailure | None = None
        self.failing = False  # storage failed the last call (disk_full, io_error): degraded
        self._executor = self._new_pool()
        self._closing = False

    def _new_pool(self) -> ProcessPoolExecutor | None:
        if self._processes <= 0:
            return None
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self._processes, mp_context=context, initializer=_background)

    async def start(self) -> None:
        """Start a pool process now (its imports take a second of CPU), not when the
        first recorded call ends."""
        if self._executor is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, _warm)
        except BrokenExecutor as exc:  # e.g. a __main__ the spawned process cannot import
            log.error("recording pool cannot start (%s): recordings are finished in a "
                      "thread of the control plane", exc)  # fmt: skip
            self._executor.shutdown(wait=False)
            self._executor, self._processes = None, 0

    async def finalize(
        self,
        recordings: dict[str, str],
        stereo: bool,
        *,
        call_id: str = "",
        queue: str | None = None,
    ) -> FinishedRecordings:
        """``recordings`` maps role (caller, agent, voicemail) to the WAV the worker wrote."""
        job = partial(finish, dict(recordings), stereo, self._encoding)
        loop = asyncio.get_running_loop()
        done: Finished | None = None
        pool = self._executor
        if pool is not None and not self._closing:
            try:
                done = await loop.run_in_executor(pool, job)
            except (BrokenExecutor, RuntimeError) as exc:  # a pool process died, or shut down
                log.warning("recording pool unavailable (%s): finishing call %s in a thread",
                            exc, call_id)  # fmt: skip
                if isinstance(exc, BrokenExecutor) and self._executor is pool:
                    self._executor = self._new_pool()  # a fresh pool for the next calls
                    pool.shutdown(wait=False)
        if done is None:
            done = await asyncio.to_thread(job)
        finished = _converted(done)
        if done.repaired:
            log.warning("call %s: repaired the WAV header of %s", call_id, ", ".join(done.repaired))
        self.failing = done.failure in STORAGE_FAILURES
        if done.failure is not None:
            log.error("call %s: recording failed (%s): %s", call_id, done.failure, done.detail)
            failure = RecordingFailure(call_id, queue, done.failure, done.detail, finished.files)
            self.failures, self.last_failure = self.failures + 1, failure
            if self._on_failure is not None:
                try:
                    self._on_failure(failure)
                except Exception:  # reporting must not cost the call its record
                    log.exception("reporting the recording failure of call %s failed", call_id)
        return finished

    async def close(self) -> None:
        """Jobs already submitted finish (never lose a recording); later ones use a thread."""
        self._closing = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True)
