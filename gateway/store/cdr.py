"""Call records (CDR), offers and the agent state log.

The control plane calls these as a call progresses::

    record_call_arrived -> [record_queued] -> record_offer -> record_offer_ended ...
        -> record_answered -> record_ended

``record_ended`` is called once, when everything the record needs has arrived (both
legs' codes and RTP reports, the recordings and the stereo file), so a reader never
sees an ended call whose record is still being completed.

The control plane does not call the ``record_*`` writers on its hot path: it hands
the same changes to the write-behind (write_behind.py: batched Core statements, one
transaction per batch, retried, journaled). They stay for tools and tests, and the
readers below serve the API.

Each method is one transaction and takes the time of the event (``*_at``) from the
caller, so the store never reads the clock. ``events`` are outbox messages written in
the same transaction (see outbox.py). Durations are derived when the call ends:
``wait_seconds`` = arrival to answer (or to the end, for a call that reached a queue
and was not answered); ``talk_seconds`` = answer to end.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.engine import Database
from gateway.store.models import AgentStateLog, Call, CallOffer
from gateway.store.outbox import add_events
from gateway.store.records import (
    AgentStateRecord,
    CallRecord,
    Disposition,
    HangupBy,
    NotFoundError,
    OfferRecord,
    OfferResult,
    OutboxMessage,
)

Events = Sequence[OutboxMessage]


class CdrStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def database(self) -> Database:
        return self._db

    async def record_call_arrived(
        self,
        *,
        call_id: uuid.UUID,
        sip_call_id: str,
        arrived_at: datetime,
        did: str | None = None,
        caller: str | None = None,
        trunk: str | None = None,
        worker: str | None = None,
        queue: str | None = None,
        events: Events = (),
    ) -> None:
        async with self._db.transaction() as session:
            session.add(
                Call(
                    id=call_id,
                    sip_call_id=sip_call_id,
                    arrived_at=arrived_at,
                    did=did,
                    caller=caller,
                    trunk=trunk,
                    worker=worker,
                    queue=queue,
                )
            )
            await add_events(session, events)

    async def record_queued(self, *, call_id: uuid.UUID, queue: str, events: Events = ()) -> None:
        """The call entered ``queue`` (again, after an overflow: the CDR keeps the last)."""
        async with self._db.transaction() as session:
            (await _call(session, call_id)).queue = queue
            await add_events(session, events)

    async def record_offer(
        self,
        *,
        call_id: uuid.UUID,
        agent: str,
        offered_at: datetime,
        queue: str | None = None,
        events: Events = (),
    ) -> int:
        """An agent's phone starts ringing for the call; returns the offer id."""
        async with self._db.transaction() as session:
            call = await _call(session, call_id)
            if call.offered_at is None:
                call.offered_at = offered_at
            offer = CallOffer(
                call_id=call_id, agent=agent, queue=queue or call.queue, offered_at=offered_at
            )
            session.add(offer)
            await add_events(session, events)
            await session.flush()
            return offer.id

    async def record_offer_ended(
        self,
        *,
        offer_id: int,
        result: OfferResult,
        ended_at: datetime,
        sip_code: int | None = None,
        events: Events = (),
    ) -> None:
        async with self._db.transaction() as session:
            offer = await session.get(CallOffer, offer_id)
            if offer is None:
                raise NotFoundError(f"no offer {offer_id}")
            offer.result, offer.ended_at, offer.sip_code = result, ended_at, sip_code
            await add_events(session, events)

    async def record_answered(
        self,
        *,
        call_id: uuid.UUID,
        agent: str,
        answered_at: datetime,
        offer_id: int | None = None,
        events: Events = (),
    ) -> None:
        """The agent answered (the offer, if given, ends as ``answered``)."""
        async with self._db.transaction() as session:
            call = await _call(session, call_id)
            call.agent, call.answered_at = agent, answered_at
            if offer_id is not None:
                offer = await session.get(CallOffer, offer_id)
                if offer is None or offer.call_id != call_id:
                    raise NotFoundError(f"no offer {offer_id} for call {call_id}")
                offer.result, offer.ended_at, offer.sip_code = "answered", answered_at, 200
            await add_events(session, events)

    async def record_ended(
        self,
        *,
        call_id: uuid.UUID,
        ended_at: datetime,
        disposition: Disposition,
        hangup_by: HangupBy | None = None,
        caller_sip_code: int | None = None,
        agent_sip_code: int | None = None,
        rtp_quality: Mapping[str, Any] | None = None,
        recording_stereo: str | None = None,
        recording_caller: str | None = None,
        recording_agent: str | None = None,
        events: Events = (),
    ) -> CallRecord:
        """The call is over and settled: close the record, complete, in one transaction,
        and derive the durations."""
        async with self._db.transaction() as session:
            call = await _call(session, call_id)
            call.ended_at, call.disposition, call.hangup_by = ended_at, disposition, hangup_by
            call.caller_sip_code, call.agent_sip_code = caller_sip_code, agent_sip_code
            call.rtp_quality = dict(rtp_quality) if rtp_quality is not None else None
            call.recording_stereo = recording_stereo
            call.recording_caller, call.recording_agent = recording_caller, recording_agent
            if call.answered_at is not None:
                call.wait_seconds = (call.answered_at - call.arrived_at).total_seconds()
                call.talk_seconds = (ended_at - call.answered_at).total_seconds()
            elif call.queue is not None:
                call.wait_seconds = (ended_at - call.arrived_at).total_seconds()
            await add_events(session, events)
            return _call_record(call)

    async def record_recording_failed(
        self, *, call_id: uuid.UUID, reason: str, events: Events = ()
    ) -> None:
        """The call's recording could not be finished (a column no other write sets)."""
        async with self._db.transaction() as session:
            call = await _call(session, call_id)
            call.recording_failure = reason
            await add_events(session, events)

    async def record_agent_state(
        self,
        *,
        agent: str,
        state: str,
        at: datetime,
        reason: str | None = None,
        events: Events = (),
    ) -> None:
        async with self._db.transaction() as session:
            session.add(AgentStateLog(agent=agent, state=state, reason=reason, at=at))
            await add_events(session, events)

    async def get_call(self, call_id: uuid.UUID) -> CallRecord | None:
        async with self._db.transaction() as session:
            call = await session.get(Call, call_id)
            return None if call is None else _call_record(call)

    async def offers(self, call_id: uuid.UUID) -> tuple[OfferRecord, ...]:
        query = select(CallOffer).where(CallOffer.call_id == call_id).order_by(CallOffer.id)
        async with self._db.transaction() as session:
            return tuple(_offer_record(row) for row in (await session.scalars(query)).all())

    async def calls(
        self, *, since: datetime | None = None, queue: str | None = None, limit: int = 100
    ) -> tuple[CallRecord, ...]:
        """Most recent calls first."""
        query = select(Call).order_by(Call.arrived_at.desc()).limit(limit)
        if since is not None:
            query = query.where(Call.arrived_at >= since)
        if queue is not None:
            query = query.where(Call.queue == queue)
        async with self._db.transaction() as session:
            return tuple(_call_record(row) for row in (await session.scalars(query)).all())

    async def agent_states(
        self, agent: str, *, since: datetime | None = None
    ) -> tuple[AgentStateRecord, ...]:
        query = select(AgentStateLog).where(AgentStateLog.agent == agent)
        if since is not None:
            query = query.where(AgentStateLog.at >= since)
        query = query.order_by(AgentStateLog.at, AgentStateLog.id)
        async with self._db.transaction() as session:
            rows = (await session.scalars(query)).all()
        return tuple(
            AgentStateRecord(agent=r.agent, state=r.state, at=r.at, reason=r.reason) for r in rows
        )


async def _call(session: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await session.get(Call, call_id)
    if call is None:
        raise NotFoundError(f"no call {call_id}")
    return call


def _call_record(call: Call) -> CallRecord:
    return CallRecord(
        id=call.id,
        sip_call_id=call.sip_call_id,
        arrived_at=call.arrived_at,
        trunk=call.trunk,
        did=call.did,
        caller=call.caller,
        queue=call.queue,
        agent=call.agent,
        worker=call.worker,
        offered_at=call.offered_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        disposition=call.disposition,  # type: ignore[arg-type]  # CHECK constraint keeps it valid
        hangup_by=call.hangup_by,  # type: ignore[arg-type]
        caller_sip_code=call.caller_sip_code,
        agent_sip_code=call.agent_sip_code,
        recording_stereo=call.recording_stereo,
        recording_caller=call.recording_caller,
        recording_agent=call.recording_agent,
        rtp_quality=call.rtp_quality,
        wait_seconds=call.wait_seconds,
        talk_seconds=call.talk_seconds,
        recording_failure=call.recording_failure,
        caller_name=call.caller_name,
        wrapup_code=call.wrapup_code,
        wrapup_notes=call.wrapup_notes,
        wrapup_by=call.wrapup_by,
        wrapup_at=call.wrapup_at,
        hold_count=call.hold_count,
        hold_seconds=call.hold_seconds,
        monitors=call.monitors,
        recording_pauses=call.recording_pauses,
        segments=call.segments,
        wrapups=call.wrapups,
    )


def _offer_record(row: CallOffer) -> OfferRecord:
    return OfferRecord(
        id=row.id,
        call_id=row.call_id,
        agent=row.agent,
        queue=row.queue,
        offered_at=row.offered_at,
        ended_at=row.ended_at,
        result=row.result,  # type: ignore[arg-type]  # CHECK constraint keeps it valid
        sip_code=row.sip_code,
    )
