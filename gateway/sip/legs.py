"""Legs: one pjsua2 ``Call`` each, plus the media attached to it.

Theory of operation
-------------------
A leg remembers what *should* be connected to it (a player, a recorder, bridged
peers) and ``reconnect()`` makes the conference bridge match, whenever its audio
becomes active (``onCallMediaState``) or a command changes the wish. So a command
may arrive before media is up (e.g. play right after answer) and still take effect.

Lifetime rules (ARCHITECTURE.md §5): the owner's registry holds a strong reference
from creation (``onIncomingCall`` or dial) until ``onCallState(DISCONNECTED)``,
where the leg frees its player/recorder, reports its RTP quality and drops itself
from the registry *inside* the callback. Everything here runs on the owner thread.
"""

from __future__ import annotations

import os
import time
import wave
from typing import TYPE_CHECKING, Any

import pjsua2 as pj  # type: ignore[import-untyped]

from gateway.ipc import protocol as p

if TYPE_CHECKING:
    from gateway.sip.owner import Owner

# pjsip's NULL and INCOMING are not reported: an incoming leg is born as IncomingCall.
_STATES = {
    pj.PJSIP_INV_STATE_CALLING: p.LegState.CALLING,
    pj.PJSIP_INV_STATE_EARLY: p.LegState.EARLY,
    pj.PJSIP_INV_STATE_CONNECTING: p.LegState.CONNECTING,
    pj.PJSIP_INV_STATE_CONFIRMED: p.LegState.CONFIRMED,
    pj.PJSIP_INV_STATE_DISCONNECTED: p.LegState.DISCONNECTED,
}


def _play_done(owner: Owner, leg_id: str, token: int) -> None:
    leg = owner.legs.get(leg_id)
    if leg is not None and token == leg.player_token and leg.player is not None:
        path = leg.player_path
        leg.stop_play()
        owner.emit(p.PlaybackDone(leg_id, path))


def _release_peers(owner: Owner, leg_id: str, peers: set[str], linked: set[str]) -> None:
    for peer_id in list(peers):
        peer = owner.legs.get(peer_id)
        if peer is None:
            continue
        peer.peers.discard(leg_id)
        peer.linked.discard(leg_id)
        if peer_id in linked and not peer.closed:
            peer.hangup_quietly()


def wav_seconds(path: str) -> float:
    with wave.open(path, "rb") as w:
        return w.getnframes() / float(w.getframerate())


class Leg(pj.Call):  # type: ignore[misc]
    def __init__(self, owner: Owner, acc: Any, leg_id: str, call_id: int = pj.PJSUA_INVALID_ID):
        super().__init__(acc, call_id)
        self.owner = owner
        self.leg_id = leg_id
        self.state: p.LegState | None = None  # None until the first reportable state
        self.incoming = call_id != pj.PJSUA_INVALID_ID
        self.player: Any = None
        self.player_path = ""
        self.player_token = 0  # bumps on every play so a stale end-of-file timer is ignored
        self.recorder: Any = None
        self.rec_path = ""
        self.rec_paused = False
        self.peers: set[str] = set()
        self.linked: set[str] = set()  # peers to hang up when this leg ends
        self.last_stat: p.RtpQuality | None = None
        self.stat_at = 0.0
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
            self.owner.emit(p.LegStateChanged(self.leg_id, state, ci.lastStatusCode, ci.lastReason))

    def onCallMediaState(self, prm: Any) -> None:
        self.reconnect()

    def onDtmfDigit(self, prm: Any) -> None:
        duration = int(prm.duration)
        if duration >= 0xFFFF_FFFF:  # PJSUA_UNKNOWN_DTMF_DURATION: reported at the start
            duration = 0
        self.owner.emit(p.DtmfDigit(self.leg_id, prm.digit, duration))

    def onStreamDestroyed(self, prm: Any) -> None:
        self.sample_stats()  # last chance: the stream still exists here

    # ----------------------------------------------------------------- media
    def audio(self) -> Any:
        """The leg's conference port, or None while its audio is not active."""
        if self.closed:
            return None
        try:
            ci = self.getInfo()
        except pj.Error:
            return None
        for i, mi in enumerate(ci.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status in (
                pj.PJSUA_CALL_MEDIA_ACTIVE,
                pj.PJSUA_CALL_MEDIA_REMOTE_HOLD,
            ):
                return self.getAudioMedia(i)
        return None

    def reconnect(self) -> None:
        aud = self.audio()
        if aud is None:
            return
        if self.player is not None:
            self.player.startTransmit(aud)
        if self.recorder is not None and not self.rec_paused:
            aud.startTransmit(self.recorder)
        for peer_id in self.peers:
            peer = self.owner.legs.get(peer_id)
            peer_aud = peer.audio() if peer else None
            if peer_aud is not None:
                aud.startTransmit(peer_aud)
                peer_aud.startTransmit(aud)

    def play(self, path: str, loop: bool) -> None:
        self.stop_play()
        player = pj.AudioMediaPlayer()
        player.createPlayer(path, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
        self.player, self.player_path = player, path
        self.player_token += 1
        if not loop:
            owner, leg_id, token = self.owner, self.leg_id, self.player_token
            # By id, not by self: a timer must not keep the Call alive (see owner.forget).
            owner.call_later(wav_seconds(path), lambda: _play_done(owner, leg_id, token))
        self.reconnect()

    def stop_play(self) -> None:
        if self.player is None:
            return
        aud = self.audio()
        if aud is not None:
            try:
                self.player.stopTransmit(aud)
            except pj.Error:
                pass
        # Not freed here: pjsua2 2.15 delivers a player's end-of-file event
        # asynchronously, and one still in flight when the player is deleted calls into
        # freed memory (pjproject #4812, fixed upstream after our wheel). The owner frees
        # it, on this thread, once any such event has long been dispatched.
        self.owner.retire_player(self.player)
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
        if self.recorder is None:
            raise LookupError("not recording")
        self.rec_paused = paused
        aud = self.audio()
        if aud is not None:
            if paused:
                aud.stopTransmit(self.recorder)
            else:
                aud.startTransmit(self.recorder)

    def record_stop(self) -> None:
        if self.recorder is None:
            return
        aud = self.audio()
        if aud is not None:
            try:
                aud.stopTransmit(self.recorder)
            except pj.Error:
                pass
        path = self.rec_path
        # Dropping the recorder removes its conference port; pjmedia does that
        # asynchronously (from the clock thread), and only then writes the final
        # WAV header. So RecordingClosed is reported once the header is written.
        self.recorder = None
        self.rec_path = ""
        self.owner.watch_recording(self.leg_id, path)

    def unbridge(self, peer_id: str) -> None:
        self.peers.discard(peer_id)
        peer = self.owner.legs.get(peer_id)
        aud = self.audio()
        peer_aud = peer.audio() if peer else None
        if aud is not None and peer_aud is not None:
            aud.stopTransmit(peer_aud)
            peer_aud.stopTransmit(aud)

    def sample_stats(self) -> None:
        """Cache the receive/transmit counters; called periodically and at teardown."""
        if self.closed:
            return
        try:
            st = self.getStreamStat(0)
        except pj.Error:
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
        self.stat_at = time.monotonic()

    def hangup_quietly(self, code: int = 0) -> None:
        op = pj.CallOpParam()
        op.statusCode = code
        try:
            self.hangup(op)
        except pj.Error:
            pass  # already terminating

    # ----------------------------------------------------------------- teardown
    def close(self, code: int, reason: str) -> None:
        """Free media, report, and drop out of the registry (inside DISCONNECTED)."""
        if self.closed:
            return
        self.sample_stats()
        self.stop_play()
        self.record_stop()
        self.closed = True
        if self.last_stat is not None:
            self.owner.emit(self.last_stat)
        self.owner.emit(p.LegStateChanged(self.leg_id, p.LegState.DISCONNECTED, code, reason))
        self.owner.forget(self)
        # Linked peers are hung up after this leg's own report, so the control plane
        # sees cause before effect. (A helper keeps no Leg in a lingering local.)
        _release_peers(self.owner, self.leg_id, self.peers, self.linked)
        self.peers.clear()
        self.linked.clear()
