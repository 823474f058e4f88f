"""The wire format: every message round-trips; bad input is a ProtocolError, never a crash."""

from __future__ import annotations

import dataclasses
import enum
import json
import typing

import pytest

from gateway.ipc import protocol as p
from gateway.ipc.codec import MAX_LINE, Notification, ProtocolError, Request, decode, encode
from gateway.ipc.errors import CapacityExceeded


def sample(cls: type) -> typing.Any:
    """An instance with every required field filled by type."""
    values: dict[object, object] = {
        str: "x",
        int: 7,
        float: 1.5,
        bool: True,
        dict[str, object]: {"session": {"queue": "sales", "arrived_at": 1.25}},
    }
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            hint = hints[f.name]
            is_enum = isinstance(hint, type) and issubclass(hint, enum.Enum)
            kwargs[f.name] = list(hint)[-1] if is_enum else values[hint]
    return cls(**kwargs)


@pytest.mark.parametrize("cls", list(p.COMMANDS.values()), ids=lambda c: c.NAME)
def test_every_command_round_trips(cls):
    msg = Request(42, sample(cls))
    line = encode(msg)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode(line) == msg


@pytest.mark.parametrize("cls", list(p.EVENTS.values()), ids=lambda c: c.NAME)
def test_every_event_round_trips(cls):
    msg = Notification(sample(cls))
    assert decode(encode(msg)) == msg


def test_wire_shape_is_the_documented_one():
    line = encode(Request(3, p.Dial("sip:a@b", leg="L1", headers={"X-Q": "1"})))
    obj = json.loads(line)
    assert obj["t"] == "cmd" and obj["id"] == 3 and obj["name"] == "dial"
    assert obj["args"]["uri"] == "sip:a@b" and obj["args"]["headers"] == {"X-Q": "1"}
    assert json.loads(encode(p.Result(3, True, {"leg": "L1"}))) == {
        "t": "res",
        "id": 3,
        "ok": True,
        "data": {"leg": "L1"},
    }
    assert json.loads(encode(p.Result(4, False, {}, CapacityExceeded.code, "full"))) == {
        "t": "res",
        "id": 4,
        "ok": False,
        "error": {"code": "capacity", "message": "full"},
    }


def test_enums_travel_by_value():
    event = p.LegStateChanged("L1", p.LegState.CONFIRMED, 200, "OK")
    obj = json.loads(encode(Notification(event)))
    assert obj == {
        "t": "evt",
        "name": "leg_state",
        "data": {"leg": "L1", "state": "confirmed", "code": 200, "reason": "OK"},
    }
    decoded = decode(json.dumps(obj))
    assert isinstance(decoded, Notification) and decoded.event == event
    assert decoded.event.state is p.LegState.CONFIRMED


def test_handshake_round_trips():
    hello = p.Hello(p.PROTOCOL_VERSION, "w1", 123, "127.0.0.1", 5080, 4, "secret")
    assert decode(encode(hello)) == hello
    assert decode(encode(p.Welcome(1))) == p.Welcome(1)


def test_unknown_fields_are_ignored_for_forward_compatibility():
    line = json.dumps(
        {"t": "cmd", "id": 1, "name": "hangup", "args": {"leg": "L", "code": 486, "future": [1, 2]}}
    )
    assert decode(line) == Request(1, p.Hangup("L", 486))


def test_int_is_accepted_where_float_is_expected():
    line = json.dumps({"t": "cmd", "id": 1, "name": "shutdown", "args": {"grace": 3}})
    assert decode(line).command == p.Shutdown(3.0)


@pytest.mark.parametrize(
    "line, why",
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"t": "nope"}', "unknown message type"),
        (b'{"t": "cmd", "id": 1, "name": "explode", "args": {}}', "unknown command"),
        (b'{"t": "cmd", "name": "ping", "args": {}}', "integer id"),
        (b'{"t": "cmd", "id": true, "name": "ping", "args": {}}', "integer id"),
        (b'{"t": "cmd", "id": 1, "name": "answer", "args": {}}', "missing field 'leg'"),
        (b'{"t": "cmd", "id": 1, "name": "answer", "args": {"leg": 5}}', "expected str"),
        (
            b'{"t": "cmd", "id": 1, "name": "hangup", "args": {"leg": "L", "code": "486"}}',
            "expected int",
        ),
        (
            b'{"t": "cmd", "id": 1, "name": "answer", "args": {"leg": "L", "loop": 1}}',
            "expected bool",
        ),
        (b'{"t": "evt", "name": "capacity", "data": {"legs": 1}}', "missing field"),
        (
            b'{"t": "evt", "name": "leg_state", "data": {"leg": "L", "state": "incoming"}}',
            "'incoming' is not one of 'calling'",
        ),
        (
            b'{"t": "evt", "name": "leg_state", "data": {"leg": "L", "state": 3}}',
            "3 is not one of",
        ),
        (b'{"t": "res", "id": 1, "ok": false, "error": "boom"}', "error must be an object"),
        (b'{"t": "res", "id": "1", "ok": true}', "integer id"),
    ],
)
def test_malformed_lines_raise_protocol_error(line, why):
    with pytest.raises(ProtocolError, match=why):
        decode(line)


def test_overlong_line_is_refused():
    with pytest.raises(ProtocolError, match="too long"):
        decode(b"{" + b" " * MAX_LINE + b"}")


def test_messages_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.Hangup("L").code = 200  # type: ignore[misc]
