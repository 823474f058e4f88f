"""One batch of write operations as SQLAlchemy Core statements in the caller's transaction.

The statements are built once (bound parameters, so SQLAlchemy's compiled cache hits)
and run in an order that gives the same result as applying the ops one by one:
new call rows first (multi-row), then new offers (multi-row; they reference calls), then
each row update in arrival order, then agent-state rows (multi-row), then the events in
arrival order (one multi-row INSERT: positions follow it). The transaction makes the
batch all-or-nothing.

``careful`` is for a batch that may have been applied before (a replay from the
journal, or a retry after an error that may have hit the COMMIT): rows already there
under their natural key are skipped, so nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.models import AgentStateLog, Call, CallOffer, Outbox
from gateway.store.records import NotFoundError, OutboxMessage
from gateway.store.write_ops import (
    AgentState,
    Answered,
    CloseCall,
    EndOffer,
    OpenCall,
    SetQueue,
    StartOffer,
    WriteOp,
    durations,
)

CALLS = cast(Table, Call.__table__)
OFFERS = cast(Table, CallOffer.__table__)
STATES = cast(Table, AgentStateLog.__table__)
OUTBOX = cast(Table, Outbox.__table__)

_SET_QUEUE = update(CALLS).where(CALLS.c.id == bindparam("b_id")).values(queue=bindparam("b_q"))
_SET_OFFERED = (
    update(CALLS)
    .where(CALLS.c.id == bindparam("b_id"), CALLS.c.offered_at.is_(None))
    .values(offered_at=bindparam("b_at"))
)
_OFFER_KEY = (
    OFFERS.c.call_id == bindparam("b_id"),
    OFFERS.c.agent == bindparam("b_agent"),
    OFFERS.c.offered_at == bindparam("b_offered"),
)
_END_OFFER = (
    update(OFFERS)
    .where(*_OFFER_KEY)
    .values(result=bindparam("b_result"), ended_at=bindparam("b_at"), sip_code=bindparam("b_code"))
)
_ANSWER = (
    update(CALLS)
    .where(CALLS.c.id == bindparam("b_id"))
    .values(agent=bindparam("b_agent"), answered_at=bindparam("b_at"))
)
_CLOSE_COLUMNS = (
    "ended_at", "disposition", "hangup_by", "caller_sip_code", "agent_sip_code", "rtp_quality",
    "recording_stereo", "recording_caller", "recording_agent", "wait_seconds", "talk_seconds",
)  # fmt: skip
_CLOSE = (
    update(CALLS)
    .where(CALLS.c.id == bindparam("b_id"))
    .values({c: bindparam(f"b_{c}") for c in _CLOSE_COLUMNS})
)
_FACTS = select(CALLS.c.arrived_at, CALLS.c.answered_at, CALLS.c.queue).where(
    CALLS.c.id == bindparam("b_id")
)


def _insert_ignoring_duplicates(conn: AsyncConnection, table: Table) -> Any:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=["id"])


def _changed(result: Any, what: str) -> None:
    if result.rowcount == 0:
        raise NotFoundError(what)


async def write_batch(conn: AsyncConnection, ops: Sequence[WriteOp], *, careful: bool) -> None:
    """Apply ``ops`` (in arrival order) in ``conn``'s transaction; raise on any failure."""
    opens = [op for op in ops if isinstance(op, OpenCall)]
    if opens:
        await conn.execute(
            _insert_ignoring_duplicates(conn, CALLS),
            [
                {"id": o.call_id, "sip_call_id": o.sip_call_id, "arrived_at": o.arrived_at,
                 "did": o.did, "caller": o.caller, "trunk": o.trunk, "worker": o.worker,
                 "queue": o.queue}
                for o in opens
            ],
        )  # fmt: skip
    offers = [op for op in ops if isinstance(op, StartOffer)]
    if careful and offers:
        offers = await _new_offers(conn, offers)
    if offers:
        await conn.execute(
            OFFERS.insert(),
            [
                {"call_id": o.call_id, "agent": o.agent, "queue": o.queue,
                 "offered_at": o.offered_at}
                for o in offers
            ],
        )  # fmt: skip
    for op in ops:
        await _update(conn, op)
    states = [op for op in ops if isinstance(op, AgentState)]
    if careful and states:
        states = await _new_states(conn, states)
    if states:
        await conn.execute(
            STATES.insert(),
            [{"agent": s.agent, "state": s.state, "reason": s.reason, "at": s.at} for s in states],
        )
    events = [e for op in ops for e in op.events]
    if events:
        await insert_events(conn, events, careful=careful)


async def _update(conn: AsyncConnection, op: WriteOp) -> None:
    match op:
        case SetQueue():
            result = await conn.execute(_SET_QUEUE, {"b_id": op.call_id, "b_q": op.queue})
            _changed(result, f"no call {op.call_id}")
        case StartOffer():
            await conn.execute(_SET_OFFERED, {"b_id": op.call_id, "b_at": op.offered_at})
        case EndOffer():
            result = await conn.execute(
                _END_OFFER,
                {"b_id": op.call_id, "b_agent": op.agent, "b_offered": op.offered_at,
                 "b_result": op.result, "b_at": op.ended_at, "b_code": op.sip_code},
            )  # fmt: skip
            _changed(result, f"no offer of call {op.call_id} to {op.agent} at {op.offered_at}")
        case Answered():
            result = await conn.execute(
                _ANSWER, {"b_id": op.call_id, "b_agent": op.agent, "b_at": op.answered_at}
            )
            _changed(result, f"no call {op.call_id}")
            if op.offered_at is not None:
                result = await conn.execute(
                    _END_OFFER,
                    {"b_id": op.call_id, "b_agent": op.agent, "b_offered": op.offered_at,
                     "b_result": "answered", "b_at": op.answered_at, "b_code": 200},
                )  # fmt: skip
                _changed(result, f"no offer of call {op.call_id} to {op.agent}")
        case CloseCall():
            wait, talk = op.wait_seconds, op.talk_seconds
            if not op.derived:
                row = (await conn.execute(_FACTS, {"b_id": op.call_id})).first()
                if row is None:
                    raise NotFoundError(f"no call {op.call_id}")
                wait, talk = durations(
                    row.arrived_at, row.answered_at, row.queue is not None, op.ended_at
                )
            values = {f"b_{c}": getattr(op, c) for c in _CLOSE_COLUMNS}
            values.update(
                b_id=op.call_id,
                b_rtp_quality=dict(op.rtp_quality) if op.rtp_quality is not None else None,
                b_wait_seconds=wait,
                b_talk_seconds=talk,
            )
            _changed(await conn.execute(_CLOSE, values), f"no call {op.call_id}")
        case _:
            pass


async def _new_offers(conn: AsyncConnection, offers: list[StartOffer]) -> list[StartOffer]:
    query = select(OFFERS.c.call_id, OFFERS.c.agent, OFFERS.c.offered_at).where(
        OFFERS.c.call_id.in_({o.call_id for o in offers})
    )
    there = {tuple(row) for row in (await conn.execute(query)).all()}
    return [o for o in offers if (o.call_id, o.agent, o.offered_at) not in there]


async def _new_states(conn: AsyncConnection, states: list[AgentState]) -> list[AgentState]:
    query = select(STATES.c.agent, STATES.c.state, STATES.c.at).where(
        STATES.c.agent.in_({s.agent for s in states}), STATES.c.at >= min(s.at for s in states)
    )
    there = {tuple(row) for row in (await conn.execute(query)).all()}
    return [s for s in states if (s.agent, s.state, s.at) not in there]


async def insert_events(
    conn: AsyncConnection, events: Sequence[OutboxMessage], *, careful: bool = False
) -> None:
    """The outbox rows of ``events`` (in order), each subject numbered on from its
    highest sequence, as gateway.store.outbox.add_events does for the ORM."""
    batch = list(events)
    if careful:
        ids = {e.id for e in batch}
        query = select(OUTBOX.c.id).where(OUTBOX.c.id.in_(ids))
        there = set((await conn.execute(query)).scalars().all())
        batch = [e for e in batch if e.id not in there]
        if not batch:
            return
    subjects = {e.subject for e in batch if e.subject is not None and not e.sequence}
    highest: dict[str, int] = {}
    if subjects:
        query = (
            select(OUTBOX.c.subject, func.max(OUTBOX.c.sequence))
            .where(OUTBOX.c.subject.in_(subjects))
            .group_by(OUTBOX.c.subject)
        )
        highest = {str(s): int(n or 0) for s, n in (await conn.execute(query)).all()}
    rows = []
    for e in batch:
        sequence = e.sequence
        if not sequence and e.subject is not None:
            sequence = highest[e.subject] = highest.get(e.subject, 0) + 1
        rows.append(
            {"id": e.id, "type": e.type, "subject": e.subject, "queue": e.queue,
             "sequence": sequence, "payload": dict(e.payload), "created_at": e.created_at}
        )  # fmt: skip
    await conn.execute(OUTBOX.insert(), rows)
