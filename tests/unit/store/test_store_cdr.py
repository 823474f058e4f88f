"""The call record through a call's life, offers, agent states and the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.store import CdrStore, Database, NotFoundError, OutboxMessage, OutboxStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def arrive(cdr: CdrStore, **overrides: object) -> uuid.UUID:
    call_id = uuid.uuid4()
    fields: dict[str, object] = {
        "sip_call_id": f"sip-{call_id}",
        "arrived_at": T0,
        "did": "+15550100100",
        "caller": "+15551112222",
        "trunk": "sipp",
        "worker": "w1",
        "queue": "sales",
    }
    fields.update(overrides)
    await cdr.record_call_arrived(call_id=call_id, **fields)  # type: ignore[arg-type]
    return call_id


async def test_answered_call_after_a_no_answer(db: Database) -> None:
    cdr = CdrStore(db)
    call_id = await arrive(cdr)
    first = await cdr.record_offer(call_id=call_id, agent="bob", offered_at=at(2))
    await cdr.record_offer_ended(offer_id=first, result="no_answer", ended_at=at(17), sip_code=487)
    second = await cdr.record_offer(call_id=call_id, agent="alice", offered_at=at(17))
    await cdr.record_answered(call_id=call_id, agent="alice", answered_at=at(20), offer_id=second)
    record = await cdr.record_ended(
        call_id=call_id,
        ended_at=at(80),
        disposition="answered",
        hangup_by="caller",
        caller_sip_code=200,
        agent_sip_code=200,
        rtp_quality={"caller": {"loss": 0.0, "jitter_ms": 2.5}},
        recording_stereo="/rec/x.wav",
        recording_caller="/rec/x-caller.wav",
        recording_agent="/rec/x-agent.wav",
    )

    stored = await cdr.get_call(call_id)
    assert stored == record
    assert stored is not None
    assert (stored.recording_stereo, stored.recording_caller, stored.recording_agent) == (
        "/rec/x.wav",
        "/rec/x-caller.wav",
        "/rec/x-agent.wav",
    )
    assert (stored.offered_at, stored.answered_at, stored.ended_at) == (at(2), at(20), at(80))
    assert (stored.agent, stored.disposition, stored.hangup_by) == ("alice", "answered", "caller")
    assert (stored.wait_seconds, stored.talk_seconds) == (20.0, 60.0)
    assert stored.rtp_quality == {"caller": {"loss": 0.0, "jitter_ms": 2.5}}
    assert stored.arrived_at.tzinfo is UTC
    offers = await cdr.offers(call_id)
    assert [(o.agent, o.result, o.sip_code, o.queue) for o in offers] == [
        ("bob", "no_answer", 487, "sales"),
        ("alice", "answered", 200, "sales"),
    ]


async def test_abandoned_while_queued_has_a_wait_and_no_talk(db: Database) -> None:
    cdr = CdrStore(db)
    call_id = await arrive(cdr)
    record = await cdr.record_ended(
        call_id=call_id, ended_at=at(45), disposition="abandoned", hangup_by="caller"
    )
    assert (record.wait_seconds, record.talk_seconds, record.agent) == (45.0, None, None)


async def test_unknown_did_never_queued_has_no_wait(db: Database) -> None:
    cdr = CdrStore(db)
    call_id = await arrive(cdr, queue=None, did="+15559999999")
    record = await cdr.record_ended(
        call_id=call_id,
        ended_at=at(6),
        disposition="unknown_did",
        hangup_by="system",
        caller_sip_code=200,
    )
    assert (record.disposition, record.wait_seconds, record.queue) == ("unknown_did", None, None)


async def test_overflow_moves_the_call_to_the_last_queue(db: Database) -> None:
    cdr = CdrStore(db)
    call_id = await arrive(cdr)
    await cdr.record_queued(call_id=call_id, queue="support")
    record = await cdr.record_ended(call_id=call_id, ended_at=at(300), disposition="overflow")
    assert record.queue == "support"


async def test_calls_are_listed_newest_first_and_filtered(db: Database) -> None:
    cdr = CdrStore(db)
    first = await arrive(cdr, arrived_at=at(0))
    second = await arrive(cdr, arrived_at=at(10), queue="support")
    assert [c.id for c in await cdr.calls()] == [second, first]
    assert [c.id for c in await cdr.calls(queue="sales")] == [first]
    assert [c.id for c in await cdr.calls(since=at(5))] == [second]


async def test_unknown_ids_raise_not_found(db: Database) -> None:
    cdr = CdrStore(db)
    with pytest.raises(NotFoundError):
        await cdr.record_ended(call_id=uuid.uuid4(), ended_at=T0, disposition="failed")
    with pytest.raises(NotFoundError):
        await cdr.record_offer_ended(offer_id=999, result="cancelled", ended_at=T0)
    assert await cdr.get_call(uuid.uuid4()) is None


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        await arrive(CdrStore(db), arrived_at=datetime(2026, 3, 1, 9, 0))


async def test_agent_state_log(db: Database) -> None:
    cdr = CdrStore(db)
    for seconds, state in ((0, "available"), (5, "offered"), (8, "on-call"), (68, "wrap-up")):
        await cdr.record_agent_state(agent="alice", state=state, at=at(seconds))
    await cdr.record_agent_state(agent="bob", state="paused", at=at(1), reason="lunch")
    assert [s.state for s in await cdr.agent_states("alice")] == [
        "available",
        "offered",
        "on-call",
        "wrap-up",
    ]
    assert [s.state for s in await cdr.agent_states("alice", since=at(6))] == ["on-call", "wrap-up"]
    assert [(s.state, s.reason) for s in await cdr.agent_states("bob")] == [("paused", "lunch")]


async def test_events_are_written_with_the_change_and_published_once(db: Database) -> None:
    cdr, outbox = CdrStore(db), OutboxStore(db)
    event = OutboxMessage(
        type="contactgw.call.arrived", subject="call/1", payload={"did": "+1"}, created_at=T0
    )
    call_id = await arrive(cdr)
    await cdr.record_queued(call_id=call_id, queue="sales", events=[event])
    assert [e.id for e in await outbox.pending()] == [event.id]
    assert await outbox.mark_published([event.id], at(1)) == 1
    assert await outbox.mark_published([event.id], at(2)) == 0
    assert await outbox.pending() == ()
    assert await outbox.purge_published(before=at(1)) == 0
    assert await outbox.purge_published(before=at(2)) == 0  # the subject's newest stays
    await outbox.add([OutboxMessage(type="t", subject="call/1", payload={}, created_at=T0)])
    assert await outbox.purge_published(before=at(2)) == 1


async def test_events_are_rolled_back_with_a_failed_change(db: Database) -> None:
    cdr, outbox = CdrStore(db), OutboxStore(db)
    event = OutboxMessage(type="contactgw.call.queued", payload={}, created_at=T0)
    with pytest.raises(NotFoundError):
        await cdr.record_queued(call_id=uuid.uuid4(), queue="sales", events=[event])
    assert await outbox.pending() == ()


async def test_pending_events_come_in_write_order(db: Database) -> None:
    """Position (insert) order, not created_at: a clock step back must not reorder."""
    outbox = OutboxStore(db)
    first = OutboxMessage(type="b", payload={"n": 2}, created_at=at(2))
    second = OutboxMessage(type="a", payload={"n": 1}, created_at=at(1))
    await outbox.add([first, second])
    pending = await outbox.pending()
    assert [(e.type, e.payload, e.created_at) for e in pending] == [
        ("b", {"n": 2}, at(2)),
        ("a", {"n": 1}, at(1)),
    ]
