"""Call search: filters, sorts, keyset paging stable under inserts, cursor errors; the
recordings list with file sizes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gateway.store import CdrStore, Database
from gateway.store.search import CallFilter, CallSearch, InvalidQuery, Sort
from tests.unit.api.rows import add_call, at


async def some_calls(db: Database) -> dict[str, uuid.UUID]:
    cdr = CdrStore(db)
    return {
        "a": await add_call(cdr, at(10, 0), answered=10, ended=70, agent="alice"),  # talk 60
        "b": await add_call(
            cdr, at(10, 5), answered=40, ended=100, agent="bob", did="+15550100200"
        ),
        "c": await add_call(cdr, at(10, 10), disposition="abandoned", ended=20, caller="+1999"),
        "d": await add_call(cdr, at(10, 15), queue="support", answered=5, ended=305, agent="alice"),
        "e": await add_call(cdr, at(10, 20), queue=None, disposition="unknown_did", ended=1),
    }


async def ids(search: CallSearch, f: CallFilter | None = None) -> list[uuid.UUID]:
    page = await search.search(f or CallFilter(), limit=100)
    return [c.id for c in page.calls]


async def test_each_filter(db: Database) -> None:
    c = await some_calls(db)
    s = CallSearch(db)
    assert await ids(s) == [c[k] for k in "edcba"]  # newest first by default
    assert await ids(s, CallFilter(since=at(10, 5), until=at(10, 15))) == [c["c"], c["b"]]
    assert await ids(s, CallFilter(did="+15550100200")) == [c["b"]]
    assert await ids(s, CallFilter(caller="+1999")) == [c["c"]]
    assert await ids(s, CallFilter(queue="support")) == [c["d"]]
    assert await ids(s, CallFilter(agent="alice")) == [c["d"], c["a"]]
    assert await ids(s, CallFilter(disposition="abandoned")) == [c["c"]]
    assert await ids(s, CallFilter(agent="alice", queue="sales")) == [c["a"]]


# waits: a 10, b 40, c 20 (unanswered, in a queue), d 5, e none (-1); talks: a 60, b 60,
# d 300, c and e none (-1): ties are ordered by id, the same way as the key
KEYS = {
    "wait": {"a": 10, "b": 40, "c": 20, "d": 5, "e": -1},
    "talk": {"a": 60, "b": 60, "c": -1, "d": 300, "e": -1},
}


@pytest.mark.parametrize("sort", ["arrived_at", "-arrived_at", "wait", "-wait", "talk", "-talk"])
async def test_sorts_and_every_page_size_give_the_same_order(db: Database, sort: Sort) -> None:
    c = await some_calls(db)
    s = CallSearch(db)
    keys = KEYS.get(sort.lstrip("-"), {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    expected = sorted(c, key=lambda k: (keys[k], c[k].hex), reverse=sort.startswith("-"))
    for limit in (1, 2, 3, 5):
        seen, cursor = [], None
        while True:
            page = await s.search(CallFilter(), sort=sort, limit=limit, cursor=cursor)
            seen += [x.id for x in page.calls]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [c[k] for k in expected], limit


async def test_paging_is_stable_under_inserts(db: Database) -> None:
    c = await some_calls(db)
    s = CallSearch(db)
    first = await s.search(CallFilter(), limit=2)
    assert [x.id for x in first.calls] == [c["e"], c["d"]]
    newer = await add_call(CdrStore(db), at(11), ended=1, disposition="abandoned")
    older = await add_call(CdrStore(db), at(9), ended=1, disposition="abandoned")
    rest = await s.search(CallFilter(), limit=100, cursor=first.next_cursor)
    assert [x.id for x in rest.calls] == [c["c"], c["b"], c["a"], older]
    assert newer not in [x.id for x in rest.calls] and rest.next_cursor is None


async def test_a_cursor_is_checked(db: Database) -> None:
    await some_calls(db)
    s = CallSearch(db)
    page = await s.search(CallFilter(), sort="talk", limit=1)
    assert page.next_cursor is not None
    with pytest.raises(InvalidQuery, match="sort=talk"):
        await s.search(CallFilter(), sort="wait", cursor=page.next_cursor)
    for junk in ("nope", "", "e30", "!!!!"):
        with pytest.raises(InvalidQuery, match="invalid cursor"):
            await s.search(CallFilter(), cursor=junk)
    with pytest.raises(InvalidQuery, match="before"):
        await s.search(CallFilter(since=at(11), until=at(10)))


async def test_one_call_with_its_offers(db: Database) -> None:
    cdr = CdrStore(db)
    call_id = await add_call(
        cdr, at(10), answered=12, ended=72, agent="bob", offers=(("alice", "no_answer"),)
    )
    found = await CallSearch(db).call(call_id)
    assert found is not None
    record, offers = found
    assert (record.agent, record.wait_seconds, record.talk_seconds) == ("bob", 12.0, 60.0)
    assert [(o.agent, o.result) for o in offers] == [("alice", "no_answer"), ("bob", "answered")]
    assert await CallSearch(db).call(uuid.uuid4()) is None


async def test_recordings_list_with_sizes(db: Database, tmp_path: Path) -> None:
    stereo = tmp_path / "stereo.wav"
    stereo.write_bytes(b"x" * 100)
    cdr = CdrStore(db)
    with_rec = await add_call(
        cdr, at(10), answered=10, ended=70, agent="alice",
        recordings={"stereo": str(stereo), "agent": str(tmp_path / "gone.wav")},
    )  # fmt: skip
    voicemail = await add_call(
        cdr, at(10, 5), disposition="voicemail", ended=30,
        recordings={"caller": str(stereo)},
    )  # fmt: skip
    await add_call(cdr, at(10, 10), answered=1, ended=2, agent="alice")  # no recording
    entries, next_cursor = await CallSearch(db).recordings(CallFilter(), limit=10)
    assert next_cursor is None
    assert [e.call.id for e in entries] == [voicemail, with_rec]
    assert [(f.role, f.size) for f in entries[0].files] == [("caller", 100), ("voicemail", 100)]
    assert [(f.role, f.size) for f in entries[1].files] == [("stereo", 100), ("agent", None)]
    only, _ = await CallSearch(db).recordings(CallFilter(agent="alice"), limit=10)
    assert [e.call.id for e in only] == [with_rec]
