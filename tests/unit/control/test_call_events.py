"""The events a call writes to the outbox: which, in what order, with what data, in the
same transactions as the record changes they report."""

from __future__ import annotations

import uuid

from gateway.ipc import protocol as p
from gateway.store.records import OutboxMessage
from tests.unit.control.conftest import Rig, answered_call

L = p.LegState
CALL = "io.contactgw.call."


async def events_of(rig: Rig, subject: str) -> list[OutboxMessage]:
    page, _ = await rig.outbox.page(subject=subject, limit=1000)
    return page


async def test_an_answered_call_reports_its_whole_life_in_order(rig: Rig) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s, dial = answered_call(rig)
    rig.step(12.0)  # twelve seconds of conversation
    rig.event(p.RtpQuality(leg="w1-in-1", rx_packets=600, rx_loss=1, rx_jitter_ms=2.0,
                           tx_packets=600, tx_loss=0))  # fmt: skip
    rig.leg("w1-in-1", L.DISCONNECTED)
    rig.leg(str(dial.leg), L.DISCONNECTED)
    rig.step(15.0)  # recordings never closed here: finalise timeout (wrap-up is 5 s)
    await rig.settle()

    events = await events_of(rig, s.call_id)
    assert [e.type.removeprefix(CALL) for e in events] == [
        "received", "queued", "offered", "answered", "ended", "completed",
    ]  # fmt: skip
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5, 6]
    assert all(e.queue == "sales" for e in events)
    received, queued, offered, answered, ended, completed = (e.payload for e in events)
    assert (received["did"], received["caller"], received["route"]) == (
        "+15550100100", "+15551230000", "queue")  # fmt: skip
    assert (queued["position"], offered["agent"], offered["attempt"]) == (1, "alice", 1)
    assert answered["agent"] == "alice" and answered["wait_seconds"] == 0.0
    assert (ended["hangup_by"], ended["disposition"]) == ("caller", "answered")
    assert completed["talk_seconds"] == 12.0 and completed["wrapup_seconds"] == 5.0
    assert completed["agent_sip_code"] == 200 and completed["rtp_caller"]["rx_loss"] == 1
    assert completed["recording_id"] == s.call_id

    agent = [e.payload for e in await events_of(rig, "alice")]
    assert [(a["previous_state"], a["state"]) for a in agent] == [
        ("logged-out", "available"), ("available", "offered"), ("offered", "on-call"),
        ("on-call", "wrap-up"), ("wrap-up", "available"),
    ]  # fmt: skip
    assert agent[-1]["seconds_in_previous"] == 5.0 and agent[1]["call_id"] == s.call_id


async def test_a_no_answer_then_abandon_reports_the_failed_offer_and_the_positions(
    rig: Rig,
) -> None:
    rig.login()
    rig.incoming("+15550100100")
    await rig.settle()
    s = rig.session()
    (dial,) = rig.pool.of(p.Dial)
    rig.leg(str(dial.leg), L.DISCONNECTED, 486)
    await rig.settle()
    second = rig.pool.of(p.Dial)[-1]  # alice is rung again at once
    assert second.leg != dial.leg
    rig.step(3.0)
    rig.leg("w1-in-1", L.DISCONNECTED, 487)  # cancels the second ring
    rig.leg(str(second.leg), L.DISCONNECTED, 487)
    await rig.settle()
    events = await events_of(rig, s.call_id)
    types = [e.type.removeprefix(CALL) for e in events]
    assert types[:4] == ["received", "queued", "offered", "offer_failed"]
    failed = events[3].payload
    assert (failed["reason"], failed["sip_code"], failed["agent"]) == ("busy", 486, "alice")
    abandoned = next(e.payload for e in events if e.type == CALL + "abandoned")
    assert abandoned["original_position"] == 1 and abandoned["wait_seconds"] == 3.0
    assert types[4:] == ["offered", "offer_failed", "abandoned", "ended", "completed"]
    assert events[5].payload["reason"] == "cancelled"
    row = await rig.cdr.get_call(uuid.UUID(s.call_id))
    assert row is not None and row.disposition == events[-1].payload["disposition"]


async def test_an_unknown_number_reports_received_ended_completed(rig: Rig) -> None:
    rig.incoming("+15559990000")
    await rig.settle()
    s = rig.session()
    rig.leg("w1-in-1", L.DISCONNECTED, 404)
    await rig.settle()
    events = await events_of(rig, s.call_id)
    assert [e.type.removeprefix(CALL) for e in events] == ["received", "ended", "completed"]
    assert events[0].payload["route"] == "unknown" and events[0].queue is None
    assert events[2].payload["disposition"] == "unknown_did"
    assert rig.driver.calls_in_flight() == 0
