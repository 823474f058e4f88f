"""The worker's state: legs, accounts, bridges and the media that outlive a leg.

Theory of operation
-------------------
``SipState`` is the one owner of what a worker holds; it lives on the owner thread
(``loop.OwnerThread`` drives it as a ``Driven``) and is the ``LegHost`` of every leg
and the listener of the endpoint and accounts::

    SipState
    ├── legs: leg id -> Leg          strong refs, onIncomingCall/dial .. DISCONNECTED
    ├── bridges: Bridges             who hears whom, and which pairs are linked
    ├── accounts: Accounts           local, per-proxy, registered
    ├── players: RetiredPlayers      stopped players waiting to be freed (#4812)
    └── recordings: RecordingWatch   stopped recorders waiting for their WAV header

Commands are carried out by ``handlers.py`` against this state; pjsua2 callbacks
arrive through the legs, accounts and endpoint. **Hang-up policy** (the worker's, for
linked bridges): when a leg ends, the worker hangs up every leg it was linked to
(``leg_ended``), after reporting the first leg's end. The control plane does not send
a hang-up for them.

Teardown order matters (docs/worker.md): hang up and let the BYEs leave, close what
is left, let recorders finish their headers, let retired players age out, free every
player/recorder/call/account on this thread, and only then ``libDestroy``.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pjsua2 as pj  # type: ignore[import-untyped]

from gateway.ipc import protocol as p
from gateway.sip import handlers, invite, snapshot
from gateway.sip.accounts import Accounts
from gateway.sip.bridges import Bridges
from gateway.sip.endpoint import (
    GatewayAccount,
    GatewayEndpoint,
    WorkerConfig,
    ep_config,
    set_codecs,
    transport_config,
)
from gateway.sip.legs import Leg
from gateway.sip.loop import Scheduler
from gateway.sip.media import PLAYER_GRACE_S, RecordingWatch, RetiredPlayers
from gateway.sip.pjerrors import PJ_ERROR
from gateway.sip.transfer import on_transfer_request

log = logging.getLogger(__name__)

STATS_EVERY = 1.0
HANGUP_WAIT_S = 2.0
RECORDING_WAIT_S = 2.0


class SipState:
    def __init__(
        self, cfg: WorkerConfig, emit: Callable[[p.Event], None], scheduler: Scheduler
    ) -> None:
        self.cfg = cfg
        self._emit = emit
        self.scheduler = scheduler
        self.legs: dict[str, Leg] = {}
        self.bridges = Bridges()
        self.accounts = Accounts(cfg, self)
        self.players = RetiredPlayers()
        self.recordings = RecordingWatch(scheduler.call_later, emit)
        self.draining = False
        self.ep: GatewayEndpoint | None = None
        self._leg_seq = itertools.count(1)
        self._next_stats = 0.0
        self.refer_orphans: list[Leg] = []  # REFER calls pjsua could not place (transfer.py)
        # Without a control plane (gateway/sip/orphan.py): INVITEs are refused 503 and
        # those legs stay unannounced (no event: nobody was ever offered them).
        self.orphaned = False
        self.unannounced: set[str] = set()
        self._snapshot_wanted = threading.Event()

    @property
    def worker_id(self) -> str:
        return self.cfg.worker_id

    # ----------------------------------------------------------------- Driven
    def setup(self) -> None:
        ep = GatewayEndpoint(self)
        ep.libCreate()
        ep.libInit(ep_config(self.cfg))
        ep.audDevManager().setNullDev()
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport_config(self.cfg))
        ep.libStart()
        set_codecs(ep, self.cfg.codecs)
        self.ep = ep
        self.accounts.create_local()
        self._next_stats = time.monotonic() + STATS_EVERY

    def poll(self, timeout_ms: int) -> None:
        assert self.ep is not None
        self.ep.libHandleEvents(timeout_ms)

    def execute(self, cmd: p.Command) -> dict[str, object]:
        return handlers.execute(self, cmd)

    def housekeeping(self, now: float) -> None:
        if self._snapshot_wanted.is_set():
            self._snapshot_wanted.clear()
            self.orphaned = True
            for event in snapshot.take(self):
                self.emit(event)
        self.players.free_due(now)
        if now >= self._next_stats:
            self._next_stats = now + STATS_EVERY
            self._sample_stats()

    def idle(self) -> bool:
        return not self.legs

    def teardown(self, pump: Callable[[int], None]) -> None:
        """Hang up, let BYEs leave, free media objects here, then libDestroy."""
        ep = self.ep
        assert ep is not None
        try:
            if self.legs:
                ep.hangupAllCalls()
                deadline = time.monotonic() + HANGUP_WAIT_S
                while self.legs and time.monotonic() < deadline:
                    ep.libHandleEvents(50)
            self._close_remaining()
            deadline = time.monotonic() + RECORDING_WAIT_S  # recorders finish their headers
            while self.recordings.pending and time.monotonic() < deadline:
                pump(50)
            deadline = time.monotonic() + PLAYER_GRACE_S  # retired players age out
            while self.players and time.monotonic() < deadline:
                ep.libHandleEvents(50)
                self.players.free_due(time.monotonic())
            self.players.free_all()
            self.accounts.shutdown()
            gc.collect()
            ep.libHandleEvents(50)
            ep.libDestroy()
        finally:
            self.ep = None
            gc.collect()

    # Helpers, not loops in the methods above: a loop variable there would keep the
    # last Leg alive until after libDestroy, and its destructor then aborts.
    def _sample_stats(self) -> None:
        for leg in list(self.legs.values()):
            if leg.answered:
                leg.sample_stats()

    def _close_remaining(self) -> None:
        for leg in list(self.legs.values()):
            leg.close(0, "shutdown")
        self.legs.clear()

    # ----------------------------------------------------------------- control plane
    def lose_control(self) -> None:
        """Any thread (then wake the owner): the control plane is gone; the next loop
        turn marks the worker orphaned and emits the snapshot of its legs."""
        self._snapshot_wanted.set()

    def regain_control(self) -> None:
        """Any thread: a control plane adopted the worker; INVITEs are offered again."""
        self.orphaned = False

    # ----------------------------------------------------------------- LegHost
    def emit(self, event: p.Event) -> None:
        if self.unannounced and getattr(event, "leg", None) in self.unannounced:
            return
        self._emit(event)

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        self.scheduler.call_later(delay, fn)

    def leg(self, leg_id: str) -> Leg | None:
        return self.legs.get(leg_id)

    def bridged(self, leg_id: str) -> list[Leg]:
        found = (self.legs.get(peer) for peer in self.bridges.peers(leg_id))
        return [leg for leg in found if leg is not None]

    def hears(self, listener: str, source: str) -> bool:
        return self.bridges.hears(listener, source)

    def retire_player(self, player: Any) -> None:
        self.players.retire(player, time.monotonic())

    def watch_recording(self, leg_id: str, path: str) -> None:
        self.recordings.watch(leg_id, path)

    def leg_ended(self, leg: Leg) -> None:
        """Drop the strong reference (inside onCallState(DISCONNECTED)), then apply the
        hang-up policy: the legs it was linked to are hung up."""
        if self.legs.get(leg.leg_id) is leg:
            del self.legs[leg.leg_id]
            if leg.leg_id in self.unannounced:
                self.unannounced.discard(leg.leg_id)
            else:
                self.emit_capacity()
        self._hang_up_linked(leg.leg_id)

    def _hang_up_linked(self, leg_id: str) -> None:
        for peer_id in self.bridges.remove(leg_id):
            peer = self.legs.get(peer_id)
            if peer is not None and not peer.closed:
                peer.hangup_quietly()

    # ----------------------------------------------------------------- listeners
    def on_incoming(self, acc: GatewayAccount, call_id: int, message: str, source: str) -> None:
        leg = Leg(self, acc, self.new_leg_id("in"), call_id)
        self.legs[leg.leg_id] = leg  # strong ref from the very first callback
        if self.draining or self.orphaned:
            if self.orphaned:  # no routing without a control plane
                self.unannounced.add(leg.leg_id)
            self._refuse(leg.leg_id, 503)
            return
        if invite.too_large_to_answer(message):
            # a failed leg, never an "answered" call nobody hears (docs/worker.md)
            self._refuse(leg.leg_id, 513)
            self.emit(invite.call_rejected(message, 513, "Message Too Large"))
            return
        self.emit(invite.incoming_call(leg.leg_id, message, source))
        self.emit_capacity()

    def _refuse(self, leg_id: str, code: int) -> None:
        """Answer ``code`` on the next loop turn, not inside ``onIncomingCall``: there, a
        final answer to an INVITE pjsip had cut off at its buffer aborts the worker
        (``pjsip_rx_data_free_cloned: Assertion `rdata' failed``; found by the SIP fuzz)."""

        def answer() -> None:
            leg = self.legs.get(leg_id)
            if leg is not None and not leg.closed:
                op = pj.CallOpParam()
                op.statusCode = code
                try:
                    leg.answer(op)
                except PJ_ERROR:
                    pass  # the caller gave up (CANCEL) in between

        self.call_later(0, answer)

    def on_rejected(self, message: str, code: int, reason: str) -> None:
        self.emit(invite.call_rejected(message, code, reason))

    def on_reg_state(self, acc: GatewayAccount, code: int, reason: str, expires: int) -> None:
        if self.accounts.is_local(acc):
            return
        registered = 200 <= int(code) < 300 and int(expires) > 0
        self.emit(p.RegistrationState(acc.name, int(code), reason, registered, int(expires)))

    # ----------------------------------------------------------------- for handlers
    def transfer_requested(self, leg: Leg, prm: Any) -> None:
        on_transfer_request(self, leg, prm)

    def new_leg_id(self, kind: str) -> str:
        return f"{self.cfg.worker_id}-{kind}-{next(self._leg_seq)}"

    def emit_capacity(self) -> None:
        self.emit(p.Capacity(len(self.legs), self.cfg.max_legs, self.draining))
