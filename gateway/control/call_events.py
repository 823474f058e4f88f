"""The catalogue events a call session reports, built from the session's facts.

Pure functions of a `CallSession` (and the moment): the switchboard decides *when* an
event happens, these say *what* it carries, and `gateway/events/catalogue.py` says how
it is serialised. Durations follow the call record's rules (`CdrStore.record_ended`):
wait = arrival to answer (or to the end, for a queued call not answered), talk =
answer to end.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gateway.control.session import CallSession, Role, RtpStats
from gateway.control.wrapups import WrapupNote, agent_wrapups, note_of
from gateway.events import catalogue as ce


def _seconds(since: datetime, until: datetime) -> float:
    return round((until - since).total_seconds(), 3)


def received(s: CallSession, route: ce.RouteKind) -> ce.CallReceived:
    return ce.CallReceived(
        call_id=s.call_id,
        sip_call_id=s.sip_call_id,
        did=s.did or None,
        caller=s.caller or None,
        trunk=s.trunk,
        worker=s.worker_id,
        route=route,
        queue=s.queue,
        arrived_at=s.arrived_at,
    )


def abandoned(s: CallSession, position: int | None, at: datetime) -> ce.CallAbandoned:
    return ce.CallAbandoned(
        call_id=s.call_id,
        queue=s.queue or "",
        position=position,
        original_position=s.first_position,
        wait_seconds=_seconds(s.arrived_at, at),
        while_ringing=bool(s.ringing()),
    )


def ended(s: CallSession) -> ce.CallEnded:
    assert s.ended_at is not None and s.disposition is not None
    return ce.CallEnded(
        call_id=s.call_id,
        queue=s.queue,
        agent=s.connected.agent_id if s.connected else None,
        disposition=s.disposition,
        hangup_by=s.hangup_by,
        caller_sip_code=s.caller_sip_code,
        ended_at=s.ended_at,
    )


def _rtp(stats: RtpStats | None) -> ce.RtpSummary | None:
    if stats is None:
        return None
    return ce.RtpSummary(
        rx_packets=int(stats["rx_packets"]),
        rx_loss=int(stats["rx_loss"]),
        rx_jitter_ms=float(stats["rx_jitter_ms"]),
        tx_packets=int(stats["tx_packets"]),
        tx_loss=int(stats["tx_loss"]),
    )


def completed(
    s: CallSession, wrapped: Mapping[str, float] | None, notes: tuple[WrapupNote, ...] = ()
) -> ce.CallCompleted:
    """`wrapped`: each agent's wrap-up seconds (None: no agent took the call)."""
    assert s.ended_at is not None and s.disposition is not None
    note = note_of(s.connected.agent_id if s.connected else None, notes)
    if s.answered_at is not None:
        wait: float | None = _seconds(s.arrived_at, s.answered_at)
        talk: float | None = _seconds(s.answered_at, s.ended_at)
    else:
        wait = _seconds(s.arrived_at, s.ended_at) if s.queue is not None else None
        talk = None
    return ce.CallCompleted(
        call_id=s.call_id,
        sip_call_id=s.sip_call_id,
        caller=s.caller or None,
        did=s.did or None,
        trunk=s.trunk,
        queue=s.queue,
        agent=s.connected.agent_id if s.connected else None,
        disposition=s.disposition,
        hangup_by=s.hangup_by,
        arrived_at=s.arrived_at,
        answered_at=s.answered_at,
        ended_at=s.ended_at,
        wait_seconds=wait,
        talk_seconds=talk,
        wrapup_seconds=None if wrapped is None else round(sum(wrapped.values()), 3),
        caller_sip_code=s.caller_sip_code,
        agent_sip_code=s.agent_sip_code,
        rtp_caller=_rtp(s.rtp.get(Role.CALLER)),
        rtp_agent=_rtp(s.rtp.get(Role.AGENT)),
        recording_id=s.call_id if s.recordings else None,
        wrapup_code=note.code if note else None,
        wrapup_notes=note.notes if note else None,
        wrapups=agent_wrapups(wrapped, notes),
    )
