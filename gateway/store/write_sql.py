"""One batch of write operations as SQLAlchemy Core statements in the caller's transaction.

The statements are built once (bound parameters, so SQLAlchemy's compiled cache hits)
and run in an order that gives the same result as applying the ops one by one:
new call rows first (multi-row), then new offers (multi-row; they reference calls), then
the row updates (one executemany per statement, see :func:`_updates`), then agent-state
rows (multi-row), then the events in arrival order (one multi-row INSERT: positions
follow it). About a dozen statements a batch, whatever its size. The transaction makes
the batch all-or-nothing.

``careful`` is for a batch that may have been applied before (a replay from the
journal, or a retry after an error that may have hit the COMMIT): rows already there
under their natural key are skipped, so nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.models import AgentStateLog, Call, CallOffer, Outbox
from gateway.store.records import NotFoundError, OutboxMessage
from gateway.store.types import without_nul
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
# A call's record closing ends its offers still open as cancelled: offers whose end was
# never handed over (a control plane that died while they rang: its successor knows the
# call from the worker's note, not the offer's key) must not ring forever in the store.
_CANCEL_OPEN_OFFERS = (
    update(OFFERS)
    .where(OFFERS.c.call_id == bindparam("b_id"), OFFERS.c.ended_at.is_(None))
    .values(result="cancelled", ended_at=bindparam("b_ended_at"))
)
_ANSWER = (
    update(CALLS)
    .where(CALLS.c.id == bindparam("b_id"))
    .values(agent=bindparam("b_agent"), answered_at=bindparam("b_at"))
)
_CLOSE_COLUMNS = (
    "ended_at", "disposition", "hangup_by", "caller_sip_code", "agent_sip_code", "rtp_quality",
    "recording_stereo", "recording_caller", "recording_agent", "wait_seconds", "talk_seconds",
    "voicemail_box", "hold_count", "hold_seconds", "monitors", "recording_pauses",
    "segments",
)  # fmt: skip
_CLOSE = (
    update(CALLS)
    .where(CALLS.c.id == bindparam("b_id"))
    .values({c: bindparam(f"b_{c}") for c in _CLOSE_COLUMNS})
)


def _insert_ignoring_duplicates(conn: AsyncConnection, table: Table) -> Any:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=["id"])


async def write_batch(
    conn: AsyncConnection, ops: Sequence[WriteOp], *, careful: bool
) -> list[OutboxMessage]:
    """Apply ``ops`` (in arrival order) in ``conn``'s transaction; raise on any failure.
    Returns the events inserted, as stored (see :func:`insert_events`)."""
    opens = [op for op in ops if isinstance(op, OpenCall)]
    if opens:
        await conn.execute(
            _insert_ignoring_duplicates(conn, CALLS),
            [
                {"id": o.call_id, "sip_call_id": o.sip_call_id, "arrived_at": o.arrived_at,
                 "did": o.did, "caller": o.caller, "trunk": o.trunk, "worker": o.worker,
                 "queue": o.queue, "caller_name": o.caller_name, "initiation": o.initiation,
                 "callback_of": o.callback_of}
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
    await _updates(conn, ops)
    states = [op for op in ops if isinstance(op, AgentState)]
    if careful and states:
        states = await _new_states(conn, states)
    if states:
        await conn.execute(
            STATES.insert(),
            [{"agent": s.agent, "state": s.state, "reason": s.reason, "at": s.at} for s in states],
        )
    events = [e for op in ops for e in op.events]
    return await insert_events(conn, events, careful=careful) if events else []


async def _updates(conn: AsyncConnection, ops: Sequence[WriteOp]) -> None:
    """Row updates, one executemany per statement. Each statement writes columns no other
    one writes, and runs its rows in arrival order, so the result is that of applying
    the ops one by one; the close runs last because it may read what the others set."""
    queues: list[dict[str, Any]] = []
    offered: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    offer_ends: list[dict[str, Any]] = []
    closes: list[CloseCall] = []
    for op in ops:
        match op:
            case SetQueue():
                queues.append({"b_id": op.call_id, "b_q": op.queue})
            case StartOffer():
                offered.append({"b_id": op.call_id, "b_at": op.offered_at})
            case EndOffer():
                offer_ends.append(
                    {"b_id": op.call_id, "b_agent": op.agent, "b_offered": op.offered_at,
                     "b_result": op.result, "b_at": op.ended_at, "b_code": op.sip_code}
                )  # fmt: skip
            case Answered():
                answers.append({"b_id": op.call_id, "b_agent": op.agent, "b_at": op.answered_at})
                if op.offered_at is not None:
                    offer_ends.append(
                        {"b_id": op.call_id, "b_agent": op.agent, "b_offered": op.offered_at,
                         "b_result": "answered", "b_at": op.answered_at, "b_code": 200}
                    )  # fmt: skip
            case CloseCall():
                closes.append(op)
    # rows to update must exist (else the op is wrong: permanent, isolated by the caller);
    # checked with one query each, as executemany's rowcount is not reliable everywhere
    await _all_calls_exist(
        conn, {p["b_id"] for p in (*queues, *answers)} | {c.call_id for c in closes}
    )
    if offer_ends:
        await _all_offers_exist(conn, offer_ends)
    for statement, rows in (
        (_SET_QUEUE, queues), (_SET_OFFERED, offered), (_ANSWER, answers), (_END_OFFER, offer_ends)
    ):  # fmt: skip
        if rows:
            await conn.execute(statement, rows)
    if closes:
        rows = await _close_rows(conn, closes)
        await conn.execute(_CLOSE, rows)
        await conn.execute(_CANCEL_OPEN_OFFERS, rows)


async def _all_calls_exist(conn: AsyncConnection, ids: set[Any]) -> None:
    if not ids:
        return
    query = select(CALLS.c.id).where(CALLS.c.id.in_(ids))
    missing = ids - set((await conn.execute(query)).scalars().all())
    if missing:
        raise NotFoundError(f"no call {', '.join(sorted(map(str, missing)))}")


async def _all_offers_exist(conn: AsyncConnection, ends: list[dict[str, Any]]) -> None:
    query = select(OFFERS.c.call_id, OFFERS.c.agent, OFFERS.c.offered_at).where(
        OFFERS.c.call_id.in_({e["b_id"] for e in ends})
    )
    there = {tuple(row) for row in (await conn.execute(query)).all()}
    for e in ends:
        if (e["b_id"], e["b_agent"], e["b_offered"]) not in there:
            raise NotFoundError(
                f"no offer of call {e['b_id']} to {e['b_agent']} at {e['b_offered']}"
            )


async def _close_rows(conn: AsyncConnection, closes: list[CloseCall]) -> list[dict[str, Any]]:
    facts: dict[Any, Any] = {}
    if unknown := {c.call_id for c in closes if not c.derived}:
        query = select(CALLS.c.id, CALLS.c.arrived_at, CALLS.c.answered_at, CALLS.c.queue)
        facts = {r.id: r for r in (await conn.execute(query.where(CALLS.c.id.in_(unknown))))}
    rows = []
    for op in closes:
        wait, talk = op.wait_seconds, op.talk_seconds
        if not op.derived:
            row = facts[op.call_id]
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
        rows.append(values)
    return rows


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
) -> list[OutboxMessage]:
    """The outbox rows of ``events`` (in order), each subject numbered on from its
    highest sequence, as gateway.store.outbox.add_events does for the ORM. Returns the
    rows inserted as a read would give them (position and sequence set, NULs replaced):
    the events publisher takes them from memory (gateway/events/handoff.py)."""
    batch = list(events)
    if careful:
        ids = {e.id for e in batch}
        query = select(OUTBOX.c.id).where(OUTBOX.c.id.in_(ids))
        there = set((await conn.execute(query)).scalars().all())
        batch = [e for e in batch if e.id not in there]
        if not batch:
            return []
    subjects = {e.subject for e in batch if e.subject is not None and not e.sequence}
    highest: dict[str, int] = {}
    if subjects:
        query = (
            select(OUTBOX.c.subject, func.max(OUTBOX.c.sequence))
            .where(OUTBOX.c.subject.in_(subjects))
            .group_by(OUTBOX.c.subject)
        )
        highest = {str(s): int(n or 0) for s, n in (await conn.execute(query)).all()}
    rows: list[dict[str, Any]] = []
    for e in batch:
        sequence = e.sequence
        if not sequence and e.subject is not None:
            sequence = highest[e.subject] = highest.get(e.subject, 0) + 1
        rows.append(
            {"id": e.id, "type": e.type, "subject": e.subject, "queue": e.queue,
             "sequence": sequence, "payload": dict(e.payload), "created_at": e.created_at}
        )  # fmt: skip
    result = await conn.execute(_INSERT_EVENTS, rows)
    return [
        replace(e, type=without_nul(e.type), subject=_nul_free(e.subject),
                queue=_nul_free(e.queue), sequence=row["sequence"], position=position)
        for e, row, position in zip(batch, rows, result.scalars().all(), strict=True)
    ]  # fmt: skip


# positions in the order of the rows (one multi-row INSERT ... RETURNING)
_INSERT_EVENTS = OUTBOX.insert().returning(OUTBOX.c.position, sort_by_parameter_order=True)
_MARK_PUBLISHED = (
    update(OUTBOX)
    .where(OUTBOX.c.id.in_(bindparam("b_ids", expanding=True)), OUTBOX.c.published_at.is_(None))
    .values(published_at=bindparam("b_at"))
)


def _nul_free(value: str | None) -> str | None:
    return None if value is None else without_nul(value)


async def mark_published(conn: AsyncConnection, marks: Sequence[tuple[list[Any], Any]]) -> None:
    """Set ``published_at`` of the events of each ``(ids, at)`` still unpublished."""
    for ids, published_at in marks:
        await conn.execute(_MARK_PUBLISHED, {"b_ids": ids, "b_at": published_at})
