"""The ticket of one call, and how each call event changes it. Pure: no I/O, no clock.

Theory of operation: the gateway publishes every event at least once, in order per call
(`sequence` 1, 2, 3... per subject), but a redelivery or a replay can bring an event
twice or after a newer one. `apply(ticket, event)` therefore first asks whether the
event is new for this call: an `id` it has seen is a duplicate, a `sequence` not above
the last applied one is stale; both leave the ticket as it was (only remembering the
stale event's id). A new event of a type this consumer does not use is ignored, as the
event contract asks. Everything else updates the ticket through the one rule of its
type in `RULES`, and `call.completed`, the call's summary, closes it.

A ticket is opened by `call.received`, or by whatever event of the call comes first
when that one was missed (retention, a consumer started mid-call): it then lacks the
fields only `call.received` carries until `call.completed` fills them in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

PREFIX = "io.contactgw."
# Our subscription: <prefix>/call/# and <prefix>/recording/#; their subject is a call id.
CALL_KINDS = ("call.", "recording.")

Status = Literal["open", "closed"]
Outcome = Literal["applied", "duplicate", "stale", "ignored"]


class NotAnEvent(ValueError):
    """A message that is not one of the gateway's call CloudEvents."""


@dataclass(frozen=True, slots=True)
class CallEvent:
    """The parts of a CloudEvent a ticket needs (the rest stays in `data`)."""

    id: str
    type: str  # without the io.contactgw. prefix: "call.answered"
    call_id: str  # the CloudEvents subject
    sequence: int
    time: str  # RFC 3339
    data: Mapping[str, Any]


def parse(event: Mapping[str, Any]) -> CallEvent:
    """A decoded CloudEvents JSON object as a `CallEvent`, or `NotAnEvent`."""
    try:
        event_type, call_id, raw_sequence = event["type"], event["subject"], event["sequence"]
        parsed = CallEvent(
            id=str(event["id"]),
            type=str(event_type).removeprefix(PREFIX),
            call_id=str(call_id),
            # the CloudEvents sequence extension is a zero-padded string
            sequence=int(raw_sequence),
            time=str(event["time"]),
            data=event.get("data") or {},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise NotAnEvent(f"not a contactgw CloudEvent: {exc!r}") from exc
    if not str(event_type).startswith(PREFIX) or not parsed.type.startswith(CALL_KINDS):
        raise NotAnEvent(f"not a call event: {event_type!r}")
    return parsed


@dataclass(frozen=True, slots=True)
class Ticket:
    call_id: str
    status: Status = "open"
    opened_at: str | None = None  # when the call arrived
    closed_at: str | None = None  # the time of call.completed
    caller: str | None = None
    did: str | None = None
    trunk: str | None = None
    route: str | None = None
    queue: str | None = None  # the latest queue (after overflows)
    agent: str | None = None  # who answered (or was last offered the call)
    offers: int = 0
    failed_offers: int = 0
    answered_at: str | None = None
    abandoned: bool = False
    ended_at: str | None = None
    disposition: str | None = None
    hangup_by: str | None = None
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    wrapup_seconds: float | None = None
    recording_id: str | None = None
    recording_url: str | None = None
    notes: tuple[str, ...] = ()  # the call's story, one line per event applied
    last_sequence: int = 0
    seen: frozenset[str] = field(default=frozenset())  # ids of every event taken in


@dataclass(frozen=True, slots=True)
class Step:
    ticket: Ticket
    outcome: Outcome


def apply(ticket: Ticket | None, event: CallEvent) -> Step:
    """`ticket` (None: the call has none yet) after `event`."""
    current = ticket or Ticket(call_id=event.call_id)
    if event.id in current.seen:
        return Step(current, "duplicate")
    seen = current.seen | {event.id}
    if event.sequence <= current.last_sequence:
        return Step(dataclasses.replace(current, seen=seen), "stale")
    rule = RULES.get(event.type)
    if rule is None:  # a type we do not use, maybe newer than this consumer
        return Step(dataclasses.replace(current, seen=seen), "ignored")
    changes, note = rule(current, event.data, event.time)
    updated = dataclasses.replace(
        current,
        **changes,
        notes=(*current.notes, f"{event.time} {note}"),
        last_sequence=event.sequence,
        seen=seen,
    )
    return Step(updated, "applied")


# --------------------------------------------------------------------------- the rules
Rule = Callable[[Ticket, Mapping[str, Any], str], tuple[dict[str, Any], str]]


def _received(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    changes = _pick(d, "caller", "did", "trunk", "route", "queue")
    changes["opened_at"] = d.get("arrived_at") or at
    return changes, f"call from {d.get('caller') or 'unknown'} to {d.get('did')}"


def _queued(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    return _pick(d, "queue"), f"queued in {d.get('queue')} at position {d.get('position')}"


def _offered(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    return {**_pick(d, "agent"), "offers": t.offers + 1}, f"offered to {d.get('agent')}"


def _offer_failed(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    note = f"{d.get('agent')} did not take it ({d.get('reason')})"
    return {"failed_offers": t.failed_offers + 1}, note


def _answered(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    changes = {**_pick(d, "queue", "agent", "wait_seconds"), "answered_at": at}
    return changes, f"answered by {d.get('agent')} after {d.get('wait_seconds')} s"


def _abandoned(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    changes = {**_pick(d, "queue", "wait_seconds"), "abandoned": True}
    return changes, f"caller hung up after {d.get('wait_seconds')} s in {d.get('queue')}"


def _overflowed(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    note = f"moved from {d.get('from_queue')} to {d.get('queue')} ({d.get('reason')})"
    return _pick(d, "queue"), note


def _ended(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    changes = _pick(d, "disposition", "hangup_by", "ended_at")
    return changes, f"ended ({d.get('disposition')}, hung up by {d.get('hangup_by')})"


def _completed(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    summary = _pick(
        d,
        *("caller", "did", "trunk", "queue", "agent", "disposition", "hangup_by"),
        *("answered_at", "ended_at", "wait_seconds", "talk_seconds", "wrapup_seconds"),
        "recording_id",
    )
    changes = {**summary, "status": "closed", "closed_at": at}
    changes["opened_at"] = t.opened_at or d.get("arrived_at")
    return changes, f"closed: {d.get('disposition')}"


def _recording_ready(t: Ticket, d: Mapping[str, Any], at: str) -> tuple[dict[str, Any], str]:
    changes = {**_pick(d, "recording_id"), "recording_url": d.get("url")}
    return changes, f"recording ready: {d.get('url')}"


def _pick(data: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The named fields that `data` has (a value of null counts: the call has none)."""
    return {name: data[name] for name in names if name in data}


RULES: dict[str, Rule] = {
    "call.received": _received,
    "call.queued": _queued,
    "call.offered": _offered,
    "call.offer_failed": _offer_failed,
    "call.answered": _answered,
    "call.abandoned": _abandoned,
    "call.overflowed": _overflowed,
    "call.ended": _ended,
    "call.completed": _completed,
    "recording.ready": _recording_ready,
}
