"""Hold in the statistics (issue 11): per queue and per agent, from hand-built rows with
the record's hold_count/hold_seconds, every figure known."""

from __future__ import annotations

import uuid

from acd import events as ev
from acd.engine import Engine
from acd.model import QueueConfig
from gateway.api.v1.wallboard_feed import TodayCounts
from gateway.api.views import DayCount, Wallboard
from gateway.control.alerts import AlertTracker
from gateway.control.wallboard import Sources, build_wallboard
from gateway.store import CdrStore, Database
from gateway.store.models import Call
from gateway.store.stats import StatsStore
from tests.support.clock import ManualClock
from tests.unit.api.rows import add_call, add_states, at


async def held(db: Database, call_id: uuid.UUID, count: int, seconds: float) -> None:
    """What the in-call desk's close writes (docs/in-call.md)."""
    async with db.transaction() as session:
        row = await session.get(Call, call_id)
        assert row is not None
        row.hold_count, row.hold_seconds = count, seconds


async def hold_rows(db: Database) -> None:
    cdr = CdrStore(db)
    # 10:00-11:00 sales: alice holds twice (30 s), bob once (10 s), one call never held
    await held(db, await add_call(cdr, at(10, 0), answered=5, ended=300, agent="alice"), 2, 30.0)
    await held(db, await add_call(cdr, at(10, 10), answered=5, ended=200, agent="bob"), 1, 10.0)
    await add_call(cdr, at(10, 20), answered=5, ended=100, agent="alice")
    # a held count of 0 (a row written before migration 0011 has null) is no hold
    await held(db, await add_call(cdr, at(10, 30), answered=5, ended=60, agent="bob"), 0, 0.0)
    # 11:00-12:00: alice once, 20 s
    await held(db, await add_call(cdr, at(11, 0), answered=5, ended=90, agent="alice"), 1, 20.0)
    for who in ("alice", "bob"):
        await add_states(cdr, who, [(at(9, 0), "available", None)])


async def test_hold_per_queue_and_interval(db: Database) -> None:
    await hold_rows(db)
    h10, h11 = await StatsStore(db).queue_stats(at(10), at(12), "hour")
    assert (h10.answered, h10.held, h10.hold_count, h10.hold_seconds) == (4, 2, 3, 40.0)
    assert h10.avg_hold_seconds == 20.0  # 40 s over the 2 calls held
    assert (h11.held, h11.hold_count, h11.hold_seconds, h11.avg_hold_seconds) == (1, 1, 20.0, 20.0)
    (day,) = await StatsStore(db).queue_stats(at(10), at(12), "day")
    assert (day.held, day.hold_count, day.hold_seconds) == (3, 4, 60.0)
    assert day.avg_hold_seconds == 20.0


async def test_hold_per_agent_counts_for_the_agent_that_answered(db: Database) -> None:
    await hold_rows(db)
    items = await StatsStore(db).agent_stats(at(10), at(12), "hour", now=at(12))
    by = {(i.agent, i.start.hour): i for i in items}
    alice10, bob10, alice11 = by[("alice", 10)], by[("bob", 10)], by[("alice", 11)]
    assert (alice10.calls_answered, alice10.held, alice10.hold_count) == (2, 1, 2)
    assert (alice10.hold_seconds, alice10.avg_hold_seconds) == (30.0, 30.0)
    assert (bob10.calls_answered, bob10.held, bob10.hold_seconds, bob10.avg_hold_seconds) == (
        2, 1, 10.0, 10.0)  # fmt: skip
    assert (alice11.held, alice11.hold_seconds) == (1, 20.0)
    bob11 = by[("bob", 11)]  # logged in, nothing answered: no hold, no average
    assert (bob11.held, bob11.hold_count, bob11.hold_seconds, bob11.avg_hold_seconds) == (
        0, 0, 0.0, None)  # fmt: skip


def wallboard(today: dict[str, DayCount] | None) -> Wallboard:
    """The real wallboard builder over an engine with the sales queue."""
    engine, clock = Engine(), ManualClock()
    engine.handle(ev.AddQueue(QueueConfig("sales")), clock.now().mono)
    src = Sources(engine, AlertTracker(dict), {}, {}, lambda _: None, 3600.0, today)
    return build_wallboard(src, clock.now())


async def test_the_wallboards_avg_hold_today_comes_from_the_days_records(db: Database) -> None:
    await hold_rows(db)
    today = TodayCounts(StatsStore(db), refresh=0.0, wall=lambda: at(12))
    counts = await today.get()
    assert counts == {"sales": DayCount(answered=5, within_sl=5, held=3, hold_seconds=60.0)}
    (queue,) = wallboard(counts).queues
    assert queue.avg_hold_seconds_today == 20.0
    (none,) = wallboard({"sales": DayCount(2, 2)}).queues
    assert none.avg_hold_seconds_today is None  # nothing held today: no average
