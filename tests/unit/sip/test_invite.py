"""INVITE parsing is pure: plain strings in, protocol events out."""

from __future__ import annotations

from gateway.ipc import protocol as p
from gateway.sip.invite import call_rejected, incoming_call, parse_headers

_LINES = [
    "INVITE sip:1000@10.0.0.5:5082 SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1",
    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK2",
    'f: "Caller" <sip:+15550001111@carrier>;tag=abc',
    "To: <sip:1000@gw>",
    "i: 42@carrier",
    "P-Asserted-Identity: <sip:+15550001111@carrier>",
    "Diversion: <sip:5550100@carrier>;reason=unconditional",
    "X-Contactgw-Trunk: carrier-a",
    "Content-Length: 3",
    "",
    "v=0",
]
INVITE = "\r\n".join(_LINES)


def test_headers_are_lower_case_first_value_compact_forms_expanded() -> None:
    h = parse_headers(INVITE)
    assert h[""] == "INVITE sip:1000@10.0.0.5:5082 SIP/2.0"
    assert h["via"] == "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1"
    assert h["from"] == '"Caller" <sip:+15550001111@carrier>;tag=abc'
    assert h["call-id"] == "42@carrier"
    assert "v=0" not in h.values()  # the body is not read


def test_incoming_call_carries_what_the_control_plane_routes_on() -> None:
    assert incoming_call("w1-in-1", INVITE, "10.0.0.1:5060") == p.IncomingCall(
        leg="w1-in-1",
        call_id="42@carrier",
        request_uri="sip:1000@10.0.0.5:5082",
        from_uri='"Caller" <sip:+15550001111@carrier>;tag=abc',
        to_uri="<sip:1000@gw>",
        source="10.0.0.1:5060",
        pai="<sip:+15550001111@carrier>",
        diversion="<sip:5550100@carrier>;reason=unconditional",
        trunk="carrier-a",
    )


def test_a_bare_or_empty_request_does_not_raise() -> None:
    call = incoming_call("L", "INVITE\r\n\r\n", "")
    assert (call.request_uri, call.call_id, call.pai, call.trunk) == ("", "", None, None)
    assert incoming_call("L", "", "").from_uri == ""


def test_call_rejected() -> None:
    assert call_rejected(INVITE, 486, "Busy Here") == p.CallRejected(
        "42@carrier", 486, "Busy Here", '"Caller" <sip:+15550001111@carrier>;tag=abc'
    )


def test_bytes_that_are_not_utf8_never_reach_a_record_as_lone_surrogates(tmp_path: object) -> None:
    import json
    import sqlite3

    # pjsua2 hands a 0xff byte over as "\udcff": JSON and SQLite would refuse it later.
    hostile = INVITE.replace('"Caller"', '"Ca\udcffller\ud800"')
    call = incoming_call("w1-in-1", hostile, "127.0.0.1:5070")
    assert call.from_uri.startswith('"Ca\ufffdller\ufffd"')
    json.dumps(call.from_uri).encode("utf-8")  # encodable: no surrogate left
    with sqlite3.connect(":memory:") as db:
        db.execute("create table t (v text)")
        db.execute("insert into t values (?)", (call.from_uri,))
