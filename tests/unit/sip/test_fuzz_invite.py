"""The worker's INVITE reading (gateway/sip/invite.py) under arbitrary and mutated text.

Hypothesis feeds it any text, text from arbitrary bytes as pjsua2 hands it over (each byte
that is not UTF-8 a lone surrogate) and messages from tests/support/sip_fuzz.py's mutator:
nothing raises, and nothing built for the control plane holds a lone surrogate.
"""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given
from hypothesis import strategies as st

from gateway.sip import invite
from tests.support import sip_fuzz

TARGET = sip_fuzz.Target("127.0.0.1", 5100, "127.0.0.1", 5060)


def pjsua_text(raw: bytes) -> str:
    """What pjsua2 hands over for these bytes: undecodable ones as lone surrogates."""
    return raw.decode("utf-8", errors="surrogateescape")


messages = st.one_of(
    st.text(),
    st.binary(max_size=6000).map(pjsua_text),
    st.integers(0, 10**6).map(lambda i: pjsua_text(sip_fuzz.case(7, i, TARGET, ["INVITE"]).data)),
)


def no_surrogate(value: object) -> bool:
    return not any(0xD800 <= ord(ch) <= 0xDFFF for ch in str(value))


@given(messages)
def test_any_message_is_read_without_error_and_without_lone_surrogates(message: str) -> None:
    headers = invite.parse_headers(message)
    assert "" in headers and all(no_surrogate(k) and no_surrogate(v) for k, v in headers.items())
    event = invite.incoming_call("w1-in-1", message, "127.0.0.1:5060")
    assert all(no_surrogate(v) for v in dataclasses.asdict(event).values())
    rejected = invite.call_rejected(message, 486, "Busy Here")
    assert no_surrogate(rejected.call_id) and no_surrogate(rejected.from_uri)
    assert invite.response_bytes(message) >= invite.RESPONSE_OWN_BYTES
    assert isinstance(invite.too_large_to_answer(message), bool)


@given(st.binary(max_size=5000))
def test_received_bytes_is_the_datagram_size(raw: bytes) -> None:
    assert invite.received_bytes(pjsua_text(raw)) == len(raw)


def cut_invite() -> str:
    """A 4.6 KB INVITE as the worker's pjsua2 hands it over: cut at pjsip's 4000 bytes
    (measured on the wheel: `onIncomingCall` gets exactly the first 4000 bytes)."""
    m = sip_fuzz.SEEDS["INVITE"](TARGET, "cut@fuzz.invalid", random.Random(1))
    m.headers.append(("X-Pad", "x" * 3990))
    whole = m.render()
    assert len(whole) > 4500
    return pjsua_text(whole[: invite.PJSIP_MAX_PKT_LEN])


def test_an_invite_cut_off_at_pjsips_buffer_is_refused() -> None:
    """Found by the fuzz (tests/integration/fuzz/): a datagram larger than pjsip's buffer
    arrived cut off and was taken as a call (183, announcement, 404, a call record) although
    its headers and SDP were missing. Its 200 would be small, so only the size shows it."""
    message = cut_invite()
    assert invite.response_bytes(message) < invite.PJSIP_MAX_PKT_LEN
    assert invite.cut_off(message) and invite.too_large_to_answer(message)
    assert not invite.cut_off(message[:3999])
