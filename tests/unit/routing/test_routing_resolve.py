"""resolve(): DID matching, default route, schedules and closed-action chains."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing import (
    Announce,
    Closed,
    ClosedReason,
    RoutingTable,
    ToQueue,
    Unknown,
    UnknownReason,
    Voicemail,
    build_routing_table,
    resolve,
)

MONDAY_NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
MONDAY_NIGHT_NY = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 22:00 in New York
SALES = "sip:+14155550100@gw;user=phone"


def table(**overrides: Any) -> RoutingTable:
    data: dict[str, Any] = {
        "region": "US",
        "timezone": "America/New_York",
        "queues": {
            "sales": {
                "schedule": {"hours": {"mon-fri": ["09:00-17:00"]}},
                "closed_action": {"queue": "support"},
            },
            "support": {
                "schedule": {"timezone": "Europe/Paris", "hours": {"mon-sat": ["08:00-20:00"]}},
                "closed_action": {"voicemail": "support-vm"},
            },
            "vip": {},
        },
        "dids": [
            {
                "number": "(415) 555-0100",
                "queue": "sales",
                "priority": 3,
                "skills": ["en"],
                "tags": ["web"],
            },
            {"number": "+33 1 45 67 89 01", "queue": "support"},
            {"number": "4155550199", "queue": "vip", "priority": 9},
        ],
        "default_route": {"announcement": "not-in-service"},
    }
    data.update(overrides)
    return build_routing_table(data)


def test_matched_did_open_queue() -> None:
    decision = resolve(SALES, None, table(), MONDAY_NOON_NY)
    assert decision == ToQueue("sales", "+14155550100", 3, frozenset({"en"}), frozenset({"web"}))


def test_float_now_gives_the_same_decision() -> None:
    t = table()
    assert resolve(SALES, None, t, MONDAY_NOON_NY.timestamp()) == resolve(
        SALES, None, t, MONDAY_NOON_NY
    )


def test_national_format_and_tel_uri_match_the_same_did() -> None:
    t = table()
    for uri in ("sip:4155550100@gw", "sip:1-415-555-0100@gw", "tel:+1.415.555.0100"):
        decision = resolve(uri, None, t, MONDAY_NOON_NY)
        assert isinstance(decision, ToQueue) and decision.queue == "sales"


def test_falls_back_to_to_uri_when_request_uri_has_no_did() -> None:
    t = table()
    for ruri in ("sip:trunkaccount@gw", "sip:9999999999@gw", None):
        decision = resolve(ruri, '"x" <sip:+14155550100@gw>;tag=1', t, MONDAY_NOON_NY)
        assert isinstance(decision, ToQueue) and decision.queue == "sales"


def test_closed_queue_follows_the_chain_to_an_open_queue() -> None:
    # 22:00 New York = 04:00 Paris: both closed -> support voicemail
    decision = resolve(SALES, None, table(), MONDAY_NIGHT_NY)
    assert isinstance(decision, Closed)
    assert decision.queue == "support" and decision.closed_from == ("sales",)
    assert decision.action == Voicemail("support-vm")
    assert decision.reason is ClosedReason.OUTSIDE_HOURS
    assert decision.reopens_at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 08:00 Paris
    # 03:00 New York (Tuesday) = 09:00 Paris: support is open; DID skills are dropped
    rerouted = resolve(SALES, None, table(), datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    assert rerouted == ToQueue(
        "support", "+14155550100", 3, frozenset(), frozenset({"web"}), closed_from=("sales",)
    )


def test_holiday_closure_names_the_holiday() -> None:
    t = table(holidays=[{"date": "2026-11-26", "name": "Thanksgiving"}])
    decision = resolve("sip:+33145678901@gw", None, t, datetime(2026, 11, 26, 10, tzinfo=UTC))
    assert isinstance(decision, Closed)
    assert (decision.reason, decision.holiday) == (ClosedReason.HOLIDAY, "Thanksgiving")


def test_queue_without_schedule_is_always_open() -> None:
    decision = resolve("sip:4155550199@gw", None, table(), MONDAY_NIGHT_NY)
    assert decision == ToQueue("vip", "+14155550199", 9)


@pytest.mark.parametrize(
    ("ruri", "to", "reason", "did"),
    [
        ("sip:+14155550111@gw", None, UnknownReason.UNKNOWN_DID, "+14155550111"),
        ("sip:12@gw", None, UnknownReason.INVALID_NUMBER, "12"),
        ("sip:sales@gw", "sip:gw", UnknownReason.NO_NUMBER, "sales"),
        (None, None, UnknownReason.NO_NUMBER, None),
        ("garbage <<<", "\x00", UnknownReason.NO_NUMBER, None),
    ],
)
def test_unknown_dids_get_the_default_announcement(
    ruri: str | None, to: str | None, reason: UnknownReason, did: str | None
) -> None:
    decision = resolve(ruri, to, table(), MONDAY_NOON_NY)
    assert isinstance(decision, Unknown)
    assert (decision.reason, decision.did) == (reason, did)
    assert decision.action == Announce("not-in-service")


def test_default_queue_route() -> None:
    t = table(default_route={"queue": "vip"})
    assert resolve("sip:+14155550111@gw", None, t, MONDAY_NOON_NY) == ToQueue(
        "vip", "+14155550111", fallback=UnknownReason.UNKNOWN_DID
    )
    assert resolve("sip:12@gw", None, t, MONDAY_NOON_NY) == ToQueue(
        "vip", None, fallback=UnknownReason.INVALID_NUMBER
    )


def test_default_queue_route_is_subject_to_its_schedule() -> None:
    t = table(default_route={"queue": "sales"})
    decision = resolve("sip:+14155550111@gw", None, t, MONDAY_NIGHT_NY)
    assert isinstance(decision, Closed) and decision.closed_from == ("sales",)


def test_missing_default_route_hangs_up() -> None:
    data = {"region": "US", "queues": {"q": {}}, "dids": [{"number": "+14155550100", "queue": "q"}]}
    decision = resolve("sip:+14155550111@gw", None, build_routing_table(data), 0)
    assert decision == Unknown(
        "+14155550111", UnknownReason.UNKNOWN_DID, Announce(None), "not in the DID table"
    )


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        resolve(SALES, None, table(), datetime(2026, 11, 23, 12, 0))


_uri_text = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.builds(
        lambda scheme, user, rest: f"{scheme}{user}{rest}",
        st.sampled_from(["sip:", "sips:", "tel:", "<sip:", '"x" <tel:']),
        st.text(alphabet="+0123456789-.() ;=%@abcxyz<>:", max_size=40),
        st.text(max_size=20),
    ),
)


@settings(max_examples=300)
@given(ruri=_uri_text, to=_uri_text)
def test_resolve_never_raises_on_arbitrary_uris(ruri: str | None, to: str | None) -> None:
    decision = resolve(ruri, to, FUZZ_TABLE, MONDAY_NOON_NY)
    assert isinstance(decision, ToQueue | Closed | Unknown)


FUZZ_TABLE = table()
