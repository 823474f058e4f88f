"""Hand-built call records and agent state rows, written through the real CdrStore (the
store derives wait and talk exactly as in production)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from gateway.store import CdrStore, Database, Disposition
from gateway.store.models import ConfigVersion, Queue

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return DAY.replace(hour=hh, minute=mm, second=ss)


async def add_call(
    cdr: CdrStore,
    arrived: datetime,
    *,
    queue: str | None = "sales",
    disposition: Disposition = "answered",
    answered: float | None = None,  # seconds after arrival
    ended: float = 60.0,  # seconds after arrival
    agent: str | None = None,
    did: str = "+15550100100",
    caller: str = "+15551230000",
    recordings: dict[str, str] | None = None,
    offers: tuple[tuple[str, str], ...] = (),  # (agent, result) before the answer
) -> uuid.UUID:
    call_id = uuid.uuid4()
    await cdr.record_call_arrived(
        call_id=call_id, sip_call_id=f"sip-{call_id}", arrived_at=arrived, did=did,
        caller=caller, trunk="carrier", worker="w1", queue=queue,
    )  # fmt: skip
    for who, result in offers:
        offer = await cdr.record_offer(call_id=call_id, agent=who, offered_at=arrived)
        await cdr.record_offer_ended(offer_id=offer, result=result, ended_at=arrived)  # type: ignore[arg-type]
    if answered is not None:
        assert agent is not None
        offer = await cdr.record_offer(call_id=call_id, agent=agent, offered_at=arrived)
        await cdr.record_answered(
            call_id=call_id, agent=agent, offer_id=offer,
            answered_at=arrived + timedelta(seconds=answered),
        )  # fmt: skip
    rec = recordings or {}
    await cdr.record_ended(
        call_id=call_id, ended_at=arrived + timedelta(seconds=ended), disposition=disposition,
        recording_stereo=rec.get("stereo"), recording_caller=rec.get("caller"),
        recording_agent=rec.get("agent"),
    )  # fmt: skip
    return call_id


async def add_states(
    cdr: CdrStore, agent: str, rows: list[tuple[datetime, str, str | None]]
) -> None:
    for when, state, reason in rows:
        await cdr.record_agent_state(agent=agent, state=state, at=when, reason=reason)


async def add_queue(db: Database, name: str, **config: float) -> None:
    """A queue row with these settings (sl_threshold, short_abandon)."""
    async with db.transaction() as session:
        version = ConfigVersion(
            applied_at=DAY, source="test", author=None, content_hash="x" * 64,
            summary="test", diff={}, snapshot={},
        )  # fmt: skip
        session.add(version)
        await session.flush()
        session.add(
            Queue(name=name, strategy="longest-idle", config=config, version=version.version)
        )
