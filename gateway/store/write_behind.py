"""Write-behind of call records, agent-state rows and their events: batched, ordered, kept.

The control plane hands over typed operations (write_ops.py) with :meth:`WriteBehind.put`,
which returns at once. One flusher task takes what is pending (at most ``max_batch``, in
arrival order, so each call's writes keep their order) and writes it in ONE transaction
with Core statements (write_sql.py). Events go in the same transaction as the change
they report, as before.

Failures (how they are told apart, :func:`is_permanent`):

- *transient* — the database is locked, down, restarting, failing over, or the
  connection broke (``OperationalError``, ``InterfaceError``, connection errors, any
  PostgreSQL SQLSTATE outside the classes below, anything unknown): the batch stays,
  is retried with capped exponential backoff, forever. Nothing is dropped. A retry is
  ``careful`` (the failed attempt may have committed): rows already there are skipped.
- *permanent* — the write itself is wrong and would fail again (``IntegrityError``,
  ``DataError``, ``ProgrammingError``, PostgreSQL SQLSTATE classes 22/23/42, a value
  that cannot be bound, a row to update that does not exist): the batch is retried one
  op at a time, so only the bad op fails; it goes to the dead-letter file with the
  reason, and is counted. The others go in.

The events publisher takes what a batch inserted into the outbox from memory
(``on_committed``, with positions) and hands back what the broker acknowledged
(:meth:`WriteBehind.mark_published`): the marks go into the next batch's transaction, so
publishing an event costs no read and no transaction of its own. Marks are not
journaled: one lost to a crash means the event is sent again (at least once).

Restart safety: ops are journaled when handed over (write_journal.py; SIGKILL-safe)
and replayed first at the next start; on a clean stop :meth:`close` flushes for a
bounded time and leaves the rest in the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import exc as sa

from gateway.store.engine import Database
from gateway.store.outbox import OutboxStore
from gateway.store.records import OutboxMessage, StoreError
from gateway.store.write_journal import Journal
from gateway.store.write_ops import (
    Answered,
    CloseCall,
    EmitEvents,
    OpenCall,
    SetQueue,
    WriteOp,
    as_dict,
    dumps,
    durations,
)
from gateway.store.write_sql import mark_published, write_batch

log = logging.getLogger(__name__)

# The journal survives a killed process without fsync (the kernel has each line); fsync
# covers a machine crash, as often as SQLite's own WAL with synchronous=NORMAL does
SYNC_EVERY_S = 1.0

# PostgreSQL SQLSTATE classes that a retry cannot fix: data exception, integrity
# constraint violation, syntax error or access rule violation
_PERMANENT_SQLSTATE = ("22", "23", "42")


def is_permanent(error: BaseException) -> bool:
    """True for an error of the write itself (retrying cannot help), False for one of
    the database or the connection (retry)."""
    if isinstance(error, sa.DBAPIError):
        if error.connection_invalidated:
            return False
        if isinstance(error, sa.IntegrityError | sa.DataError | sa.ProgrammingError):
            return True
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(
            getattr(error.orig, "__cause__", None), "sqlstate", None
        )
        return isinstance(sqlstate, str) and sqlstate[:2] in _PERMANENT_SQLSTATE
    if isinstance(error, sa.StatementError):  # a parameter that cannot be bound
        return True
    return isinstance(error, StoreError | TypeError | ValueError | KeyError)


@dataclass(slots=True)
class _Entry:
    n: int
    op: WriteOp
    since: float  # monotonic time it was handed over
    careful: bool = False


@dataclass(slots=True)
class _Mark:
    ids: list[uuid.UUID]
    at: datetime
    done: asyncio.Future[None]


class WriteBehindClosed(StoreError):
    """Marks handed over after, or left at, :meth:`WriteBehind.close`."""


@dataclass(frozen=True, slots=True)
class WriteBehindState:
    pending: int
    oldest_pending_seconds: float
    retries: int
    dead_letters: int
    last_error: str | None
    last_error_at: datetime | None


class WriteBehind:
    def __init__(
        self,
        db: Database,
        *,
        directory: Path | None = None,
        max_batch: int = 500,
        backoff: tuple[float, float] = (0.05, 5.0),
        on_events: Callable[[], None] = lambda: None,
        on_committed: Callable[[Sequence[OutboxMessage]], None] = lambda events: None,
        on_retry: Callable[[], None] = lambda: None,
        on_dead_letter: Callable[[], None] = lambda: None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``directory`` holds the journal and the dead-letter file (None: in memory
        only, for tests and tools; a crash then loses what is pending). After each
        commit that inserted events, ``on_committed`` gets them as stored, then
        ``on_events`` is called."""
        self._db, self._dir, self._max_batch = db, directory, max_batch
        self._backoff = backoff
        self._on_events, self._on_retry, self._on_dead = on_events, on_retry, on_dead_letter
        self._on_committed = on_committed
        self._marks: list[_Mark] = []  # events to mark published in the next batch
        self._closed = False
        self._sleep, self._monotonic = sleep, monotonic
        self._pending: deque[_Entry] = deque()
        self._wake = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._task: asyncio.Task[None] | None = None
        self._journal: Journal | None = None
        self._n = 0
        self._synced = -SYNC_EVERY_S  # monotonic time of the journal's last fsync
        # arrival, answer, queued: to derive a closing call's durations without a read
        self._facts: dict[object, tuple[datetime, datetime | None, bool]] = {}
        self.retries = self.dead_letters = 0
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self._failing = False  # since the last commit

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> int:
        """Open the journal and queue what a previous run left (first); start the
        flusher. Returns how many writes were replayed."""
        replayed: list[WriteOp] = []
        if self._dir is not None:
            self._journal, replayed = Journal.open(self._dir / "journal.jsonl")
        for op in replayed:
            self._queue(op, careful=True)
        self._ensure_flusher()
        return len(replayed)

    async def close(self, timeout: float) -> int:
        """Flush for at most ``timeout`` s, stop; returns how many writes are left (kept
        in the journal for the next start)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._empty.wait(), timeout)
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._fail_marks(WriteBehindClosed("the write-behind is closed"))
        left = len(self._pending)
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if left:
            log.warning("write-behind: %d writes not yet in the database; kept for the next "
                        "start%s", left, "" if self._dir else " (NO journal: lost)")  # fmt: skip
        return left

    @property
    def closed(self) -> bool:
        return self._closed

    async def drained(self) -> None:
        """Until nothing is pending (tests, shutdown)."""
        await self._empty.wait()

    # ------------------------------------------------------------------ handing over
    def put(self, op: WriteOp) -> None:
        """Take ``op``; it is written soon, in order after every op put before it."""
        op = self._derive(op)
        entry = self._queue(op)
        if self._journal is not None:
            self._journal.append(entry.n, op)
        self._ensure_flusher()

    def mark_published(self, ids: Sequence[uuid.UUID], at: datetime) -> asyncio.Future[None]:
        """Mark these events published in the next batch; the future is done when that
        committed (or failed with :class:`WriteBehindClosed`: the caller marks them)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            done.set_exception(WriteBehindClosed("the write-behind is closed"))
            return done
        self._marks.append(_Mark(list(ids), at, done))
        self._empty.clear()
        self._wake.set()
        self._ensure_flusher()
        return done

    def _fail_marks(self, error: BaseException) -> None:
        marks, self._marks = self._marks, []
        for mark in marks:  # the publisher marks them itself
            if not mark.done.done():
                mark.done.set_exception(error)
        if not self._pending:
            self._empty.set()

    def _queue(self, op: WriteOp, *, careful: bool = False) -> _Entry:
        self._n += 1
        entry = _Entry(self._n, op, self._monotonic(), careful)
        self._pending.append(entry)
        self._empty.clear()
        self._wake.set()
        return entry

    def _derive(self, op: WriteOp) -> WriteOp:
        facts = self._facts
        match op:
            case OpenCall():
                facts[op.call_id] = (op.arrived_at, None, op.queue is not None)
            case SetQueue() if op.call_id in facts:
                arrived, answered, _ = facts[op.call_id]
                facts[op.call_id] = (arrived, answered, True)
            case Answered() if op.call_id in facts:
                arrived, _, queued = facts[op.call_id]
                facts[op.call_id] = (arrived, op.answered_at, queued)
            case CloseCall() if not op.derived and op.call_id in facts:
                arrived, answered, queued = facts.pop(op.call_id)
                wait, talk = durations(arrived, answered, queued, op.ended_at)
                return replace(op, wait_seconds=wait, talk_seconds=talk, derived=True)
        return op

    def _ensure_flusher(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flusher())

    # ------------------------------------------------------------------ state
    def state(self) -> WriteBehindState:
        return WriteBehindState(
            pending=len(self._pending),
            oldest_pending_seconds=self.oldest_pending_seconds(),
            retries=self.retries,
            dead_letters=self.dead_letters,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
        )

    def pending(self) -> int:
        return len(self._pending)

    def oldest_pending_seconds(self) -> float:
        if not self._pending:
            return 0.0
        return max(0.0, self._monotonic() - self._pending[0].since)

    # ------------------------------------------------------------------ the flusher
    async def _flusher(self) -> None:
        delay = self._backoff[0]
        while True:
            if not self._pending and not self._marks:
                self._empty.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._pending[i] for i in range(min(self._max_batch, len(self._pending)))]
            if (
                batch
                and self._journal is not None
                and self._monotonic() - self._synced >= SYNC_EVERY_S
            ):
                self._synced = self._monotonic()
                await asyncio.to_thread(self._journal.sync)
            try:
                await self._write([e.op for e in batch], careful=any(e.careful for e in batch))
            except Exception as error:  # noqa: BLE001 - sorted below, never dropped
                if is_permanent(error) and not batch:  # the marks: back to the publisher
                    self._fail_marks(error)
                    continue
                if is_permanent(error):
                    await self._isolate(batch)
                    delay = self._backoff[0]
                    continue
                for e in batch:
                    e.careful = True
                self._failed(error, len(batch))
                await self._sleep(delay)
                delay = min(delay * 2, self._backoff[1])
                continue
            delay = self._backoff[0]
            if batch:
                self._committed(batch)

    async def _write(self, ops: list[WriteOp], *, careful: bool) -> None:
        """One transaction: ``ops``, then the marks handed over so far."""
        marks = list(self._marks)
        async with self._db.engine.begin() as conn:
            events = await write_batch(conn, ops, careful=careful)
            if marks:
                await mark_published(conn, [(m.ids, m.at) for m in marks])
        del self._marks[: len(marks)]  # only appended to meanwhile
        for mark in marks:
            if not mark.done.done():
                mark.done.set_result(None)
        if events:
            self._on_committed(events)

    async def _isolate(self, batch: list[_Entry]) -> None:
        """One op at a time: the bad one goes to the dead letters, the rest go in."""
        delay = self._backoff[0]
        for entry in batch:
            while True:
                try:
                    await self._write([entry.op], careful=True)
                except Exception as error:  # noqa: BLE001
                    if is_permanent(error):
                        self._dead_letter(entry, error)
                        break
                    self._failed(error, 1)
                    await self._sleep(delay)
                    delay = min(delay * 2, self._backoff[1])
                    continue
                self._committed([entry])
                break

    def _committed(self, batch: list[_Entry]) -> None:
        for _ in batch:
            self._pending.popleft()
        if self._failing:
            self._failing = False
            log.warning("write-behind: writing again (%d still pending)", len(self._pending))
        if self._journal is not None:
            self._journal.done(batch[-1].n, nothing_pending=not self._pending)
            if self._pending and self._journal.oversized:
                self._journal.compact([(e.n, e.op) for e in self._pending])
        if not self._pending and not self._marks:
            self._empty.set()
        if any(e.op.events for e in batch):
            self._on_events()

    def _failed(self, error: BaseException, count: int) -> None:
        first, self._failing = not self._failing, True
        self.retries += 1
        self.last_error = _describe(error)
        self.last_error_at = datetime.now(UTC)
        self._on_retry()
        level = logging.WARNING if first or self.retries % 100 == 0 else logging.DEBUG
        log.log(level, "write-behind: %d writes pending, batch of %d not written (retry %d): %s",
                len(self._pending), count, self.retries, self.last_error)  # fmt: skip

    def _dead_letter(self, entry: _Entry, error: BaseException) -> None:
        reason = _describe(error)
        log.error("write-behind: %s can never be written, kept as a dead letter: %s",
                  type(entry.op).__name__, reason)  # fmt: skip
        if self._dir is not None:
            line = dumps({"at": datetime.now(UTC), "reason": reason, "op": as_dict(entry.op)})
            fd = os.open(self._dir / "dead-letters.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        self.dead_letters += 1
        self.last_error, self.last_error_at = reason, datetime.now(UTC)
        self._on_dead()
        self._committed([entry])


class WriteBehindOutbox(OutboxStore):
    """The outbox whose ``add`` (events with no change of their own: a worker up, a
    queue alert) goes through the write-behind: journaled, written in its next batch
    and so published from memory, not read back. Once the write-behind is closed (the
    daemon's last steps) it writes them itself, as OutboxStore does."""

    def __init__(self, db: Database, writes: WriteBehind) -> None:
        super().__init__(db)
        self._writes = writes

    async def add(self, events: Sequence[OutboxMessage]) -> None:
        if self._writes.closed:
            await super().add(events)
        else:
            self._writes.put(EmitEvents(tuple(events)))


def _describe(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:300]
