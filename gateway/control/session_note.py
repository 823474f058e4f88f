"""A call session as a compact JSON note, kept by the worker with the caller's leg.

The switchboard sends it (`Annotate`) whenever the session's phase changes; the worker
keeps the last one and hands it back in `LegSnapshot` to a control plane that adopts it
after a restart (gateway/control/adoption.py). The note carries what the worker cannot
know: which call record it is, where it came from, which queue and agent, which
recordings belong to it. Live details the worker does know (bridge, playing, held) come
from the snapshot itself. Monotonic times of the old process mean nothing to the new
one, so hold figures travel as a count and seconds, never as a start time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from gateway.control.hold import HoldSource
from gateway.control.phases import Phase
from gateway.control.session import AgentLeg, AgentLegState, CallSession, Role
from gateway.control.transfer_segments import Segment
from gateway.store.records import Disposition, HangupBy

VERSION = 1
Note = dict[str, object]


class NoteError(ValueError):
    """A note this version cannot read (another version, a missing or mistyped field)."""


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _segment(seg: Segment) -> dict[str, object]:
    return {
        "index": seg.index, "agent": seg.agent, "leg": seg.leg,
        "started_at": seg.started_at.isoformat(), "transfer": seg.transfer_id,
        "previous": seg.previous_agent, "rec": dict(seg.recordings), "closed": sorted(seg.closed),
    }  # fmt: skip


def to_note(s: CallSession, now_mono: float) -> Note:
    """The note for `s` (`now_mono`: to count the current hold's seconds so far)."""
    a = s.connected
    return {
        "v": VERSION,
        "call": s.call_id,
        "sip": s.sip_call_id,
        "did": s.did,
        "caller": s.caller,
        "name": s.caller_name,
        "trunk": s.trunk,
        "at": s.arrived_at.isoformat(),
        "queue": s.queue,
        "prio": s.priority,
        "pos": s.first_position,
        "phase": s.phase.value,
        "disp": s.disposition,
        "vm": s.voicemail_box,
        "agent": [a.leg, a.agent_id, a.queue_id] if a is not None else None,
        "rec": {r.value: path for r, path in s.recordings.items()},
        "closed": sorted(r.value for r in s.recordings_closed),
        "answered": _iso(s.answered_at),
        "hold": [s.hold.count, s.hold.total(now_mono), s.hold.source, s.hold.by],
        "seg": [_segment(seg) for seg in s.segments],
        "n": s.dialled,
        "by": s.hangup_by,
        "code": s.final_code,
    }


def _get(note: Note, key: str, kind: type | tuple[type, ...]) -> Any:
    value = note.get(key)
    if not isinstance(value, kind):
        raise NoteError(f"session note: {key!r} is {value!r}")
    return value


def _opt(note: Note, key: str, kind: type) -> Any:
    value = note.get(key)
    if value is not None and not isinstance(value, kind):
        raise NoteError(f"session note: {key!r} is {value!r}")
    return value


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value is not None else None
    except ValueError:
        raise NoteError(f"session note: bad time {value!r}") from None


def from_note(note: Note, *, worker_id: str, caller_leg: str, now_mono: float) -> CallSession:
    """The session a note describes, on `worker_id`'s `caller_leg` (raises NoteError). A
    hold in progress restarts at `now_mono` with the seconds it had."""
    if note.get("v") != VERSION:
        raise NoteError(f"session note: version {note.get('v')!r}, not {VERSION}")
    try:
        phase = Phase(_get(note, "phase", str))
    except ValueError:
        raise NoteError(f"session note: unknown phase {note.get('phase')!r}") from None
    arrived = _time(_get(note, "at", str))
    assert arrived is not None
    s = CallSession(
        call_id=_get(note, "call", str), sip_call_id=_get(note, "sip", str),
        worker_id=worker_id, caller_leg=caller_leg, did=_get(note, "did", str),
        caller=_get(note, "caller", str), trunk=_opt(note, "trunk", str), arrived_at=arrived,
        queue=_opt(note, "queue", str), priority=_get(note, "prio", int),
        first_position=_opt(note, "pos", int), phase=phase,
        disposition=cast(Disposition | None, _opt(note, "disp", str)),
        voicemail_box=_opt(note, "vm", str), caller_name=_opt(note, "name", str),
        answered_at=_time(_opt(note, "answered", str)),
        hangup_by=cast(HangupBy | None, _opt(note, "by", str)),
        dialled=_get(note, "n", int), final_code=_get(note, "code", int),
    )  # fmt: skip
    try:
        s.recordings = {Role(r): str(path) for r, path in _get(note, "rec", dict).items()}
        s.recordings_closed = {Role(r) for r in _get(note, "closed", list)}
    except ValueError:
        raise NoteError("session note: unknown recording role") from None
    if (agent := _opt(note, "agent", list)) is not None:
        leg, agent_id, queue_id = (str(x) for x in agent)
        s.connected = AgentLeg(leg, agent_id, queue_id, AgentLegState.ANSWERED, answered=True)
        s.agent_legs[leg] = s.connected
    count, seconds, source, by = _get(note, "hold", list)
    s.hold.count, s.hold.seconds = int(count), float(seconds)
    if phase is Phase.HELD:  # still held: the new process times the rest
        s.hold.since, s.hold.by = now_mono, by
        s.hold.source = cast(HoldSource, source or "api")
    for row in _get(note, "seg", list):
        started = _time(row["started_at"])
        assert started is not None
        s.segments.append(
            Segment(
                index=int(row["index"]), agent=str(row["agent"]), leg=str(row["leg"]),
                started_at=started, transfer_id=str(row["transfer"]),
                previous_agent=str(row["previous"]), recordings=dict(row["rec"]),
                closed=set(row["closed"]),
            )
        )  # fmt: skip
    return s
