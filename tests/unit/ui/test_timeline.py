"""The player's timeline from a call record: order, offers with outcomes, holds."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gateway.store.records import CallRecord, OfferRecord
from gateway.ui.timeline import timeline
from tests.unit.api.rows import at

T0 = at(9)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def test_an_answered_call_after_a_missed_offer_with_a_hold() -> None:
    call_id = uuid.uuid4()
    call = CallRecord(
        call_id, "sip-1", T0, did="+15550100100", caller="+1555", queue="sales", agent="bob",
        answered_at=T0 + s(14.2), ended_at=T0 + s(80), disposition="answered",
        hangup_by="agent", wait_seconds=14.2,
    )  # fmt: skip
    offers = [
        OfferRecord(1, call_id, "alice", "sales", T0 + s(1), T0 + s(11), "no_answer", 408),
        OfferRecord(2, call_id, "bob", "sales", T0 + s(11), T0 + s(14.2), "answered", 200),
    ]
    steps = timeline(call, offers, holds=[(T0 + s(30), T0 + s(42))])
    assert [(x.kind, x.offset_seconds) for x in steps] == [
        ("arrived", 0), ("queued", 0), ("offered", 1), ("offered", 11), ("answered", 14.2),
        ("held", 30), ("ended", 80),
    ]  # fmt: skip
    texts = [x.text for x in steps]
    assert texts[0] == "Arrived from +1555 on +15550100100"
    assert texts[2] == "Offered to alice: not answered after 10 s (SIP 408)"
    assert texts[3] == "Offered to bob: answered after 3.2 s"
    assert texts[4] == "Answered by bob after 14 s"
    assert texts[5] == "Held for 12 s"
    assert texts[6] == "Ended: answered, hung up by agent"


def test_an_unrouted_call_has_no_queue_and_a_ringing_offer_says_so() -> None:
    call_id = uuid.uuid4()
    lost = CallRecord(call_id, "sip-2", T0, ended_at=T0 + s(2), disposition="unknown_did")
    assert [x.kind for x in timeline(lost, [])] == ["arrived", "ended"]
    assert timeline(lost, [])[0].text == "Arrived from an unknown caller"
    ringing = CallRecord(call_id, "sip-3", T0, queue="sales")
    offer = OfferRecord(1, call_id, "alice", "sales", T0 + s(1))
    assert timeline(ringing, [offer])[-1].text == "Offered to alice: still ringing"
