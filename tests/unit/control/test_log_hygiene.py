"""Header values from the network reach the control plane's log lines escaped."""

from __future__ import annotations

import logging

import pytest

from gateway.ipc import protocol as p
from tests.unit.control.conftest import Rig

# (a lone surrogate, i.e. a non-UTF-8 byte from pjsua2, is tried on the Call-ID only: the
# call record cannot store one in its caller column)
HOSTILE = "alice\r\n2026-01-01 ERROR gateway forged\x1b[31mred\x00"
RAW = ("\r", "\n", "\x1b", "\x00", "\udcff")


async def test_a_hostile_caller_and_call_id_are_escaped(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rig.event(
        p.IncomingCall(
            leg="w1-in-1", call_id="sip-1", request_uri="sip:+15550100100@edge",
            from_uri=f"sip:{HOSTILE}@carrier", to_uri="sip:+15550100100@edge",
            source="127.0.0.1:5070",
        )
    )  # fmt: skip
    rig.event(p.CallRejected(call_id="x\r\n\x1b[2J\x00\udcff", code=486, reason="Busy Here"))
    await rig.settle()
    lines = [r.getMessage() for r in caplog.records]
    (call,) = [line for line in lines if " from alice" in line]
    assert "alice\\x0d\\x0a2026-01-01 ERROR gateway forged\\x1b[31mred\\x00" in call
    (refused,) = [line for line in lines if "refused INVITE" in line]
    assert "x\\x0d\\x0a\\x1b[2J\\x00\\xff: 486" in refused
    for line in (call, refused):
        assert not [c for c in RAW if c in line] and line.isprintable(), repr(line)
