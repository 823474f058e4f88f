"""The write-behind on both backends: per-call order across batches, retries that drop
nothing and write nothing twice, a poison write isolated, durations as the CDR derives them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa

from gateway.store import CdrStore, Database, OutboxMessage, OutboxStore
from gateway.store import write_ops as wo
from gateway.store.write_behind import WriteBehind, is_permanent

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(call_id: uuid.UUID, kind: str, seconds: float) -> tuple[OutboxMessage, ...]:
    return (
        OutboxMessage(
            type=f"io.contactgw.call.{kind}.v1",
            payload={"call_id": str(call_id), "kind": kind},
            created_at=at(seconds),
            subject=f"call/{call_id}",
        ),
    )


def call_life(call_id: uuid.UUID, t: float = 0.0) -> list[wo.WriteOp]:
    """Every kind of write of one call, in the order the driver hands them over."""
    return [
        wo.OpenCall(call_id, f"sip-{call_id}", at(t), did="+15550100100", caller="+1555",
                    trunk="sipp", worker="w1", queue="sales", events=event(call_id, "arrived", t)),
        wo.SetQueue(call_id, "support", events=event(call_id, "overflowed", t + 1)),
        wo.StartOffer(call_id, "bob", at(t + 2), queue="support"),
        wo.EndOffer(call_id, "bob", at(t + 2), "no_answer", at(t + 17), 487,
                    events=event(call_id, "offer_ended", t + 17)),
        wo.SetQueue(call_id, "vip"),
        wo.StartOffer(call_id, "alice", at(t + 17), queue="vip"),
        wo.Answered(call_id, "alice", at(t + 20), offered_at=at(t + 17),
                    events=event(call_id, "answered", t + 20)),
        wo.CloseCall(call_id, at(t + 80), "answered", hangup_by="caller", caller_sip_code=200,
                     agent_sip_code=200, rtp_quality={"caller": {"loss": 0.0}},
                     recording_stereo="/rec/x.wav", events=event(call_id, "ended", t + 80)),
    ]  # fmt: skip


class Sleeps:
    """An injected sleep: records each backoff and returns at once (no wall clock)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def failing(
    writer: WriteBehind, errors: list[BaseException], *, after_commit: bool = False
) -> None:
    """Make the next len(errors) batch writes raise (before, or after, committing)."""
    real = writer._write

    async def write(ops: list[wo.WriteOp], *, careful: bool) -> None:
        if errors and not after_commit:
            raise errors.pop(0)
        await real(ops, careful=careful)
        if errors:
            raise errors.pop(0)

    writer._write = write  # type: ignore[method-assign]


def locked() -> sa.OperationalError:
    import sqlite3

    return sa.OperationalError(
        "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
    )


async def assert_call_complete(db: Database, call_id: uuid.UUID, t: float = 0.0) -> None:
    cdr = CdrStore(db)
    record = await cdr.get_call(call_id)
    assert record is not None
    assert record.queue == "vip"  # the last of three: the updates kept their order
    assert (record.offered_at, record.answered_at, record.ended_at) == (
        at(t + 2),
        at(t + 20),
        at(t + 80),
    )
    assert (record.agent, record.disposition, record.wait_seconds, record.talk_seconds) == (
        "alice", "answered", 20.0, 60.0,
    )  # fmt: skip
    offers = [(o.agent, o.result, o.sip_code) for o in await cdr.offers(call_id)]
    assert offers == [("bob", "no_answer", 487), ("alice", "answered", 200)]
    events, _ = await OutboxStore(db).page(subject=f"call/{call_id}")
    assert [(e.payload["kind"], e.sequence) for e in events] == [
        ("arrived", 1), ("overflowed", 2), ("offer_ended", 3), ("answered", 4), ("ended", 5),
    ]  # fmt: skip


async def test_each_calls_order_holds_across_small_batches(db: Database) -> None:
    writer = WriteBehind(db, max_batch=3)
    calls = [uuid.uuid4() for _ in range(4)]
    lives = [call_life(c, t=i) for i, c in enumerate(calls)]
    for step in range(len(lives[0])):  # interleaved, as concurrent calls are
        for life in lives:
            writer.put(life[step])
    states = [wo.AgentState("alice", s, at(i), reason=None) for i, s in enumerate("abcdef")]
    for s in states:
        writer.put(s)
    await writer.start()
    await writer.drained()
    for i, call_id in enumerate(calls):
        await assert_call_complete(db, call_id, t=i)
    assert [s.state for s in await CdrStore(db).agent_states("alice")] == list("abcdef")
    # outbox positions follow the order the writes were handed over
    events, _ = await OutboxStore(db).page(limit=1000)
    handed = [e.id for life in zip(*lives, strict=True) for op in life for e in op.events]
    assert [e.id for e in events] == handed
    await writer.close(1)


async def test_a_failing_batch_is_retried_with_capped_backoff_not_dropped(db: Database) -> None:
    sleeps = Sleeps()
    writer = WriteBehind(db, backoff=(0.05, 0.4), sleep=sleeps)
    failing(writer, [locked() for _ in range(6)])
    call_id = uuid.uuid4()
    for op in call_life(call_id):
        writer.put(op)
    await writer.start()
    await writer.drained()
    assert sleeps.delays == [0.05, 0.1, 0.2, 0.4, 0.4, 0.4]
    assert writer.retries == 6 and writer.dead_letters == 0
    assert writer.last_error is not None and "database is locked" in writer.last_error
    await assert_call_complete(db, call_id)
    await writer.close(1)


async def test_a_batch_that_committed_before_its_error_is_not_written_twice(db: Database) -> None:
    """A connection lost during COMMIT: the outcome is unknown, the retry is careful."""
    writer = WriteBehind(db, sleep=Sleeps())
    failing(writer, [sa.InterfaceError("COMMIT", {}, ConnectionResetError())], after_commit=True)
    call_id = uuid.uuid4()
    for op in call_life(call_id):
        writer.put(op)
    writer.put(wo.AgentState("bob", "available", at(1), events=event(uuid.uuid4(), "agent", 1)))
    await writer.start()
    await writer.drained()
    assert writer.retries == 1
    await assert_call_complete(db, call_id)  # one row, one offer each, events once
    assert len(await CdrStore(db).agent_states("bob")) == 1
    assert len((await OutboxStore(db).page(limit=100))[0]) == 6
    await writer.close(1)


@pytest.mark.parametrize(
    "poison",
    [
        lambda: wo.StartOffer(uuid.uuid4(), "bob", at(3)),  # no such call: FOREIGN KEY
        lambda: wo.SetQueue(uuid.uuid4(), "sales"),  # no such call: nothing to update
        lambda: wo.AgentState("bob", "paused", datetime(2026, 3, 1, 9, 0)),  # naive time
    ],
    ids=["foreign-key", "no-row", "bad-value"],
)
async def test_a_poison_write_is_isolated_and_dead_lettered(
    db: Database, tmp_path: Path, poison: Callable[[], wo.WriteOp]
) -> None:
    dead: list[int] = []
    writer = WriteBehind(db, directory=tmp_path / "wb", on_dead_letter=lambda: dead.append(1))
    await writer.start()
    before, after = uuid.uuid4(), uuid.uuid4()
    for op in call_life(before):
        writer.put(op)
    bad = poison()
    writer.put(bad)
    for op in call_life(after):
        writer.put(op)
    await writer.drained()
    await assert_call_complete(db, before)
    await assert_call_complete(db, after)
    assert writer.dead_letters == 1 and dead == [1] and writer.retries == 0
    lines = (tmp_path / "wb" / "dead-letters.jsonl").read_text().splitlines()
    assert len(lines) == 1
    letter = wo.parse(lines[0])
    assert wo.from_dict(letter["op"]) == bad
    assert letter["reason"]
    await writer.close(1)


async def test_close_without_the_calls_earlier_writes_reads_the_durations(db: Database) -> None:
    """A close after a restart (the write-behind never saw the arrival) derives the same."""
    call_id = uuid.uuid4()
    first = WriteBehind(db)
    for op in call_life(call_id)[:-1]:
        first.put(op)
    await first.start()
    await first.drained()
    second = WriteBehind(db)
    second.put(call_life(call_id)[-1])
    await second.start()
    await second.drained()
    record = await CdrStore(db).get_call(call_id)
    assert record is not None and (record.wait_seconds, record.talk_seconds) == (20.0, 60.0)
    await assert_call_complete(db, call_id)
    for writer in (first, second):
        await writer.close(1)


async def test_a_closing_record_cancels_the_offers_whose_end_never_came(db: Database) -> None:
    """A control plane that died while an offer rang: its successor closes the call (it
    knows it from the worker's note) but never saw the offer, which must not stay open."""
    call_id = uuid.uuid4()
    life = call_life(call_id)
    first = WriteBehind(db)
    for op in life[:3]:  # arrived, overflowed, bob's phone rings; then the process dies
        first.put(op)
    await first.start()
    await first.drained()
    second = WriteBehind(db)
    second.put(wo.StartOffer(call_id, "alice", at(30), queue="support"))
    second.put(wo.Answered(call_id, "alice", at(31), offered_at=at(30)))
    second.put(life[-1])
    await second.start()
    await second.drained()
    offers = {(o.agent, o.result, o.ended_at) for o in await CdrStore(db).offers(call_id)}
    assert offers == {("bob", "cancelled", at(80)), ("alice", "answered", at(31))}
    for writer in (first, second):
        await writer.close(1)


async def test_pending_count_and_age_show_until_written(db: Database) -> None:
    now = [100.0]
    writer = WriteBehind(db, monotonic=lambda: now[0])
    assert (writer.pending(), writer.oldest_pending_seconds()) == (0, 0.0)
    for op in call_life(uuid.uuid4())[:2]:
        writer.put(op)
    now[0] = 112.5
    state = writer.state()
    assert (state.pending, state.oldest_pending_seconds) == (2, 12.5)
    await writer.start()
    await writer.drained()
    assert (writer.pending(), writer.oldest_pending_seconds()) == (0, 0.0)
    await writer.close(1)


def _pg_error(sqlstate: str) -> sa.DBAPIError:
    class PgError(Exception):
        pass

    orig: Any = PgError("x")
    orig.sqlstate = sqlstate
    return sa.DBAPIError("INSERT", {}, orig)


@pytest.mark.backends("sqlite")
def test_transient_and_permanent_errors_are_told_apart() -> None:
    import sqlite3

    transient = [
        locked(),
        sa.InterfaceError("x", {}, ConnectionResetError()),
        ConnectionRefusedError(),
        OSError("network unreachable"),
        TimeoutError(),
        _pg_error("57P01"),  # admin shutdown (PostgreSQL restarting)
        _pg_error("25006"),  # read-only transaction (failed over to a replica)
        _pg_error("08006"),  # connection failure
        _pg_error("55P03"),  # lock not available
    ]
    permanent = [
        sa.IntegrityError("x", {}, sqlite3.IntegrityError("FOREIGN KEY constraint failed")),
        sa.DataError("x", {}, Exception()),
        _pg_error("23505"),
        _pg_error("22P02"),
        sa.StatementError("bind", "x", {}, ValueError("naive datetime")),
        ValueError("naive datetime"),
    ]
    assert [is_permanent(e) for e in transient] == [False] * len(transient)
    assert [is_permanent(e) for e in permanent] == [True] * len(permanent)
