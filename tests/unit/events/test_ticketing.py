"""The ticketing example's core, driven directly: dedupe, order, a whole call."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from examples.ticketing.consumer import Consumer, catch_up
from examples.ticketing.store import TicketStore
from examples.ticketing.tickets import NotAnEvent, Outcome, Ticket, apply, parse
from gateway.events import catalogue as c
from gateway.events.envelope import to_cloudevent

from .call_story import CALL, RECORDING_URL, answered_call, cloudevent
from .contract import assert_valid_cloudevent

T0 = answered_call()[0]["time"]


def run_all(events: list[dict[str, Any]]) -> tuple[Ticket | None, list[Outcome]]:
    ticket: Ticket | None = None
    outcomes: list[Outcome] = []
    for event in events:
        step = apply(ticket, parse(event))
        ticket = step.ticket
        outcomes.append(step.outcome)
    return ticket, outcomes


def test_the_call_story_keeps_to_the_published_contract() -> None:
    for event in answered_call():
        assert_valid_cloudevent(event)


def test_a_whole_call_ends_in_one_closed_ticket_with_the_summary() -> None:
    ticket, outcomes = run_all(answered_call())
    assert outcomes == ["applied"] * 9
    assert ticket is not None
    assert (ticket.call_id, ticket.status) == (CALL, "closed")
    assert (ticket.caller, ticket.did, ticket.trunk, ticket.route) == (
        "+15557654321", "+15550100100", "carrier", "queue",
    )  # fmt: skip
    assert (ticket.queue, ticket.agent, ticket.disposition, ticket.hangup_by) == (
        "sales", "bob", "answered", "caller",
    )  # fmt: skip
    assert (ticket.offers, ticket.failed_offers, ticket.abandoned) == (2, 1, False)
    assert (ticket.wait_seconds, ticket.talk_seconds, ticket.wrapup_seconds) == (21.0, 120.0, 10.0)
    assert ticket.opened_at == "2026-12-01T14:00:00Z"
    assert ticket.answered_at == "2026-12-01T14:00:21Z"
    assert ticket.ended_at == "2026-12-01T14:02:21Z"
    assert ticket.closed_at == "2026-12-01T14:02:31Z"
    assert (ticket.recording_id, ticket.recording_url) == (CALL, RECORDING_URL)
    assert ticket.last_sequence == 9
    assert [note.split(" ", 1)[1] for note in ticket.notes] == [
        "call from +15557654321 to +15550100100",
        "queued in sales at position 2",
        "offered to alice",
        "alice did not take it (no-answer)",
        "offered to bob",
        "answered by bob after 21.0 s",
        "ended (answered, hung up by caller)",
        f"recording ready: {RECORDING_URL}",
        "closed: answered",
    ]


def test_a_redelivered_event_is_a_duplicate_and_changes_nothing() -> None:
    events = answered_call()
    ticket, _ = run_all(events[:6])
    assert ticket is not None
    again = apply(ticket, parse(events[5]))
    assert again.outcome == "duplicate"
    assert again.ticket is ticket


def test_an_event_older_than_the_last_applied_one_is_stale_and_ignored() -> None:
    events = answered_call()
    # bob's offer (5) arrives after his answer (6): the ticket keeps the newer state
    ticket, outcomes = run_all(events[:4] + [events[5], events[4]])
    assert outcomes[-2:] == ["applied", "stale"]
    assert ticket is not None
    assert (ticket.offers, ticket.agent, ticket.last_sequence) == (1, "bob", 6)
    # a stale event's id is remembered: its redelivery is a duplicate
    assert apply(ticket, parse(events[4])).outcome == "duplicate"


def test_a_new_event_id_with_an_old_sequence_is_stale_not_applied_twice() -> None:
    events = answered_call()
    ticket, _ = run_all(events[:3])
    replayed = dict(events[2], id="another-id-for-the-same-change")
    step = apply(ticket, parse(replayed))
    assert step.outcome == "stale"
    assert step.ticket.offers == 1


def test_an_unknown_event_type_of_the_call_is_ignored() -> None:
    events = answered_call()
    ticket, _ = run_all(events[:2])
    future = dict(events[2], type="io.contactgw.call.transferred", id="x", data={"to": "bob"})
    assert ticket is not None
    step = apply(ticket, parse(future))
    assert step.outcome == "ignored"
    assert (step.ticket.last_sequence, step.ticket.notes) == (2, ticket.notes)


def test_a_call_first_seen_mid_way_still_gets_a_ticket_that_completion_fills() -> None:
    ticket, outcomes = run_all(answered_call()[5:])
    assert outcomes == ["applied"] * 4
    assert ticket is not None
    assert (ticket.status, ticket.caller, ticket.agent) == ("closed", "+15557654321", "bob")
    assert ticket.opened_at == "2026-12-01T14:00:00Z"  # arrived_at from the summary
    assert ticket.offers == 0  # the offers happened before we were listening


def test_an_abandoned_call_records_the_wait_and_stays_open_until_completed() -> None:
    abandoned = c.CallAbandoned(
        call_id=CALL, queue="sales", position=1, original_position=3, wait_seconds=42.0,
        while_ringing=False,
    )  # fmt: skip
    at = datetime(2026, 12, 1, 14, 0, 42, tzinfo=UTC)
    ticket, outcomes = run_all([answered_call()[0], cloudevent(abandoned, 2, at)])
    assert outcomes == ["applied", "applied"]
    assert ticket is not None
    assert (ticket.abandoned, ticket.wait_seconds, ticket.status) == (True, 42.0, "open")
    assert ticket.notes[-1] == "2026-12-01T14:00:42Z caller hung up after 42.0 s in sales"


@pytest.mark.parametrize(
    "event",
    [
        {"type": "io.contactgw.agent.state_changed", "id": "1", "subject": "alice",
         "sequence": "00000000000000000001", "time": T0},
        {"type": "com.example.call.received", "id": "1", "subject": "x",
         "sequence": "00000000000000000001", "time": T0},
        {"type": "io.contactgw.call.received", "id": "1", "subject": "x", "time": T0},
        {"type": "io.contactgw.call.received", "id": "1", "subject": "x",
         "sequence": "first", "time": T0},
    ],
)  # fmt: skip
def test_what_is_not_a_call_event_is_refused_at_the_edge(event: dict[str, Any]) -> None:
    with pytest.raises(NotAnEvent):
        parse(event)


def test_the_envelope_the_gateway_publishes_parses() -> None:
    queued = c.CallQueued(call_id=CALL, queue="sales", position=1, priority=0)
    msg = dataclasses.replace(c.build(queued, at=datetime(2026, 12, 1, tzinfo=UTC)), sequence=12)
    event = to_cloudevent(msg, source="contactgw://t", dataschema_base="/schemas")
    parsed = parse(event)
    assert (parsed.type, parsed.call_id, parsed.sequence) == ("call.queued", CALL, 12)


# --------------------------------------------------------------------------- store + shell
def test_the_store_keeps_tickets_seen_ids_and_the_cursor_across_restarts(tmp_path: Any) -> None:
    db = tmp_path / "tickets.sqlite"
    events = answered_call()
    store = TicketStore(db)
    consumer = Consumer(store)
    outcomes = [consumer.handle(e) for e in events[:5]]
    store.close()
    store = TicketStore(db)  # a restart
    consumer = Consumer(store)
    outcomes += [consumer.handle(e) for e in [events[4], *events[5:]]]
    assert outcomes == ["applied"] * 5 + ["duplicate"] + ["applied"] * 4
    [ticket] = store.tickets()
    assert ticket == run_all(events)[0]
    assert store.cursor() == events[-1]["id"]


def test_the_shell_skips_what_is_not_json_or_not_a_call_event(tmp_path: Any) -> None:
    store = TicketStore(tmp_path / "t.sqlite")
    consumer = Consumer(store)
    assert consumer.handle(b"\xff not json") is None
    assert consumer.handle(b"[1, 2]") is None
    agent = {"type": "io.contactgw.agent.state_changed", "id": "agent-event-7"}
    assert consumer.handle(agent) is None
    assert store.tickets() == [] and store.cursor() == "agent-event-7"


async def test_catch_up_pages_through_the_replay_api_from_the_stored_cursor(
    tmp_path: Any,
) -> None:
    events = answered_call()
    store = TicketStore(tmp_path / "t.sqlite")
    consumer = Consumer(store)
    consumer.handle(events[0])  # seen live before going away
    requests: list[dict[str, str]] = []

    def replay(request: httpx.Request) -> httpx.Response:
        # like the gateway: `after` is an event id or a position; `next` is the last
        # position of a full page, null after a short one
        params = dict(request.url.params)
        requests.append(params)
        after = params["after"]
        start = int(after) if after.isdigit() else [e["id"] for e in events].index(after) + 1
        page = events[start : start + int(params["limit"])]
        following = start + len(page) if len(page) == int(params["limit"]) else None
        return httpx.Response(200, json={"events": page, "next": following})

    transport = httpx.MockTransport(replay)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        count = await catch_up(consumer, http, page_size=3)
    assert count == 8
    assert [r["after"] for r in requests] == [events[0]["id"], "4", "7"]
    [ticket] = store.tickets()
    assert ticket.status == "closed" and ticket.last_sequence == 9


async def test_a_cursor_the_gateway_no_longer_holds_restarts_the_replay_from_the_start(
    tmp_path: Any,
) -> None:
    events = answered_call()
    store = TicketStore(tmp_path / "t.sqlite")
    store.move_cursor("pruned-long-ago")
    asked: list[str | None] = []

    def replay(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        asked.append(after)
        if after == "pruned-long-ago":
            return httpx.Response(422, json={"detail": "no event pruned-long-ago"})
        return httpx.Response(200, json={"events": [] if after else events, "next": None})

    transport = httpx.MockTransport(replay)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        assert await catch_up(Consumer(store), http) == 9
    assert asked == ["pruned-long-ago", None]
    assert [t.status for t in store.tickets()] == ["closed"]
