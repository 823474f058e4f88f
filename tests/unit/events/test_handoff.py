"""The hand-off alone: memory is used only for the rows that follow what was sent."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.events.handoff import Handoff
from gateway.store.records import OutboxMessage

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def rows(*positions: int) -> list[OutboxMessage]:
    return [
        OutboxMessage("io.contactgw.call.queued", {"n": p}, T0, subject="c", position=p)
        for p in positions
    ]


def positions(taken: tuple[OutboxMessage, ...] | None) -> list[int | None] | None:
    return None if taken is None else [m.position for m in taken]


def live(after_table_read: int) -> Handoff:
    """Connected, and the table was read to position ``after_table_read``."""
    handoff = Handoff(capacity=5)
    handoff.reset(active=True)
    handoff.begin_table_read()
    assert handoff.take(after_table_read, 10) == ()
    return handoff


def test_a_new_connection_reads_the_table_first() -> None:
    handoff = Handoff()
    handoff.reset(active=True)
    handoff.committed(rows(1, 2))
    assert handoff.take(None, 10) is None  # dirty: the rows of an outage or a restart
    handoff.begin_table_read()
    assert handoff.take(None, 10) is None  # nothing known sent: no baseline yet
    assert positions(handoff.take(0, 10)) == [1, 2]


def test_consecutive_rows_come_from_memory_in_order_in_runs_of_limit() -> None:
    handoff = live(3)
    handoff.committed(rows(4, 5, 6))
    assert positions(handoff.take(3, 2)) == [4, 5]
    assert positions(handoff.take(5, 2)) == [6]
    assert handoff.take(6, 2) == ()


def test_a_gap_sends_the_publisher_to_the_table_and_memory_resumes_after_it() -> None:
    handoff = live(3)
    handoff.committed(rows(4, 6, 7))  # 5: another writer's row, or a rolled-back number
    assert positions(handoff.take(3, 10)) == [4]
    assert handoff.take(4, 10) is None
    handoff.begin_table_read()  # the read sent 5 and 6 and reached position 6
    assert positions(handoff.take(6, 10)) == [7]  # 6 dropped: sent from the table


def test_another_writers_commit_sends_it_to_the_table_even_without_a_gap() -> None:
    handoff = live(3)
    handoff.written()
    handoff.committed(rows(4))
    assert handoff.take(3, 10) is None
    handoff.begin_table_read()
    handoff.written()  # during the read: seen at the next take
    assert handoff.take(3, 10) is None


def test_overflow_drops_memory_and_falls_back_to_the_table() -> None:
    handoff = live(0)
    handoff.committed(rows(1, 2, 3))
    handoff.committed(rows(4, 5, 6))  # past capacity 5
    assert len(handoff) == 0 and handoff.overflows == 1
    assert handoff.take(0, 10) is None


def test_nothing_is_kept_while_disconnected() -> None:
    handoff = live(0)
    handoff.reset(active=False)
    handoff.committed(rows(1, 2))
    assert len(handoff) == 0
