"""Queue and agent statistics from hand-built rows where every figure is known (see
gateway/store/stats.py for the definitions)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.store import CdrStore, Database
from gateway.store.stats import InvalidRange, StatsStore
from tests.unit.api.rows import add_call, add_queue, add_states, at


async def queue_rows(db: Database) -> None:
    """sales (sl 15 s, short abandon 4 s) and support (not configured: 20 s, 5 s)."""
    cdr = CdrStore(db)
    await add_queue(db, "sales", sl_threshold=15.0, short_abandon=4.0)
    # 10:00-11:00 in sales
    await add_call(cdr, at(10, 0), answered=10, ended=130, agent="alice")  # wait 10, talk 120
    await add_call(cdr, at(10, 10), answered=30, ended=90, agent="bob")  # wait 30, talk 60
    await add_call(cdr, at(10, 20), disposition="abandoned", ended=3)  # short
    await add_call(cdr, at(10, 30), disposition="abandoned_ringing", ended=40)
    await add_call(cdr, at(10, 40), disposition="overflow", ended=60)
    # 11:00-12:00 in sales, no wrap-up logged
    await add_call(cdr, at(11, 5), answered=5, ended=65, agent="alice")
    # support, default thresholds: a wait of 18 s is within its 20 s
    await add_call(cdr, at(10, 15), queue="support", answered=18, ended=78, agent="bob")
    # not counted: before the range, no queue
    await add_call(cdr, at(9, 59, 59), answered=1, ended=2, agent="alice")
    await add_call(cdr, at(10, 50), queue=None, disposition="unknown_did", ended=1)
    # wrap-up spans: alice 15 s after c1, bob 5 s after c2
    await add_states(cdr, "alice", [(at(10, 0, 10), "on-call", None),
                                    (at(10, 2, 10), "wrap-up", None),
                                    (at(10, 2, 25), "available", None)])  # fmt: skip
    await add_states(cdr, "bob", [(at(10, 10, 30), "on-call", None),
                                  (at(10, 11, 30), "wrap-up", None),
                                  (at(10, 11, 35), "available", None)])  # fmt: skip


async def test_queue_stats_per_hour(db: Database) -> None:
    await queue_rows(db)
    items = await StatsStore(db).queue_stats(at(10), at(12), "hour")
    assert [(i.queue, i.start, i.end) for i in items] == [
        ("sales", at(10), at(11)),
        ("sales", at(11), at(12)),
        ("support", at(10), at(11)),
    ]
    s10, s11, sup = items
    assert (s10.sl_threshold, s10.short_abandon) == (15.0, 4.0)
    assert (s10.received, s10.answered, s10.abandoned, s10.short_abandoned, s10.overflowed) == (
        5, 2, 1, 1, 1,
    )  # fmt: skip
    assert s10.answered_within_sl == 1 and s10.service_level == 0.5
    assert s10.asa_seconds == 20.0
    assert (s10.talk_seconds, s10.wrapup_seconds) == (180.0, 20.0)
    assert s10.aht_seconds == 100.0  # ((120 + 15) + (60 + 5)) / 2
    assert s10.longest_wait_seconds == 60.0
    assert (s11.received, s11.answered, s11.service_level, s11.asa_seconds) == (1, 1, 1.0, 5.0)
    assert s11.aht_seconds == 60.0 and s11.longest_wait_seconds == 5.0
    assert (sup.sl_threshold, sup.short_abandon) == (20.0, 5.0)
    assert (sup.received, sup.service_level, sup.aht_seconds) == (1, 1.0, 60.0)


async def test_queue_stats_per_day_filtered_and_clipped(db: Database) -> None:
    await queue_rows(db)
    (day,) = await StatsStore(db).queue_stats(at(10), at(12), "day", queue="sales")
    assert (day.start, day.end) == (at(10), at(12))  # the UTC day, clipped to the range
    assert (day.received, day.answered, day.answered_within_sl) == (6, 3, 2)
    assert day.service_level == pytest.approx(2 / 3)
    assert day.asa_seconds == 15.0
    assert day.aht_seconds == pytest.approx((135 + 65 + 60) / 3)


async def test_queue_stats_of_an_empty_range_and_unanswered_ratios(db: Database) -> None:
    cdr = CdrStore(db)
    await add_call(cdr, at(10), disposition="abandoned", ended=30)
    assert await StatsStore(db).queue_stats(at(12), at(13), "hour") == []
    (only,) = await StatsStore(db).queue_stats(at(10), at(11), "hour")
    assert (only.service_level, only.asa_seconds, only.aht_seconds) == (None, None, None)
    assert (only.abandoned, only.longest_wait_seconds) == (1, 30.0)


async def agent_rows(db: Database) -> None:
    cdr = CdrStore(db)
    await add_states(cdr, "alice", [
        (at(8, 50), "available", None),
        (at(9, 50), "paused", "break"),
        (at(10, 10), "available", None),
        (at(10, 20), "offered", None),
        (at(10, 20, 10), "on-call", None),
        (at(10, 25, 10), "wrap-up", None),
        (at(10, 25, 40), "available", None),
        (at(10, 50), "paused", "lunch"),
        (at(11, 20), "available", None),
        (at(11, 40), "logged-out", None),
    ])  # fmt: skip
    await add_states(cdr, "bob", [(at(8), "logged-out", None)])
    await add_states(cdr, "carol", [(at(11, 30), "available", None)])
    await add_call(cdr, at(10, 20), answered=10, ended=310, agent="alice")


async def test_agent_stats_per_hour_from_clipped_spans(db: Database) -> None:
    await agent_rows(db)
    items = await StatsStore(db).agent_stats(at(9), at(12), "hour", now=at(13))
    assert [(i.agent, i.start) for i in items] == [
        ("alice", at(9)),
        ("alice", at(10)),
        ("alice", at(11)),
        ("carol", at(11)),
    ]  # fmt: skip  (bob was logged out throughout)
    a9, a10, a11, carol = items
    assert (a9.logged_in_seconds, a9.available_seconds, a9.pause_seconds) == (3600, 3000, 600)
    assert a9.pause_by_reason == {"break": 600} and a9.calls_answered == 0
    assert a10.logged_in_seconds == 3600
    assert (a10.available_seconds, a10.ringing_seconds, a10.talk_seconds) == (2060, 10, 300)
    assert (a10.wrapup_seconds, a10.pause_seconds) == (30, 1200)
    assert a10.pause_by_reason == {"break": 600, "lunch": 600}
    assert a10.calls_answered == 1
    assert (a11.logged_in_seconds, a11.pause_by_reason) == (2400, {"lunch": 1200})
    assert carol.logged_in_seconds == 1800


async def test_agent_stats_stop_at_now_and_by_day_and_agent(db: Database) -> None:
    await agent_rows(db)
    stats = StatsStore(db)
    items = await stats.agent_stats(at(11), at(12), "hour", now=at(11, 50))
    assert [(i.agent, i.logged_in_seconds) for i in items] == [("alice", 2400), ("carol", 1200)]
    (day,) = await stats.agent_stats(at(9), at(12), "day", now=at(13), agent="alice")
    assert (day.start, day.end) == (at(9), at(12))
    assert (day.logged_in_seconds, day.pause_seconds, day.calls_answered) == (9600, 3000, 1)


async def test_a_range_must_be_ordered_and_bounded(db: Database) -> None:
    stats = StatsStore(db)
    with pytest.raises(InvalidRange, match="before"):
        await stats.queue_stats(at(12), at(10), "hour")
    with pytest.raises(InvalidRange, match="366"):
        await stats.agent_stats(at(0), at(0) + timedelta(days=400), "day", now=at(0))
