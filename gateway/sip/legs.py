"""Legs: one pjsua2 ``Call`` each, plus the media attached to it.

Theory of operation
-------------------
A leg remembers what *should* be connected to it (a player, a recorder) and asks
its host for the legs it is bridged with; ``reconnect()`` makes the conference bridge
match, whenever its audio becomes active (``onCallMediaState``) or a command changes
the wish. So a command may arrive before media is up (e.g. play right after answer)
and still take effect.

A leg depends on ``LegHost`` (what it needs of the worker's state), not on the state
itself: the registry of legs, the bridge relation, timers and the media that outlive
it are the host's.

Lifetime rules (ARCHITECTURE.md §5): the host's registry holds a strong reference
from creation (``onIncomingCall`` or dial) until ``onCallState(DISCONNECTED)``,
where the leg frees its player/recorder, reports its RTP quality and its end, and
tells the host (``leg_ended``), which drops it from the registry *inside* the
callback and applies the hang-up policy. Everything here runs on the owner thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

import pjsua2 as pj  # type: ignore[import-untyped]

from gateway.ipc import protocol as p
from gateway.sip.media import wav_seconds
from gateway.sip.pjerrors import PJ_ERROR

# pjsip's NULL and INCOMING are not reported: an incoming leg is born as IncomingCall.
_STATES = {
    pj.PJSIP_INV_STATE_CALLING: p.LegState.CALLING,
    pj.PJSIP_INV_STATE_EARLY: p.LegState.EARLY,
    pj.PJSIP_INV_STATE_CONNECTING: p.LegState.CONNECTING,
    pj.PJSIP_INV_STATE_CONFIRMED: p.LegState.CONFIRMED,
    pj.PJSIP_INV_STATE_DISCONNECTED: p.LegState.DISCONNECTED,
}
UNKNOWN_DTMF_DURATION = 0xFFFF_FFFF  # PJSUA_UNKNOWN_DTMF_DURATION: reported at the start


class LegHost(Protocol):
    """What a leg needs of the worker's state (all on the owner thread)."""

    def emit(self, event: p.Event) -> None: ...

    def call_later(self, delay: float, fn: Callable[[], None]) -> None: ...

    def leg(self, leg_id: str) -> Leg | None: ...

    def bridged(self, leg_id: str) -> list[Leg]: ...

    def hears(self, listener: str, source: str) -> bool: ...

    def retire_player(self, player: Any) -> None: ...

    def watch_recording(self, leg_id: str, path: str) -> None: ...

    def leg_ended(self, leg: Leg) -> None: ...

    def transfer_requested(self, leg: Leg, prm: Any) -> None:
        """A REFER arrived on ``leg`` (gateway/sip/transfer.py)."""


def _play_done(host: LegHost, leg_id: str, token: int) -> None:
    leg = host.leg(leg_id)
    if leg is not None and token == leg.player_token and leg.player is not None:
        path = leg.player_path
        leg.stop_play()
        host.emit(p.PlaybackDone(leg_id, path))


def _connect(source: Any, sink: Any, on: bool) -> None:
    """Start or stop one direction (stopping one that is not connected is no error)."""
    try:
        if on:
            source.startTransmit(sink)
        else:
            source.stopTransmit(sink)
    except PJ_ERROR:
        if on:
            raise


def _feed_recorder(aud: Any, recorder: Any, silent: bool) -> None:
    """Connect a leg to its recorder, at level 0 when ``silent`` (measured: pjmedia then
    writes zeros, keeping the timeline); reconnecting is how the level changes."""
    _connect(aud, recorder, False)
    prm = pj.AudioMediaTransmitParam()
    prm.level = 0.0 if silent else 1.0
    aud.startTransmit2(recorder, prm)


class Leg(pj.Call):  # type: ignore[misc]
    def __init__(
        self, host: LegHost, acc: Any, leg_id: str, call_id: int = pj.PJSUA_INVALID_ID
    ) -> None:
        super().__init__(acc, call_id)
        self.host = host
        self.account = acc  # a REFER's new call is placed from it (sip/transfer.py)
        self.leg_id = leg_id
        self.state: p.LegState | None = None  # None until the first reportable state
        self.incoming = call_id != pj.PJSUA_INVALID_ID
        self.player: Any = None
        self.player_path = ""
        self.player_loop = False  # what plays is music on hold (LegSnapshot.playing_loop)
        self.player_token = 0  # bumps on every play so a stale end-of-file timer is ignored
        self.recorder: Any = None
        self.rec_path = ""
        self.rec_paused = False
        self.last_stat: p.RtpQuality | None = None
        self.remote_held = False  # the far end put this leg on hold (last reported)
        self.note: dict[str, object] = {}  # the control plane's (Annotate), handed back on adoption
        self.closed = False

    # ----------------------------------------------------------------- pjsua2 callbacks
    def onCallState(self, prm: Any) -> None:
        ci = self.getInfo()
        state = _STATES.get(ci.state)
        if state is None:
            return
        self.state = state
        if state is p.LegState.DISCONNECTED:
            self.close(ci.lastStatusCode, ci.lastReason)
        else:
            self.host.emit(p.LegStateChanged(self.leg_id, state, ci.lastStatusCode, ci.lastReason))

    def onCallMediaState(self, prm: Any) -> None:
        held = self.remote_hold()
        if held != self.remote_held:  # a re-INVITE with a=sendonly / a=inactive, or back
            self.remote_held = held
            self.host.emit(p.LegHold(self.leg_id, held))
        self.reconnect()

    def onCallTransferRequest(self, prm: Any) -> None:
        self.host.transfer_requested(self, prm)

    def onDtmfDigit(self, prm: Any) -> None:
        duration = int(prm.duration)
        if duration >= UNKNOWN_DTMF_DURATION:
            duration = 0
        self.host.emit(p.DtmfDigit(self.leg_id, prm.digit, duration))

    def onStreamDestroyed(self, prm: Any) -> None:
        self.sample_stats()  # last chance: the stream still exists here

    # ----------------------------------------------------------------- media
    @property
    def answered(self) -> bool:
        return self.state is p.LegState.CONFIRMED

    def audio(self) -> Any:
        """The leg's conference port, or None while its audio is not active."""
        if self.closed:
            return None
        try:
            ci = self.getInfo()
        except PJ_ERROR:
            return None
        for i, mi in enumerate(ci.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status in (
                pj.PJSUA_CALL_MEDIA_ACTIVE,
                pj.PJSUA_CALL_MEDIA_REMOTE_HOLD,
            ):
                return self.getAudioMedia(i)
        return None

    def remote_hold(self) -> bool:
        """Whether the far end holds the call: its SDP is sendonly or inactive."""
        try:
            ci = self.getInfo()  # kept: its media vector dies with it
        except PJ_ERROR:
            return False
        both = pj.PJMEDIA_DIR_ENCODING_DECODING
        return any(
            mi.type == pj.PJMEDIA_TYPE_AUDIO
            and (
                mi.status == pj.PJSUA_CALL_MEDIA_REMOTE_HOLD
                or (mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE and mi.dir != both)
            )
            for mi in ci.media
        )

    def reconnect(self) -> None:
        """Make the bridge match the wish: player, recorder, and each bridged peer in
        the directions the host's mix allows (a muted direction is disconnected)."""
        aud = self.audio()
        if aud is None:
            return
        if self.player is not None:
            self.player.startTransmit(aud)
        if self.recorder is not None:
            _feed_recorder(aud, self.recorder, self.rec_paused)
        for peer in self.host.bridged(self.leg_id):
            peer_aud = peer.audio()
            if peer_aud is not None:
                _connect(peer_aud, aud, self.host.hears(self.leg_id, peer.leg_id))
                _connect(aud, peer_aud, self.host.hears(peer.leg_id, self.leg_id))

    def disconnect_audio(self, peer: Leg) -> None:
        """Stop the audio between this leg and ``peer`` both ways (unbridge)."""
        aud, peer_aud = self.audio(), peer.audio()
        if aud is not None and peer_aud is not None:
            aud.stopTransmit(peer_aud)
            peer_aud.stopTransmit(aud)

    def play(self, path: str, loop: bool) -> None:
        self.stop_play()
        player = pj.AudioMediaPlayer()
        player.createPlayer(path, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
        self.player, self.player_path, self.player_loop = player, path, loop
        self.player_token += 1
        if not loop:
            host, leg_id, token = self.host, self.leg_id, self.player_token
            # By id, not by self: a timer must not keep the Call alive past DISCONNECTED.
            host.call_later(wav_seconds(path), lambda: _play_done(host, leg_id, token))
        self.reconnect()

    def stop_play(self) -> None:
        if self.player is None:
            return
        aud = self.audio()
        if aud is not None:
            try:
                self.player.stopTransmit(aud)
            except PJ_ERROR:
                pass
        # Not freed here (pjproject #4812, see media.py): the host frees it, on this
        # thread, once any end-of-file event in flight has long been dispatched.
        self.host.retire_player(self.player)
        self.player = None
        self.player_path = ""

    def record_start(self, path: str) -> None:
        self.record_stop()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        rec = pj.AudioMediaRecorder()
        rec.createRecorder(path)
        self.recorder, self.rec_path, self.rec_paused = rec, path, False
        self.reconnect()

    def record_pause(self, paused: bool) -> None:
        """Paused, the recorder still takes the leg at level 0: it writes silence, so the
        file keeps the call's timeline (a recorder with no source writes nothing)."""
        if self.recorder is None:
            raise LookupError("not recording")
        self.rec_paused = paused
        aud = self.audio()
        if aud is not None:
            _feed_recorder(aud, self.recorder, paused)

    def record_stop(self) -> None:
        if self.recorder is None:
            return
        aud = self.audio()
        if aud is not None:
            try:
                aud.stopTransmit(self.recorder)
            except PJ_ERROR:
                pass
        path = self.rec_path
        # Dropping the recorder removes its conference port; the final WAV header is
        # written asynchronously, so RecordingClosed waits for it (see media.py).
        self.recorder = None
        self.rec_path = ""
        self.host.watch_recording(self.leg_id, path)

    def sample_stats(self) -> None:
        """Cache the receive/transmit counters; called periodically and at teardown."""
        if self.closed:
            return
        try:
            st = self.getStreamStat(0)
        except PJ_ERROR:
            return
        rx, tx = st.rtcp.rxStat, st.rtcp.txStat
        self.last_stat = p.RtpQuality(
            self.leg_id,
            int(rx.pkt),
            int(rx.loss),
            round(rx.jitterUsec.mean / 1000.0, 3),  # mean interarrival jitter (RFC 3550)
            int(tx.pkt),
            int(tx.loss),
        )

    def hangup_quietly(self, code: int = 0) -> None:
        op = pj.CallOpParam()
        op.statusCode = code
        try:
            self.hangup(op)
        except PJ_ERROR:
            pass  # already terminating

    # ----------------------------------------------------------------- teardown
    def close(self, code: int, reason: str) -> None:
        """Free media, report, and leave the host's registry (inside DISCONNECTED)."""
        if self.closed:
            return
        self.sample_stats()
        self.stop_play()
        self.record_stop()
        self.closed = True
        if self.last_stat is not None:
            self.host.emit(self.last_stat)
        # The leg's own report first, then the host hangs up its linked peers: the
        # control plane sees cause before effect.
        self.host.emit(p.LegStateChanged(self.leg_id, p.LegState.DISCONNECTED, code, reason))
        self.host.leg_ended(self)
