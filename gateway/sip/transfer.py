"""A REFER from an agent's phone, on the worker's side (docs/transfer.md).

pjsua implements the transferee's part of RFC 3515 itself: it answers the REFER 202,
keeps the implicit subscription and NOTIFYs the transferor of the new call's progress
(100, then the final sipfrag), and turns the headers of the Refer-To URI (an attended
transfer's ``?Replaces=...``) into headers of the new INVITE, so the target swaps its
consultation dialog for ours. It places that call from the agent leg's account, whose
outbound proxy is the edge: the edge routes it (registered agent, or the trunk).

The worker adds only bookkeeping: the agent leg's bridge is unlinked (the transferor's
BYE must not end the caller), the new call is a `Leg` in the registry from the
callback on (a strong reference, ARCHITECTURE.md §5), and the control plane is told
(`TransferRequested`) before any of the new leg's events. What the leg becomes --
bridged with the caller, hung up, the caller re-queued -- is the control plane's
decision. A leg that could not be placed (every pjsua call slot in use: pjsua NOTIFYs
the transferor a 500 sipfrag) is reported with ``new_leg`` "" and code 503.
A REFER on an incoming leg (the carrier's side) is declined (603): only the legs we
dialled to agents' phones may transfer. Everything here runs on the owner thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pjsua2 as pj  # type: ignore[import-untyped]

from gateway.ipc import protocol as p
from gateway.sip.legs import Leg

if TYPE_CHECKING:
    from gateway.sip.state import SipState

NO_FREE_LEG = 503
FORBIDDEN = 603  # a REFER on a caller's (incoming) leg: declined
RING_TIMEOUT = 30.0  # the REFER's call is cancelled (408) if not answered by then


def has_replaces(refer_to: str) -> bool:
    """An attended transfer's Refer-To carries the consultation dialog (RFC 3891)."""
    return "replaces=" in refer_to.lower()


def on_transfer_request(state: SipState, leg: Leg, prm: Any) -> None:
    """`Leg.onCallTransferRequest`: accept, and register the call pjsua is to place."""
    refer_to = str(prm.dstUri)
    replaces = has_replaces(refer_to)
    if leg.incoming:
        # Only an agent's phone may transfer (the legs we dialled): a REFER from the
        # trunk side would make us call wherever it says.
        prm.statusCode = FORBIDDEN
        return
    if state.draining or len(state.legs) >= state.cfg.max_legs:
        prm.statusCode = NO_FREE_LEG  # the REFER's final answer: nothing is dialled
        state.emit(p.TransferRequested(leg.leg_id, "", refer_to, replaces, NO_FREE_LEG))
        return
    _unlink(state, leg.leg_id)
    new_id = state.new_leg_id("xfer")
    new_leg = Leg(state, leg.account, new_id)
    state.legs[new_id] = new_leg  # before pjsua places it: its callbacks follow at once
    prm.newCall = new_leg
    prm.statusCode = 202
    state.emit(p.TransferRequested(leg.leg_id, new_id, refer_to, replaces))
    state.emit_capacity()
    # pjsua places the call right after this callback; if it could not (no call slot),
    # the Leg never got a call id: report it ended, once the loop turns.
    state.call_later(0.0, lambda: _check_placed(state, new_id))
    state.call_later(RING_TIMEOUT, lambda: _ring_timeout(state, new_id))


def _unlink(state: SipState, leg_id: str) -> None:
    """The transferor's BYE must not take the caller with it (linked bridge): the audio
    stays as it is until the control plane re-bridges the caller."""
    b = state.bridges
    for peer in b.peers(leg_id):
        b.join(leg_id, peer, False, b.hears(leg_id, peer), b.hears(peer, leg_id))


def _ring_timeout(state: SipState, leg_id: str) -> None:
    leg = state.legs.get(leg_id)
    if leg is not None and leg.state not in (p.LegState.CONFIRMED, p.LegState.DISCONNECTED):
        leg.hangup_quietly(408)


def _check_placed(state: SipState, leg_id: str) -> None:
    leg = state.legs.get(leg_id)
    if leg is None or leg.closed:
        return
    if leg.getId() == pj.PJSUA_INVALID_ID:
        leg.closed = True
        del state.legs[leg_id]
        state.emit(p.LegStateChanged(leg_id, p.LegState.DISCONNECTED, NO_FREE_LEG, "no call slot"))
        state.emit_capacity()
        # pjsua2 keeps a raw pointer to it as the agent leg's transfer child: keep it.
        state.refer_orphans.append(leg)
