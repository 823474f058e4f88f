"""The owner thread: the only thread that touches pjsua2.

Theory of operation
-------------------
pjsua2 aborts the process if an unregistered thread calls it, and its objects are
not thread-safe, so one thread owns the endpoint for its whole life::

    asyncio thread                      owner thread
    submit(cmd) ──► queue.Queue ──┐     create endpoint (threadCnt=0, mainThreadOnly)
    wake(): b"\\r\\n\\r\\n" to own   │     loop: libHandleEvents(<=200 ms)
            SIP port (pjsip drops  └──►       run queued commands -> Future results
            it; the poll returns)             run due timers (dial timeouts, EOF)
    emit(event) ◄── call_soon_threadsafe ◄─── callbacks (calls, DTMF, registration)

Results are ``concurrent.futures.Future`` objects (``asyncio.wrap_future`` on the
other side). Timers are a heap checked after every poll, so their resolution is
the poll interval (<= 200 ms), plenty for dial timeouts and prompt ends.

At shutdown the thread hangs up what is left, lets the BYEs go out, frees every
player/recorder/call/account *on this thread* and only then calls ``libDestroy``
(freeing them later, from another thread or at interpreter exit, aborts).
"""

from __future__ import annotations

import collections
import concurrent.futures
import gc
import heapq
import itertools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pjsua2 as pj  # type: ignore[import-untyped]

from gateway.ipc import protocol as p
from gateway.ipc.errors import BadState
from gateway.sip import commands
from gateway.sip.endpoint import (
    GatewayAccount,
    GatewayEndpoint,
    WorkerConfig,
    account_config,
    ep_config,
    set_codecs,
    transport_config,
)
from gateway.sip.legs import Leg

log = logging.getLogger(__name__)

POLL_MS = 200
STATS_EVERY = 1.0
# How long a stopped player outlives its last use: far longer than pjmedia takes to
# dispatch an end-of-file event already published (milliseconds). Retired players
# still count against pjsua's 32, so at most MAX_RETIRED wait (oldest freed first).
PLAYER_GRACE_S = 0.25
MAX_RETIRED = 12


class Owner:
    def __init__(self, cfg: WorkerConfig, emit: Callable[[p.Event], None]) -> None:
        self.cfg = cfg
        self._emit = emit
        self._queue: queue.Queue[tuple[p.Command, concurrent.futures.Future[dict[str, object]]]] = (
            queue.Queue()
        )
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._in_seq = itertools.count(1)
        self._wake_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._wake_sock.setblocking(False)
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stop_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="pjsua2-owner", daemon=True)
        self.legs: dict[str, Leg] = {}
        self.accounts: dict[str, GatewayAccount] = {}
        self.proxy_accounts: dict[str, GatewayAccount] = {}
        self._retired: collections.deque[tuple[float, Any]] = collections.deque()
        self.local_acc: GatewayAccount | None = None
        self.ep: GatewayEndpoint | None = None
        self.draining = False
        self.closing_recordings: dict[str, int] = {}  # path -> polls left
        self.finished = threading.Event()

    # ----------------------------------------------------------------- any thread
    def start(self, timeout: float = 10.0) -> None:
        """Create the endpoint on the owner thread; raise what it raised."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("pjsua2 endpoint did not start")
        if self._start_error is not None:
            raise self._start_error

    def submit(self, cmd: p.Command) -> concurrent.futures.Future[dict[str, object]]:
        fut: concurrent.futures.Future[dict[str, object]] = concurrent.futures.Future()
        if self.finished.is_set():
            fut.set_exception(BadState(self.cfg.worker_id, "worker is shut down"))
            return fut
        self._queue.put((cmd, fut))
        self.wake()
        return fut

    def wake(self) -> None:
        try:
            self._wake_sock.sendto(b"\r\n\r\n", (self.cfg.address, self.cfg.sip_port))
        except OSError:
            pass  # the poll returns within POLL_MS anyway

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # ----------------------------------------------------------------- owner thread
    def emit(self, event: p.Event) -> None:
        self._emit(event)

    def emit_capacity(self) -> None:
        self.emit(p.Capacity(len(self.legs), self.cfg.max_legs, self.draining))

    def retire_player(self, player: Any) -> None:
        """Keep a stopped player alive for PLAYER_GRACE_S, then free it (see Leg.stop_play)."""
        self._retired.append((time.monotonic() + PLAYER_GRACE_S, player))
        while len(self._retired) > MAX_RETIRED:
            self._retired.popleft()

    def _free_retired(self, everything: bool = False) -> None:
        now = time.monotonic()
        while self._retired and (everything or self._retired[0][0] <= now):
            self._retired.popleft()  # the last reference: pjmedia port destroyed here

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fn))

    def watch_recording(self, leg_id: str, path: str, tries: int = 40) -> None:
        """Emit RecordingClosed once ``path`` has its final header (<= ``tries`` x 50 ms)."""
        if self.closing_recordings.get(path, 0) == 0:
            self.closing_recordings[path] = tries
        size = os.path.getsize(path) if os.path.exists(path) else 0
        if size >= 8:
            with open(path, "rb") as f:
                f.seek(4)
                riff = int.from_bytes(f.read(4), "little")
        else:
            riff = 0
        left = self.closing_recordings[path] - 1
        if riff == 0 and left > 0:
            self.closing_recordings[path] = left
            self.call_later(0.05, lambda: self.watch_recording(leg_id, path))
            return
        del self.closing_recordings[path]
        duration = max(0, size - 44) / 16000.0  # 8 kHz, 16-bit mono
        self.emit(p.RecordingClosed(leg_id, path, round(duration, 3), size))

    def stop_after(self, grace: float) -> None:
        deadline = time.monotonic() + max(0.0, grace)
        self._stop_at = deadline if self._stop_at is None else min(self._stop_at, deadline)

    def new_leg_id(self, kind: str = "in") -> str:
        return f"{self.cfg.worker_id}-{kind}-{next(self._in_seq)}"

    def forget(self, leg: Leg) -> None:
        """Drop the strong reference (called inside onCallState(DISCONNECTED))."""
        if self.legs.get(leg.leg_id) is leg:
            del self.legs[leg.leg_id]
            self.emit_capacity()

    def on_incoming(self, acc: GatewayAccount, prm: Any) -> None:
        leg = Leg(self, acc, self.new_leg_id(), prm.callId)
        self.legs[leg.leg_id] = leg  # strong ref from the very first callback
        if self.draining:
            op = pj.CallOpParam()
            op.statusCode = 503
            leg.answer(op)
            return
        self.emit(commands.incoming_event(leg.leg_id, prm.rdata))
        self.emit_capacity()

    def on_rejected(self, message: str, code: int, reason: str) -> None:
        head = commands.parse_headers(message)
        self.emit(p.CallRejected(head.get("call-id", ""), int(code), reason, head.get("from", "")))

    def on_reg_state(self, acc: GatewayAccount, code: int, reason: str, expires: int) -> None:
        if acc is self.local_acc:
            return
        registered = 200 <= int(code) < 300 and int(expires) > 0
        self.emit(p.RegistrationState(acc.name, int(code), reason, registered, int(expires)))

    def _setup(self) -> None:
        ep = GatewayEndpoint(self)
        ep.libCreate()
        ep.libInit(ep_config(self.cfg))
        ep.audDevManager().setNullDev()
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport_config(self.cfg))
        ep.libStart()
        set_codecs(ep, self.cfg.codecs)
        self.ep = ep
        acc = GatewayAccount(self, "")
        host = f"{self.cfg.advertised}:{self.cfg.sip_port}"
        acc.create(account_config(self.cfg, f"sip:{self.cfg.worker_id}@{host}"), True)
        self.local_acc = acc

    def proxy_account(self, proxy: str) -> GatewayAccount:
        """The local account whose outbound proxy is ``proxy`` (created on first use).

        pjsip sends a call along its account's route set: a Route header merely added to
        the INVITE is carried but never used to pick the next hop. There is one such
        account per proxy (in practice one: the edge), counted against the account cap.
        """
        key = f"proxy:{proxy}"
        acc = self.proxy_accounts.get(key)
        if acc is None:
            if len(self.accounts) + len(self.proxy_accounts) >= self.cfg.max_registrations:
                raise RuntimeError(f"no account left for proxy {proxy}")
            route = proxy if proxy.startswith("<") or ";lr" in proxy else f"{proxy};lr"
            acc = GatewayAccount(self, "")
            host = f"{self.cfg.advertised}:{self.cfg.sip_port}"
            acc.create(
                account_config(self.cfg, f"sip:{self.cfg.worker_id}@{host}", proxy=route), True
            )
            self.proxy_accounts[key] = acc
        return acc

    def _run(self) -> None:
        try:
            self._setup()
        except BaseException as exc:  # noqa: BLE001 - reported to start(), which re-raises
            self._start_error = exc
            self._ready.set()
            self.finished.set()
            return
        self._ready.set()
        next_stats = time.monotonic() + STATS_EVERY
        assert self.ep is not None
        try:
            while True:
                self.ep.libHandleEvents(self._poll_ms())
                self._run_commands()
                self._run_timers()
                self._free_retired()
                now = time.monotonic()
                if now >= next_stats:
                    next_stats = now + STATS_EVERY
                    self._sample_stats()
                if self._stop_at is not None and (now >= self._stop_at or not self.legs):
                    break
        finally:
            self._teardown()

    def _sample_stats(self) -> None:
        # A helper, not a loop in _run: a loop variable there would keep the last
        # Leg alive until after libDestroy, and its destructor then aborts.
        for leg in list(self.legs.values()):
            if leg.state is p.LegState.CONFIRMED:
                leg.sample_stats()

    def _close_remaining(self) -> None:
        for leg in list(self.legs.values()):
            leg.close(0, "shutdown")
        self.legs.clear()

    def _drop_accounts(self) -> None:
        for acc in [*self.accounts.values(), *self.proxy_accounts.values()]:
            acc.shutdown()
        self.accounts.clear()
        self.proxy_accounts.clear()
        if self.local_acc is not None:
            self.local_acc.shutdown()
            self.local_acc = None

    def _poll_ms(self) -> int:
        if not self._timers:
            return POLL_MS
        ms = int((self._timers[0][0] - time.monotonic()) * 1000)
        return max(0, min(POLL_MS, ms))

    def _run_commands(self) -> None:
        while True:
            try:
                cmd, fut = self._queue.get_nowait()
            except queue.Empty:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(commands.execute(self, cmd))
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

    def _teardown(self) -> None:
        """Hang up, let BYEs leave, free media objects here, then libDestroy."""
        ep = self.ep
        assert ep is not None
        try:
            if self.legs:
                ep.hangupAllCalls()
                deadline = time.monotonic() + 2.0
                while self.legs and time.monotonic() < deadline:
                    ep.libHandleEvents(50)
            self._close_remaining()
            deadline = time.monotonic() + 2.0  # let recorders finish their headers
            while self.closing_recordings and time.monotonic() < deadline:
                ep.libHandleEvents(50)
                self._run_timers()
            self._timers.clear()
            deadline = time.monotonic() + PLAYER_GRACE_S  # let retired players age out
            while self._retired and time.monotonic() < deadline:
                ep.libHandleEvents(50)
                self._free_retired()
            self._free_retired(everything=True)
            self._drop_accounts()
            gc.collect()
            ep.libHandleEvents(50)
            ep.libDestroy()
        except Exception:
            log.exception("teardown failed")
        finally:
            self.ep = None
            gc.collect()
            self.finished.set()
            # Commands that arrived too late get an answer rather than a hang.
            while not self._queue.empty():
                _, fut = self._queue.get_nowait()
                if fut.set_running_or_notify_cancel():
                    fut.set_exception(BadState(self.cfg.worker_id, "shut down"))
