"""NUL in text: PostgreSQL refuses it (in text columns and as a JSONB escape) where SQLite
stores it, so on both backends the store writes and compares it as U+FFFD: a call whose
SIP headers carry a NUL is recorded, a filter holding one matches only what it would
have matched once stored, and events keep every other character."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from gateway.store import CdrStore, Database, OutboxMessage, OutboxStore
from gateway.store.models import Call
from gateway.store.types import json_dumps

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_a_call_with_nul_in_its_headers_is_recorded(db: Database) -> None:
    cdr = CdrStore(db)
    call_id = uuid.uuid4()
    await cdr.record_call_arrived(
        call_id=call_id, sip_call_id="abc\x00@host", arrived_at=T0, caller="+1555\x00123",
        did="+15550100100", trunk="carrier", worker="w1", queue="sales",
    )  # fmt: skip
    record = await cdr.get_call(call_id)
    assert record is not None
    assert (record.sip_call_id, record.caller) == ("abc\ufffd@host", "+1555\ufffd123")


async def test_a_filter_holding_nul_matches_as_if_stored(db: Database) -> None:
    cdr = CdrStore(db)
    call_id = uuid.uuid4()
    await cdr.record_call_arrived(
        call_id=call_id, sip_call_id="s1", arrived_at=T0, caller="a\x00b", queue="sales"
    )
    async with db.reading() as session:
        nothing = (await session.scalars(select(Call.id).where(Call.agent == "\0none"))).all()
        same = (await session.scalars(select(Call.id).where(Call.caller == "a\x00b"))).all()
        listed = await session.scalars(select(Call.id).where(Call.caller.in_(["x\x00", "a\x00b"])))
        prefix = await session.scalars(select(Call.id).where(Call.caller.startswith("a\x00")))
        assert (nothing, same, listed.all(), prefix.all()) == ([], [call_id], [call_id], [call_id])


async def test_event_payloads_with_nul_are_stored_and_other_escapes_kept(db: Database) -> None:
    store = OutboxStore(db)
    payload = {"caller": "a\x00b", "literal": "\\u0000 stays", "both": "\\\x00", "k\x00": 1}
    await store.add(
        [OutboxMessage(type="t", payload=payload, created_at=T0, subject="c", queue=None)]
    )
    (stored,) = await store.pending()
    assert stored.payload == {
        "caller": "a\ufffdb",
        "literal": "\\u0000 stays",
        "both": "\\\ufffd",
        "k\ufffd": 1,
    }


def test_the_serializer_only_touches_nul_escapes() -> None:
    for text in ["plain", "\\u0000", "\\\\u0000", "é\x00\\", "\x00\x00"]:
        expected = text.replace("\x00", "\ufffd")
        assert json.loads(json_dumps(text)) == expected
        assert json.loads(json_dumps({text: [text]})) == {expected: [expected]}
