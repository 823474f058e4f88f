"""The IPC codec's decode of garbage: a message or a ProtocolError, never anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.ipc import protocol as p
from gateway.ipc.codec import MAX_LINE, Message, ProtocolError, decode, encode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
names = st.sampled_from([*p.COMMANDS, *p.EVENTS, "", "nope"])
kinds = st.sampled_from(["cmd", "res", "evt", "hello", "welcome", "other"])
# objects shaped like messages, with every field of a known class given a random value
shaped = st.builds(
    lambda t, name, rid, ok, fields: {"t": t, "name": name, "id": rid, "ok": ok, "args": fields,
                                      "data": fields, "error": fields, **fields},
    kinds, names, json_values, json_values,
    st.dictionaries(st.sampled_from(sorted({f for c in [*p.COMMANDS.values(), *p.EVENTS.values(),
                    p.Hello, p.Welcome] for f in c.__dataclass_fields__})), json_values),
)  # fmt: skip


def decoded_or_refused(line: bytes | str) -> Message | None:
    """The message `line` decodes to, None if decode refused it with a ProtocolError;
    any other exception escapes and fails the test."""
    try:
        msg = decode(line)
    except ProtocolError:
        return None
    assert isinstance(msg, Message), type(msg)  # one of the codec's five kinds, nothing else
    return msg


@given(st.binary(max_size=2000))
def test_any_bytes_decode_or_raise_protocol_error(line: bytes) -> None:
    msg = decoded_or_refused(line)
    if msg is not None and not isinstance(msg, p.Hello | p.Welcome):
        assert encode(msg)  # accepted garbage is a message that can be sent on


@given(shaped)
def test_message_shaped_json_decodes_or_raises_protocol_error(obj: dict[str, object]) -> None:
    msg = decoded_or_refused(json.dumps(obj))
    if msg is not None and not isinstance(msg, p.Hello | p.Welcome):
        assert encode(msg)  # whatever decode accepted can be sent on


@pytest.mark.parametrize("depth", [1000, 20000, MAX_LINE // 2 - 1])
def test_deeply_nested_json_is_a_protocol_error(depth: int) -> None:
    """Found by this fuzz: json.loads recurses per nesting level, so "[[[[..." well within
    MAX_LINE raised RecursionError out of decode (in the control plane: out of the handler
    of an unauthenticated connection, with a traceback in the log)."""
    with pytest.raises(ProtocolError, match="nested too deeply"):
        decode(b"[" * depth + b"]" * depth)
    with pytest.raises(ProtocolError):
        decode(b'{"t":"evt","name":"dtmf","data":' + b"[" * depth + b"]" * depth + b"}")
