"""DID → queue resolution: ``resolve(request_uri, to_uri, table, now) -> RouteDecision``.

Theory of operation:

1. Both the Request-URI and the To user parts are normalised to E.164; the first one
   found in the table's DIDs wins (some trunks put their account name or number in
   the Request-URI and the DID in To).
2. No match: the table's default route applies.  A default *queue* is resolved like a
   matched DID (``ToQueue.fallback`` says why); an announcement gives ``Unknown``.
3. The queue's schedule is checked at ``now``.  Closed with ``ToOtherQueue`` follows
   the chain (each queue's own schedule applies; ``closed_from`` records the path);
   a terminal closed action gives ``Closed``.  When the call is re-routed, the DID's
   priority and tags are kept but its skills are dropped: they belong to the first
   queue's agents.

Bad data never raises here; only a naive ``now`` does (a programming error).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from routing.numbers import NumberStatus, ParsedNumber, dialled_candidates
from routing.schedule import ClosedReason, as_utc
from routing.table import Announce, DidRoute, RoutingTable, ToOtherQueue, Voicemail

__all__ = ["Closed", "RouteDecision", "ToQueue", "Unknown", "UnknownReason", "resolve"]


class UnknownReason(Enum):
    NO_NUMBER = "no-number"  # neither URI carries a number
    INVALID_NUMBER = "invalid-number"  # something number-like that is not a number
    UNKNOWN_DID = "unknown-did"  # a fine number that is not in the table


@dataclass(frozen=True, slots=True)
class ToQueue:
    """Queue the call.  ``fallback`` is set when the default route was used."""

    queue: str
    did_e164: str | None
    priority: int = 0
    skills: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    fallback: UnknownReason | None = None
    closed_from: tuple[str, ...] = ()  # queues that were closed on the way here


@dataclass(frozen=True, slots=True)
class Closed:
    """The queue is closed; carry out ``action``.  ``reopens_at`` is UTC or None."""

    queue: str
    action: Announce | Voicemail
    reason: ClosedReason
    did_e164: str | None = None
    holiday: str = ""
    reopens_at: datetime | None = None
    closed_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unknown:
    """No route: play the default announcement and hang up.

    ``did`` is the E.164 number when there was a valid one, else the raw user part.
    """

    did: str | None
    reason: UnknownReason
    action: Announce
    detail: str = ""


RouteDecision = ToQueue | Closed | Unknown


def resolve(
    request_uri: str | None,
    to_uri: str | None,
    table: RoutingTable,
    now: datetime | float,
) -> RouteDecision:
    """Decide where an incoming call goes; see the module docstring."""
    instant = as_utc(now)
    candidates = dialled_candidates(request_uri, to_uri, table.region, strict=table.strict_numbers)
    for parsed in candidates:
        if parsed.e164 is not None and parsed.e164 in table.dids:
            did = table.dids[parsed.e164]
            return _to_queue(table, did.queue, did, parsed.e164, instant, fallback=None)
    reason, did_text, detail = _why_unmatched(candidates)
    default = table.default_route
    if isinstance(default, ToOtherQueue):
        e164 = did_text if reason is UnknownReason.UNKNOWN_DID else None
        return _to_queue(table, default.queue, None, e164, instant, fallback=reason)
    return Unknown(did_text, reason, default, detail)


def _why_unmatched(
    candidates: tuple[ParsedNumber, ...],
) -> tuple[UnknownReason, str | None, str]:
    for parsed in candidates:
        if parsed.status is NumberStatus.OK:
            return UnknownReason.UNKNOWN_DID, parsed.e164, "not in the DID table"
    for parsed in candidates:
        if parsed.status is NumberStatus.INVALID:
            return UnknownReason.INVALID_NUMBER, parsed.raw, parsed.reason
    raw = next((p.raw for p in candidates if p.raw), None)
    return UnknownReason.NO_NUMBER, raw, "no number in Request-URI or To"


def _to_queue(
    table: RoutingTable,
    queue: str,
    did: DidRoute | None,
    e164: str | None,
    instant: datetime,
    *,
    fallback: UnknownReason | None,
) -> ToQueue | Closed:
    priority = did.priority if did else 0
    tags = did.tags if did else frozenset()
    visited: list[str] = []
    while True:
        routing = table.queues.get(queue)
        # a queue without routing data has no schedule: always open
        schedule = routing.schedule if routing else None
        state = schedule.state_now(instant) if schedule else None
        if state is None or state.is_open:
            skills = did.skills if did and not visited else frozenset()
            return ToQueue(queue, e164, priority, skills, tags, fallback, tuple(visited))
        assert routing is not None and schedule is not None
        action = routing.closed_action
        if isinstance(action, ToOtherQueue) and action.queue not in visited + [queue]:
            visited.append(queue)
            queue = action.queue
            continue
        terminal = action if not isinstance(action, ToOtherQueue) else Announce()  # cycle
        return Closed(
            queue,
            terminal,
            state.reason or ClosedReason.OUTSIDE_HOURS,
            e164,
            state.holiday,
            schedule.next_change(instant),
            tuple(visited),
        )
