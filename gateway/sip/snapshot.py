"""The worker's legs as ``LegSnapshot`` events, taken on the owner thread.

A worker that lost its control plane reports, after its resumed hello, each leg as it
was at the loss (docs/ipc.md "Resuming"). This module reads the state: the leg's SIP
dialog (``getInfo``, pjsua2, hence the owner thread), what it hears through the
bridges, its recording, its playback, the far end's hold, and the control plane's
note (``Annotate``). ``SipState.housekeeping`` emits the result, ending with a
``SnapshotDone`` marker, through the ordinary event path (``gateway/sip/orphan.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.ipc import protocol as p
from gateway.sip.pjerrors import PJ_ERROR

if TYPE_CHECKING:
    from gateway.sip.legs import Leg
    from gateway.sip.state import SipState


def _dialog(leg: Leg) -> tuple[str, str]:
    """(SIP Call-ID, remote URI); empty if pjsua no longer knows the call."""
    try:
        ci = leg.getInfo()
    except PJ_ERROR:
        return "", ""
    return str(ci.callIdString), str(ci.remoteUri)


def leg_snapshot(state: SipState, leg: Leg) -> p.LegSnapshot:
    call_id, remote = _dialog(leg)
    hears = [peer for peer in state.bridges.peers(leg.leg_id) if state.hears(leg.leg_id, peer)]
    return p.LegSnapshot(
        leg=leg.leg_id,
        sip_call_id=call_id,
        direction="in" if leg.incoming else "out",
        # pjsip's INCOMING/NULL are never reported: an unanswered leg reads "calling"
        state=leg.state or p.LegState.CALLING,
        remote=remote,
        note=dict(leg.note),
        bridged_to=",".join(hears),
        recording=leg.rec_path if leg.recorder is not None else "",
        recording_paused=leg.recorder is not None and leg.rec_paused,
        playing=leg.player_path if leg.player is not None else "",
        playing_loop=leg.player is not None and leg.player_loop,
        held=leg.remote_held,
    )


def take(state: SipState) -> list[p.Event]:
    """Every live leg's snapshot, then the marker that ends the snapshot."""
    snaps: list[p.Event] = [
        leg_snapshot(state, leg)
        for leg in list(state.legs.values())
        if not leg.closed and leg.leg_id not in state.unannounced
    ]
    snaps.append(p.SnapshotDone(len(snaps), 0.0, 0))
    return snaps
