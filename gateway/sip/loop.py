"""The owner thread: the only thread that touches pjsua2.

Theory of operation
-------------------
pjsua2 aborts the process if an unregistered thread calls it, and its objects are
not thread-safe, so one thread owns the endpoint for its whole life::

    asyncio thread                      owner thread
    submit(cmd) ──► queue.Queue ──┐     driven.setup()   (endpoint: threadCnt=0,
    wake(): b"\\r\\n\\r\\n" to own   │                       mainThreadOnly)
            SIP port (pjsip drops  └──► loop: driven.poll(<= 200 ms)  (libHandleEvents)
            it; the poll returns)             run queued commands -> Future results
                                              run due timers (dial timeouts, EOF)
    emit(event) ◄── call_soon_threadsafe ◄─── driven.housekeeping(now)
                                        driven.teardown(pump)  (free media, libDestroy)

This module knows the thread, the queue, the wake-up datagram and the timer heap --
nothing about legs. What it drives (``Driven``) is the worker's state
(``state.SipState``); what that state may ask of the thread is ``Scheduler``.

Results are ``concurrent.futures.Future`` objects (``asyncio.wrap_future`` on the
other side). Timers are a heap checked after every poll, so their resolution is
the poll interval (<= 200 ms), plenty for dial timeouts and prompt ends. The loop
ends ``grace`` seconds after ``stop_after`` (or sooner, once the driven state is
idle); commands that arrive later are refused with ``BadState``.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

from gateway.ipc import protocol as p
from gateway.ipc.errors import BadState

log = logging.getLogger(__name__)

POLL_MS = 200
WAKE_UP = b"\r\n\r\n"  # a SIP keep-alive: pjsip drops it, and its poll returns

Result = dict[str, object]


class Driven(Protocol):
    """What the owner thread runs; every method is called on the owner thread."""

    def setup(self) -> None: ...

    def poll(self, timeout_ms: int) -> None: ...

    def execute(self, cmd: p.Command) -> Result: ...

    def housekeeping(self, now: float) -> None: ...

    def idle(self) -> bool: ...

    def teardown(self, pump: Callable[[int], None]) -> None: ...


class Scheduler(Protocol):
    """What the worker's state may ask of the owner thread (on the owner thread)."""

    def call_later(self, delay: float, fn: Callable[[], None]) -> None: ...

    def stop_after(self, grace: float) -> None: ...


class OwnerThread:
    def __init__(self, worker_id: str, wake_to: tuple[str, int], poll_ms: int = POLL_MS) -> None:
        self.worker_id = worker_id
        self._wake_to = wake_to
        self._poll_max = poll_ms
        self._queue: queue.Queue[tuple[p.Command, concurrent.futures.Future[Result]]] = (
            queue.Queue()
        )
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._wake_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._wake_sock.setblocking(False)
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stop_at: float | None = None
        self._driven: Driven | None = None
        self._thread = threading.Thread(target=self._run, name="pjsua2-owner", daemon=True)
        self.finished = threading.Event()

    # ----------------------------------------------------------------- any thread
    def start(self, driven: Driven, timeout: float = 10.0) -> None:
        """Run ``driven.setup()`` on the owner thread; raise what it raised."""
        self._driven = driven
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("pjsua2 endpoint did not start")
        if self._start_error is not None:
            raise self._start_error

    def submit(self, cmd: p.Command) -> concurrent.futures.Future[Result]:
        fut: concurrent.futures.Future[Result] = concurrent.futures.Future()
        if self.finished.is_set():
            fut.set_exception(BadState(self.worker_id, "worker is shut down"))
            return fut
        self._queue.put((cmd, fut))
        self.wake()
        return fut

    def wake(self) -> None:
        try:
            self._wake_sock.sendto(WAKE_UP, self._wake_to)
        except OSError:
            pass  # the poll returns within POLL_MS anyway

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # ----------------------------------------------------------------- owner thread
    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fn))

    def stop_after(self, grace: float) -> None:
        deadline = time.monotonic() + max(0.0, grace)
        self._stop_at = deadline if self._stop_at is None else min(self._stop_at, deadline)

    def _run(self) -> None:
        driven = self._driven
        assert driven is not None
        try:
            driven.setup()
        except BaseException as exc:  # noqa: BLE001 - reported to start(), which re-raises
            self._start_error = exc
            self._ready.set()
            self.finished.set()
            return
        self._ready.set()
        try:
            while True:
                driven.poll(self._poll_ms())
                self._run_commands(driven)
                self._run_timers()
                now = time.monotonic()
                driven.housekeeping(now)
                if self._stop_at is not None and (now >= self._stop_at or driven.idle()):
                    break
        finally:
            self._finish(driven)

    def _poll_ms(self) -> int:
        if not self._timers:
            return self._poll_max
        ms = int((self._timers[0][0] - time.monotonic()) * 1000)
        return max(0, min(self._poll_max, ms))

    def _run_commands(self, driven: Driven) -> None:
        while True:
            try:
                cmd, fut = self._queue.get_nowait()
            except queue.Empty:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(driven.execute(cmd))
            except BaseException as exc:  # noqa: BLE001 - a failure is a result, never a crash
                fut.set_exception(exc)

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, fn = heapq.heappop(self._timers)
            try:
                fn()
            except Exception:
                log.exception("timer failed")

    def _finish(self, driven: Driven) -> None:
        def pump(timeout_ms: int) -> None:
            driven.poll(timeout_ms)
            self._run_timers()

        try:
            driven.teardown(pump)
        except Exception:
            log.exception("teardown failed")
        finally:
            self._timers.clear()
            self.finished.set()
            # Commands that arrived too late get an answer rather than a hang.
            while not self._queue.empty():
                _, fut = self._queue.get_nowait()
                if fut.set_running_or_notify_cancel():
                    fut.set_exception(BadState(self.worker_id, "shut down"))
            self._wake_sock.close()
