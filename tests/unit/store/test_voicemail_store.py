"""Voicemail messages on both backends: only calls with a box are messages, the filters
(box, boxes, state, from/to), newest-first keyset paging, the state machine
new -> listened -> handled -> reopen with who and when, and `voicemail.handled` written
in the same transaction as the state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from gateway.store import CdrStore, Database, OutboxStore
from gateway.store.models import Call
from gateway.store.records import NotFoundError
from gateway.store.search import InvalidQuery
from gateway.store.voicemail import Message, MessageFilter, VoicemailStore, handle, listen, reopen
from tests.unit.api.rows import add_call, at

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


async def add_message(db: Database, arrived: datetime, box: str, queue: str = "sales") -> uuid.UUID:
    call_id = await add_call(
        CdrStore(db), arrived, queue=queue, disposition="voicemail", ended=20,
        recordings={"caller": f"/rec/{box}-{arrived:%H%M}.wav"},
    )  # fmt: skip
    async with db.transaction() as session:
        await session.execute(update(Call).where(Call.id == call_id).values(voicemail_box=box))
    return call_id


def test_the_state_machine_keeps_who_and_when() -> None:
    m = Message(uuid.uuid4(), "box", "sales", "+1555", None, T0, 20.0, "/r.wav", "new")
    heard = listen(m, "sup", T0)
    assert (heard.state, heard.listened_by, heard.listened_at) == ("listened", "sup", T0)
    assert listen(heard, "other", T0 + timedelta(1)) == heard  # the first listener stays
    done = handle(heard, "root", "called back", T0 + timedelta(minutes=1))
    assert (done.state, done.handled_by, done.note) == ("handled", "root", "called back")
    assert listen(done, "qa", T0) == done  # playing a handled message changes nothing
    back = reopen(done)
    assert (back.state, back.handled_by, back.note, back.listened_by) == (
        "listened", None, None, "sup")  # fmt: skip
    assert reopen(handle(m, "root", None, T0)).state == "new"  # never played: new again


async def test_only_calls_with_a_box_are_listed_newest_first_and_filtered(db: Database) -> None:
    await add_call(CdrStore(db), at(9), disposition="abandoned")  # no box: not a message
    a = await add_message(db, at(10), "sales")
    b = await add_message(db, at(11), "sales-box")
    c = await add_message(db, at(12), "sales")
    store = VoicemailStore(db)
    page = await store.messages(MessageFilter())
    assert [m.call_id for m in page.items] == [c, b, a] and page.next_cursor is None
    assert page.items[0].duration_seconds == 20.0 and page.items[0].state == "new"
    assert [m.call_id for m in (await store.messages(MessageFilter(box="sales"))).items] == [c, a]
    only = MessageFilter(boxes=frozenset({"sales-box"}))
    assert [m.call_id for m in (await store.messages(only)).items] == [b]
    assert (await store.messages(MessageFilter(boxes=frozenset()))).items == ()
    ranged = MessageFilter(since=at(10, 30), until=at(12))
    assert [m.call_id for m in (await store.messages(ranged)).items] == [b]
    first = await store.messages(MessageFilter(), limit=2)
    assert [m.call_id for m in first.items] == [c, b] and first.next_cursor
    d = await add_message(db, at(13), "sales")  # a new message does not shift the pages
    rest = await store.messages(MessageFilter(), limit=2, cursor=first.next_cursor)
    assert [m.call_id for m in rest.items] == [a] and rest.next_cursor is None
    assert (await store.messages(MessageFilter(), limit=1)).items[0].call_id == d
    with pytest.raises(InvalidQuery):
        await store.messages(MessageFilter(), cursor="not-a-cursor")


async def test_listened_handled_reopened_are_stored_and_handled_is_an_event(db: Database) -> None:
    call_id = await add_message(db, at(10), "sales")
    store = VoicemailStore(db)
    await store.listened(call_id, "sup", T0)
    await store.listened(call_id, "qa", T0 + timedelta(minutes=5))
    assert [m.call_id for m in (await store.messages(MessageFilter(state="new"))).items] == []
    heard = (await store.messages(MessageFilter(state="listened"))).items
    assert [(m.call_id, m.listened_by, m.listened_at) for m in heard] == [(call_id, "sup", T0)]
    done = await store.handled(call_id, "root", "called back", T0 + timedelta(hours=1))
    again = await store.message(call_id)
    assert again == done and (done.state, done.handled_by, done.note) == (
        "handled", "root", "called back")  # fmt: skip
    assert done.handled_at == T0 + timedelta(hours=1)
    (event,) = [e for e in await OutboxStore(db).pending() if e.type.endswith("voicemail.handled")]
    assert event.subject == str(call_id)
    assert event.payload == {"call_id": str(call_id), "box": "sales", "handled_by": "root",
                             "note": "called back"}  # fmt: skip
    back = await store.reopened(call_id)
    assert (back.state, back.handled_by, back.listened_by) == ("listened", None, "sup")
    assert (await store.message(call_id)).state == "listened"


async def test_a_call_without_a_box_is_not_a_message(db: Database) -> None:
    plain = await add_call(CdrStore(db), at(9))
    store = VoicemailStore(db)
    for missing in (plain, uuid.uuid4()):
        with pytest.raises(NotFoundError):
            await store.message(missing)
        with pytest.raises(NotFoundError):
            await store.handled(missing, "root", None, T0)
