"""The write-behind's journal: what a killed or stopped control plane had pending is
written by the next one, first and once."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import pytest

from gateway.store import CdrStore, Database, OutboxStore, write_journal
from gateway.store import write_ops as wo
from gateway.store.write_behind import WriteBehind
from gateway.store.write_journal import Journal
from tests.unit.store.test_write_behind import Sleeps, assert_call_complete, at, call_life

JOURNAL = "journal.jsonl"


def unusable(tmp_path: Path) -> Database:
    """A database with no tables: every write fails (no such table) and is kept."""
    return Database.open(f"sqlite+aiosqlite:///{tmp_path / 'empty' / 'x.db'}")


async def test_a_killed_writers_pending_writes_are_replayed_by_the_next(
    db: Database, tmp_path: Path
) -> None:
    directory = tmp_path / "wb"
    broken = unusable(tmp_path)
    first = WriteBehind(broken, directory=directory, sleep=Sleeps())
    await first.start()
    call_id = uuid.uuid4()
    for op in call_life(call_id):
        first.put(op)
    first.put(wo.AgentState("bob", "available", at(1)))
    while first.retries < 3:  # it keeps them and retries
        await asyncio.sleep(0)
    assert first.pending() == 9
    # SIGKILL: no close, no flush, no fsync; what write(2) handed the kernel is there
    assert first._task is not None
    first._task.cancel()
    await broken.close()

    second = WriteBehind(db, directory=directory)
    assert await second.start() == 9
    await second.drained()
    await assert_call_complete(db, call_id)
    assert len(await CdrStore(db).agent_states("bob")) == 1
    assert (directory / JOURNAL).read_text() == ""  # nothing pending: the journal is empty
    await second.close(1)


async def test_replaying_writes_that_had_committed_duplicates_nothing(
    db: Database, tmp_path: Path
) -> None:
    """The batch committed, then the process died before its journal entry was cleared."""
    directory = tmp_path / "wb"
    first = WriteBehind(db, directory=directory)
    await first.start()
    call_id = uuid.uuid4()
    for op in call_life(call_id):
        first.put(op)
    first.put(wo.AgentState("bob", "available", at(1), events=call_life(uuid.uuid4())[0].events))
    saved = tmp_path / "saved.jsonl"
    shutil.copy(directory / JOURNAL, saved)  # as it was before the commit
    await first.drained()
    await first.close(1)
    shutil.copy(saved, directory / JOURNAL)

    second = WriteBehind(db, directory=directory)
    assert await second.start() == 9
    await second.drained()
    await assert_call_complete(db, call_id)
    assert len(await CdrStore(db).agent_states("bob")) == 1
    assert len((await OutboxStore(db).page(limit=100))[0]) == 6
    await second.close(1)


async def test_a_clean_stop_keeps_what_it_could_not_write(db: Database, tmp_path: Path) -> None:
    directory = tmp_path / "wb"
    broken = unusable(tmp_path)
    first = WriteBehind(broken, directory=directory, sleep=Sleeps())
    await first.start()
    call_id = uuid.uuid4()
    for op in call_life(call_id):
        first.put(op)
    assert await first.close(timeout=0.05) == 8  # bounded: gives up, keeps them
    await broken.close()

    second = WriteBehind(db, directory=directory)
    assert await second.start() == 8
    second.put(wo.AgentState("bob", "paused", at(90)))  # new writes go after the replayed
    await second.drained()
    await assert_call_complete(db, call_id)
    assert [s.state for s in await CdrStore(db).agent_states("bob")] == ["paused"]
    await second.close(1)


async def test_a_torn_last_line_is_skipped(db: Database, tmp_path: Path) -> None:
    directory = tmp_path / "wb"
    directory.mkdir()
    call_id = uuid.uuid4()
    opened = call_life(call_id)[0]
    line = wo.dumps({"n": 1, "op": wo.as_dict(opened)})
    torn = wo.dumps({"n": 2, "op": wo.as_dict(call_life(call_id)[1])})[:40]
    (directory / JOURNAL).write_text(line + "\n" + torn)

    writer = WriteBehind(db, directory=directory)
    assert await writer.start() == 1
    await writer.drained()
    record = await CdrStore(db).get_call(call_id)
    assert record is not None and record.queue == "sales"
    await writer.close(1)


def test_every_operation_survives_the_journal_format() -> None:
    for op in (*call_life(uuid.uuid4()), wo.AgentState("a", "b", at(0), reason="lunch")):
        assert wo.from_dict(wo.parse(wo.dumps(wo.as_dict(op)))) == op


def test_a_large_journal_is_compacted_to_the_pending_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops = call_life(uuid.uuid4())
    journal, _ = Journal.open(tmp_path / JOURNAL)
    for n, op in enumerate(ops[:5], 1):
        journal.append(n, op)
    journal.done(2, nothing_pending=False)
    assert not journal.oversized
    monkeypatch.setattr(write_journal, "COMPACT_BYTES", 1)
    assert journal.oversized
    journal.compact([(n, op) for n, op in enumerate(ops[:5], 1) if n > 2])
    journal.append(6, ops[5])  # appends go on after the rewrite
    journal.close()
    assert len((tmp_path / JOURNAL).read_text().splitlines()) == 4
    _, pending = Journal.open(tmp_path / JOURNAL)
    assert pending == ops[2:6]
