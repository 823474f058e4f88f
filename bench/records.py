"""Records bench: control-plane CPU per call of the record write path, before and after
the write-behind, against the raw Core insert floor measured in the same run.

Each synthetic call makes the writes the driver hands over for an answered call: open the
record, start an offer, answered (offer ends), close the record, and three agent-state
rows (offered, on call, wrap-up), with the events the driver attaches (7 per call, ~10
payload keys each). N calls run with C in flight, on a fresh SQLite file (WAL, the
gateway's own engine settings) per mode:

1. orm (before): what the driver did until the write-behind: each write its own
   transaction through CdrStore (the ORM), a call's writes one after the other, the agent
   state log on a chain of its own.
2. write-behind: the same writes as WriteBehind ops (one Core transaction per batch),
   with the journal (the gateway's setting) and without it (to show the journal's cost).
3. floor: the same rows (calls already closed, offers ended, states, events) as raw
   Core multi-row INSERTs in transactions of the same batch size — no updates, no
   ordering, nothing kept: the least SQLite and SQLAlchemy can do for these rows.

CPU is the whole process's (the event loop and aiosqlite's thread: both are the control
plane's), from the first write handed over to the last committed; rows/s over wall time.

    .venv/bin/python bench/records.py [--calls 2000] [--concurrency 64] [--repeat 3] [--json]

Each mode runs ``--repeat`` times, interleaved; the median run (by CPU) is shown. The
ORM mode runs on ``--calls / --orm-fraction`` calls (it is ~60x slower).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.store import CdrStore, Database, OutboxMessage, migrate
from gateway.store import write_ops as wo
from gateway.store.write_behind import WriteBehind
from gateway.store.write_sql import CALLS, OFFERS, STATES, insert_events

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EVENTS_PER_CALL = 7
ROWS_PER_CALL = 1 + 1 + 3 + EVENTS_PER_CALL  # call, offer, agent states, outbox


def _event(call_id: uuid.UUID, kind: str, at: datetime) -> tuple[OutboxMessage, ...]:
    payload = {
        "call_id": str(call_id), "queue": "sales", "did": "+15550100100",
        "caller": "+15551112222", "agent": "a17", "at": at.isoformat(), "kind": kind,
        "wait_seconds": 12.5, "worker": "w3", "reason": None,
    }  # fmt: skip
    return (OutboxMessage(f"io.contactgw.call.{kind}.v1", payload, at, subject=f"call/{call_id}"),)


def call_ops(i: int) -> tuple[list[wo.WriteOp], list[wo.AgentState]]:
    """One answered call's writes (record chain, agent-state chain)."""
    call_id, t = uuid.uuid4(), T0 + timedelta(seconds=i)
    agent = f"a{i % 64}"
    offered, answered, ended = (
        t + timedelta(seconds=5),
        t + timedelta(seconds=9),
        t + timedelta(seconds=99),
    )
    record: list[wo.WriteOp] = [
        wo.OpenCall(call_id, f"sip-{call_id}", t, did="+15550100100", caller="+15551112222",
                    trunk="sipp", worker="w3", queue="sales", events=_event(call_id, "arrived", t)),
        wo.StartOffer(call_id, agent, offered, queue="sales", events=_event(call_id, "offered", offered)),
        wo.Answered(call_id, agent, answered, offered_at=offered, events=_event(call_id, "answered", answered)),
        wo.CloseCall(call_id, ended, "answered", hangup_by="caller", caller_sip_code=200,
                     agent_sip_code=200, rtp_quality={"caller": {"loss": 0.0, "jitter_ms": 1.5}},
                     recording_stereo=f"/rec/{call_id}.wav", recording_caller=f"/rec/{call_id}-c.wav",
                     recording_agent=f"/rec/{call_id}-a.wav",
                     events=(*_event(call_id, "recording_ready", ended), *_event(call_id, "ended", ended))),
    ]  # fmt: skip
    states = [
        wo.AgentState(agent, state, at, events=_event(call_id, f"agent_{state}", at))
        for state, at in (("offered", offered), ("on-call", answered), ("wrap-up", ended))
    ]
    return record, states


async def _fresh(directory: Path, name: str) -> Database:
    url = f"sqlite+aiosqlite:///{directory / name / 'contactgw.db'}"
    await migrate(url)
    return Database.open(url)


async def _orm(
    db: Database, calls: list[tuple[list[wo.WriteOp], list[wo.AgentState]]], c: int
) -> None:
    cdr = CdrStore(db)
    gate = asyncio.Semaphore(c)
    state_chain: asyncio.Lock = asyncio.Lock()  # the old agent-state Sequencer: one at a time

    async def state(s: wo.AgentState) -> None:
        async with state_chain:
            await cdr.record_agent_state(agent=s.agent, state=s.state, at=s.at, events=s.events)

    async def one(record: list[wo.WriteOp], states: list[wo.AgentState]) -> None:
        async with gate:
            pending = []
            offer_id = 0
            for op in record:
                match op:
                    case wo.OpenCall():
                        await cdr.record_call_arrived(
                            call_id=op.call_id, sip_call_id=op.sip_call_id, arrived_at=op.arrived_at,
                            did=op.did, caller=op.caller, trunk=op.trunk, worker=op.worker,
                            queue=op.queue, events=op.events)  # fmt: skip
                    case wo.StartOffer():
                        offer_id = await cdr.record_offer(call_id=op.call_id, agent=op.agent,
                            offered_at=op.offered_at, queue=op.queue, events=op.events)  # fmt: skip
                        pending.append(asyncio.ensure_future(state(states[0])))
                    case wo.Answered():
                        await cdr.record_answered(call_id=op.call_id, agent=op.agent,
                            answered_at=op.answered_at, offer_id=offer_id, events=op.events)  # fmt: skip
                        pending.append(asyncio.ensure_future(state(states[1])))
                    case wo.CloseCall():
                        await cdr.record_ended(call_id=op.call_id, ended_at=op.ended_at,
                            disposition=op.disposition, hangup_by=op.hangup_by,
                            caller_sip_code=op.caller_sip_code, agent_sip_code=op.agent_sip_code,
                            rtp_quality=op.rtp_quality, recording_stereo=op.recording_stereo,
                            recording_caller=op.recording_caller,
                            recording_agent=op.recording_agent, events=op.events)  # fmt: skip
                        pending.append(asyncio.ensure_future(state(states[2])))
            await asyncio.gather(*pending)

    await asyncio.gather(*(one(r, s) for r, s in calls))


def _write_behind(journal: Path | None) -> Callable[[Database, list[tuple[list[wo.WriteOp], list[wo.AgentState]]], int], Awaitable[None]]:  # fmt: skip
    async def run(db: Database, calls: list[tuple[list[wo.WriteOp], list[wo.AgentState]]], c: int) -> None:  # fmt: skip
        writer = WriteBehind(db, directory=journal)
        await writer.start()
        # hand the writes over as calls would: C calls in flight, each step on the loop
        for start in range(0, len(calls), c):
            group = calls[start : start + c]
            for step in range(4):
                for record, states in group:
                    writer.put(record[step])
                    if step:
                        writer.put(states[step - 1])
                await asyncio.sleep(0)
        await writer.drained()
        await writer.close(5)

    return run


async def _floor(db: Database, calls: list[tuple[list[wo.WriteOp], list[wo.AgentState]]], _c: int) -> None:  # fmt: skip
    batch = 500 // (ROWS_PER_CALL - EVENTS_PER_CALL + 4)  # ~ the write-behind's batch of ops
    for start in range(0, len(calls), batch):
        group = calls[start : start + batch]
        call_rows, offer_rows, state_rows, events = [], [], [], []
        for record, states in group:
            opened, offer, answered, closed = record
            assert isinstance(opened, wo.OpenCall) and isinstance(offer, wo.StartOffer)
            assert isinstance(answered, wo.Answered) and isinstance(closed, wo.CloseCall)
            call_rows.append({
                "id": opened.call_id, "sip_call_id": opened.sip_call_id, "arrived_at": opened.arrived_at,
                "did": opened.did, "caller": opened.caller, "trunk": opened.trunk, "worker": opened.worker,
                "queue": opened.queue, "offered_at": offer.offered_at, "answered_at": answered.answered_at,
                "agent": answered.agent, "ended_at": closed.ended_at, "disposition": closed.disposition,
                "hangup_by": closed.hangup_by, "caller_sip_code": 200, "agent_sip_code": 200,
                "rtp_quality": dict(closed.rtp_quality or {}), "recording_stereo": closed.recording_stereo,
                "recording_caller": closed.recording_caller, "recording_agent": closed.recording_agent,
                "wait_seconds": 9.0, "talk_seconds": 90.0})  # fmt: skip
            offer_rows.append({"call_id": offer.call_id, "agent": offer.agent, "queue": offer.queue,
                               "offered_at": offer.offered_at, "ended_at": answered.answered_at,
                               "result": "answered", "sip_code": 200})  # fmt: skip
            state_rows += [
                {"agent": s.agent, "state": s.state, "at": s.at, "reason": None} for s in states
            ]
            events += [e for op in (*record, *states) for e in op.events]
        async with db.engine.begin() as conn:
            await conn.execute(CALLS.insert(), call_rows)
            await conn.execute(OFFERS.insert(), offer_rows)
            await conn.execute(STATES.insert(), state_rows)
            await insert_events(conn, events)


async def measure(
    name: str, mode: Callable[[Database, list[tuple[list[wo.WriteOp], list[wo.AgentState]]], int], Awaitable[None]],
    directory: Path, n: int, c: int,
) -> dict[str, float]:  # fmt: skip
    db = await _fresh(directory, name)
    calls = [call_ops(i) for i in range(n)]  # built before the clock starts
    cpu, wall = time.process_time(), time.perf_counter()
    await mode(db, calls, c)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await db.close()
    return {"cpu_ms_per_call": 1000 * cpu / n, "rows_per_s": n * ROWS_PER_CALL / wall,
            "wall_s": wall}  # fmt: skip


async def run(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="contactgw-records-") as tmp:
        directory = Path(tmp)
        modes = {
            "floor (raw Core inserts)": _floor,
            "write-behind, journal": _write_behind(directory / "journal"),
            "write-behind, no journal": _write_behind(None),
            "orm per write (before)": _orm,
        }
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in modes}
        for r in range(args.repeat):  # interleaved, so a noisy moment hits every mode alike
            for i, (name, mode) in enumerate(modes.items()):
                n = args.calls if "before" not in name else max(1, args.calls // args.orm_fraction)
                run = await measure(f"r{r}m{i}", mode, directory, n, args.concurrency)
                runs[name].append({**run, "calls": n})
        # the median run by CPU
        return {
            name: sorted(rs, key=lambda x: x["cpu_ms_per_call"])[len(rs) // 2]
            for name, rs in runs.items()
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode (median shown)")
    parser.add_argument("--orm-fraction", type=int, default=6,
                        help="run the slow ORM mode on calls / this many")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    floor = results["floor (raw Core inserts)"]["cpu_ms_per_call"]
    print(f"{'mode':28} {'calls':>6} {'CPU ms/call':>12} {'x floor':>8} {'rows/s':>9}")
    for name, r in results.items():
        print(f"{name:28} {int(r['calls']):6d} {r['cpu_ms_per_call']:12.2f} "
              f"{r['cpu_ms_per_call'] / floor:8.2f} {r['rows_per_s']:9.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
