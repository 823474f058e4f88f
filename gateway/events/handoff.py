"""The hand-off: events the write-behind has just committed, given to the publisher in
memory so it need not read them back from the outbox (docs/performance.md).

The outbox table stays the durable truth; memory only saves the SELECT. The publisher
takes from memory only what it can prove is the next thing in the table: a run of rows
whose positions follow, without a gap, the last position it sent or knows is published.
Anything else sends it to the table (:meth:`Handoff.take` returns None):

- nothing sent yet on this connection (a start, a reconnect after a broker outage);
- a gap before the first row held: another writer's row (EventWriter, the ORM stores),
  rows a retried batch had already committed, or a PostgreSQL sequence number a rolled
  back transaction used;
- ``dirty``: another writer said it committed events (:meth:`Handoff.written`), or the
  hand-off overflowed and dropped what it held.

Positions are commit order (gateway/store/outbox.py), so a table read that sees position
``high`` has seen every row up to it: after reading to the end, everything up to ``high``
is known, and memory can take over from ``high + 1``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from gateway.store.records import OutboxMessage

CAPACITY = 10_000  # events held at most; past it memory is dropped and the table read


class Handoff:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._rows: deque[OutboxMessage] = deque()
        self.dirty = True  # the table may hold rows memory does not: read it first
        self.active = False  # a connection is up; else nothing is kept (read at reconnect)
        self.overflows = 0

    def __len__(self) -> int:
        return len(self._rows)

    def committed(self, events: Iterable[OutboxMessage]) -> None:
        """Rows just committed by the write-behind, positions ascending."""
        if not self.active:
            return
        self._rows.extend(events)
        if len(self._rows) > self._capacity:
            self._rows.clear()
            self.dirty = True
            self.overflows += 1

    def written(self) -> None:
        """Another writer committed events memory does not hold."""
        self.dirty = True

    def reset(self, *, active: bool) -> None:
        """A connection starts (active) or ends: forget memory, read the table first."""
        self._rows.clear()
        self.dirty = True
        self.active = active

    def begin_table_read(self) -> None:
        """Called before a table read: a ``written()`` during the read stays seen."""
        self.dirty = False

    def take(self, after: int | None, limit: int) -> tuple[OutboxMessage, ...] | None:
        """The next rows past position ``after`` (at most ``limit``, consecutive), ``()``
        if memory holds none, or None if the table must be read first."""
        rows = self._rows
        if after is not None:
            while rows and rows[0].position is not None and rows[0].position <= after:
                rows.popleft()  # sent from the table already
        if self.dirty or after is None:
            return None
        if not rows:
            return ()
        if rows[0].position != after + 1:
            return None
        run = [rows.popleft()]
        while rows and len(run) < limit and rows[0].position == after + 1 + len(run):
            run.append(rows.popleft())
        return tuple(run)
