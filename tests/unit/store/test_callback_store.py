"""Callbacks on both backends: one per original call, the state machine with its
conflicts, events in the same transaction, filters in service order, and `active()`
putting an interrupted attempt back in line (what a restarted gateway rebuilds from).
The `callback` disposition passes the calls check; a bogus one still does not."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from gateway.events import catalogue as ce
from gateway.store import CdrStore, Database, OutboxStore
from gateway.store import callbacks as cb
from gateway.store.records import NotFoundError
from tests.unit.api.rows import add_call

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def task(
    arrived: datetime, queue: str = "sales", call_id: uuid.UUID | None = None
) -> cb.CallbackTask:
    return cb.CallbackTask(
        id=uuid.uuid4(), call_id=call_id or uuid.uuid4(), queue=queue, number="+4930123456",
        did="+4930999", priority=0, arrived_at=arrived, requested_at=arrived + timedelta(minutes=1),
    )  # fmt: skip


def requested(t: cb.CallbackTask) -> ce.CallbackRequested:
    return ce.CallbackRequested(str(t.id), str(t.call_id), t.queue, t.number, 1)


async def test_one_callback_per_call_and_its_event(db: Database) -> None:
    store = cb.CallbackStore(db)
    t = task(T0)
    await store.add(t, [requested(t)], T0)
    with pytest.raises(cb.CallbackConflict):
        await store.add(replace(t, id=uuid.uuid4()), [], T0)  # the same call again
    got = await store.get(t.id)
    assert (got.state, got.number, got.arrived_at, got.updated_at) == ("pending", t.number, T0, T0)
    events = await OutboxStore(db).pending()
    assert [e.type for e in events] == ["io.contactgw.callback.requested"]
    assert events[0].subject == str(t.call_id) and events[0].queue == "sales"
    with pytest.raises(NotFoundError):
        await store.get(uuid.uuid4())


async def test_moves_and_conflicts(db: Database) -> None:
    store = cb.CallbackStore(db)
    t = task(T0)
    await store.add(t, [], T0)
    out = uuid.uuid4()
    now = T0 + timedelta(minutes=5)
    after = await store.move(t.id, lambda x: cb.dialing(x, "alice", out, now), lambda x: [], now)
    assert (after.state, after.attempts, after.agent, after.outbound_call_id) == (
        "dialing", 1, "alice", out)  # fmt: skip
    with pytest.raises(cb.CallbackConflict):
        await store.move(t.id, lambda x: cb.cancel(x, "sup", now), lambda x: [], now)
    retry = now + timedelta(minutes=2)
    failed = ce.CallbackFailed(str(t.id), str(t.call_id), "sales", 1, "no-answer", 480, retry)
    after = await store.move(
        t.id, lambda x: cb.attempt_failed(x, "no-answer 480", retry, now), lambda x: [failed], now
    )
    assert (after.state, after.not_before, after.last_result) == ("pending", retry, "no-answer 480")
    later = retry + timedelta(hours=1)
    after = await store.move(t.id, lambda x: cb.reschedule(x, later, "sup", now), lambda x: [], now)
    assert (after.not_before, after.updated_by, after.arrived_at) == (later, "sup", T0)
    after = await store.move(t.id, lambda x: cb.cancel(x, "sup", now), lambda x: [], now)
    assert after.state == "cancelled"
    with pytest.raises(cb.CallbackConflict):
        await store.move(t.id, lambda x: cb.reschedule(x, later, "sup", now), lambda x: [], now)
    assert [e.type for e in await OutboxStore(db).pending()] == ["io.contactgw.callback.failed"]


async def test_search_in_service_order_and_active_after_restart(db: Database) -> None:
    store = cb.CallbackStore(db)
    late, early, other = task(T0 + timedelta(minutes=3)), task(T0), task(T0, queue="support")
    for t in (late, early, other):
        await store.add(t, [], T0)
    now = T0 + timedelta(minutes=10)
    await store.move(late.id, lambda x: cb.dialing(x, "bob", uuid.uuid4(), now), lambda x: [], now)
    await store.move(other.id, lambda x: cb.cancel(x, "sup", now), lambda x: [], now)
    everything = await store.search(cb.CallbackFilter())
    same_place = sorted([early.id, other.id])  # equal arrival: the id breaks the tie
    assert [x.id for x in everything] == [*same_place, late.id]
    sales = await store.search(cb.CallbackFilter(states=("pending", "dialing"), queue="sales"))
    assert [x.id for x in sales] == [early.id, late.id]
    assert await store.search(cb.CallbackFilter(since=now)) == []
    active = await store.active(now)
    assert [(x.id, x.state) for x in active] == [(early.id, "pending"), (late.id, "pending")]
    assert (await store.get(late.id)).last_result == "interrupted"
    assert (await store.get(late.id)).attempts == 1  # the cut-off attempt counts


async def test_callback_disposition_passes_the_check(db: Database) -> None:
    call_id = await add_call(CdrStore(db), T0, disposition="callback")
    assert call_id
    with pytest.raises(IntegrityError):
        await add_call(CdrStore(db), T0, disposition="bogus")  # type: ignore[arg-type]
