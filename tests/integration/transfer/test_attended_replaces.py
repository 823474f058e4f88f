"""Attended transfer started from the pjsua2 phone: alice (with the sipp caller streaming
440 Hz) calls bob through the edge (digest-authenticated, routed agent to agent), then
REFERs the caller's leg with Replaces of the alice-bob dialog (RFC 3891). The worker
places the call with Replaces; bob's phone swaps the consultation for it and hears the
caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.transfer.test_transfer_e2e import call_to, connected, hears, nth_event
from tests.support.gateway_env import Gateway

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
SALES = "+15550100100"


async def test_attended_refer_with_replaces_from_the_phone_hands_the_caller_to_bob(
    gw: Gateway, agents: dict[str, Any]
) -> None:
    alice, bob = agents["alice"], agents["bob"]
    sipp, call_id = await call_to(gw, "alice", SALES, hold_ms=6000)
    # the consultation: alice's phone -> edge (407, credentials) -> bob's registration
    await alice.send({"cmd": "consult", "uri": f"sip:bob@127.0.0.1:{gw.edge_port}"})
    await alice.wait_event("call_state", state="confirmed", consult=True)
    await bob.wait_event("call_state", state="confirmed")
    await asyncio.sleep(1.0)  # they talk: bob hears alice's 1000 Hz
    await alice.send({"cmd": "xfer-replaces"})
    done = await nth_event(alice, "transfer_status", 1, final=True)
    assert done["code"] == 200, done  # the worker's NOTIFY: bob took the new call
    await bob.wait_event("replaced")
    # the consultation dialog is gone: bob's phone ended it (410 Gone) for ours
    ended = await alice.wait_event("call_state", state="disconnected", consult=True)
    assert ended["code"] in (200, 410), ended
    moved = await connected(gw, "bob")
    assert moved["id"] == call_id
    assert await gw.agent_state("alice") == "wrap-up"
    assert await sipp.wait(20) == 0, sipp.errors()
    # bob's recordings: #1 the consultation (alice's 1000 Hz), #2 the caller's 440 Hz
    consult = await nth_event(bob, "recording", 1)
    assert hears(consult["path"], 1000.0, after_s=0.2), "consultation: alice's tone"
    after = await nth_event(bob, "recording", 2)
    assert hears(after["path"], 440.0, after_s=0.3), "bob does not hear the caller's 440 Hz"
