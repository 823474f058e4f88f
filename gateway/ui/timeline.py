"""A call's timeline from its record: what happened, when, relative to its arrival.

Queued is the arrival into the call's (last) queue: the record keeps no separate queue
entry time. Holds are shown when the caller passes them; the call record does not
keep them yet (nothing records a hold), so today's timelines have none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.store.records import CallRecord, OfferRecord

OUTCOMES = {
    "answered": "answered",
    "no_answer": "not answered",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "failed": "failed",
    None: "still ringing",
}


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # arrived, queued, offered, answered, held, ended
    at: datetime
    offset_seconds: float  # since the arrival
    text: str


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def _secs(value: float) -> str:
    """A duration for reading: tenths under 10 s (a phone answering in 0.3 s is not 0 s)."""
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def timeline(
    call: CallRecord,
    offers: Sequence[OfferRecord],
    holds: Sequence[tuple[datetime, datetime]] = (),
) -> list[Step]:
    start = call.arrived_at

    def step(kind: str, at: datetime, text: str) -> Step:
        return Step(kind, at, _seconds(start, at), text)

    steps = [step("arrived", start, f"Arrived from {call.caller or 'an unknown caller'}"
                  + (f" on {call.did}" if call.did else ""))]  # fmt: skip
    if call.queue:
        steps.append(step("queued", start, f"Queued in {call.queue}"))
    for offer in offers:
        outcome = OUTCOMES.get(offer.result, offer.result or "")
        ring = (
            f" after {_secs(_seconds(offer.offered_at, offer.ended_at))}" if offer.ended_at else ""
        )
        code = f" (SIP {offer.sip_code})" if offer.sip_code and offer.result != "answered" else ""
        steps.append(step("offered", offer.offered_at, f"Offered to {offer.agent}: {outcome}{ring}{code}"))  # fmt: skip
    if call.answered_at is not None:
        steps.append(step("answered", call.answered_at, f"Answered by {call.agent}"
                          + (f" after {_secs(call.wait_seconds)}" if call.wait_seconds is not None else "")))  # fmt: skip
    for held, resumed in holds:
        steps.append(step("held", held, f"Held for {_secs(_seconds(held, resumed))}"))
    if call.ended_at is not None:
        by = f", hung up by {call.hangup_by}" if call.hangup_by else ""
        steps.append(step("ended", call.ended_at, f"Ended: {call.disposition or 'unknown'}{by}"))
    order = {"arrived": 0, "queued": 1, "offered": 2, "answered": 3, "held": 4, "ended": 5}
    return sorted(steps, key=lambda s: (s.at, order[s.kind]))
