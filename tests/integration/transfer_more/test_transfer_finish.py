"""Transfers, end to end, what issue 11 still lacked: the target agent's wrap-up after a
blind transfer (asterisk issue 607: a waiting call is not offered to it until its wrap-up
ends; both agents' codes in the record and in call.completed), and a transfer to an
external number through the trunk (the caller's 440 Hz reaches the far end's phone; the
record's segment names the number). `contactgw run` with one worker, sipp as the carrier,
pjsua2 phones as agents and as the far end."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.transfer.test_transfer_e2e import (
    available,
    connected,
    hears,
    nth_event,
    transfer,
    transfer_state,
)
from tests.integration.transfer_more.conftest import NUMBER, WRAPUP, TrunkGateway
from tests.support.agent_ua_client import AgentProcess

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
SALES = "+15550100100"


async def queued(gw: TrunkGateway) -> list[dict[str, Any]]:
    return [c for c in await gw.get("/calls") if c["state"] == "queued"]


async def state_is(gw: TrunkGateway, agent: str, state: str, timeout: float = 10) -> None:
    async def probe() -> bool:
        return await gw.agent_state(agent) == state

    await gw.wait_for(f"{agent} {state}", probe, timeout)


async def wrapup(gw: TrunkGateway, call_id: str, agent: str, code: str) -> dict[str, Any]:
    r = await gw.api.post(f"/api/v1/calls/{call_id}/wrapup",
                          json={"code": code, "agent": agent, "ready": False})  # fmt: skip
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_the_target_wraps_up_before_the_next_call_and_both_codes_are_kept(
    gw: TrunkGateway, phones: dict[str, AgentProcess]
) -> None:
    bob = phones["bob"]
    await available(gw, "bob")
    await available(gw, "alice")
    first = await gw.call(SALES, hold_ms=30000)  # bob hangs up first
    call_id = (await connected(gw, "alice"))["id"]
    r = await transfer(gw, call_id, flow="blind", target={"agent": "bob"})
    assert r.status_code == 201, r.text
    await transfer_state(gw, r.json()["id"], "completed")
    assert (await connected(gw, "bob"))["id"] == call_id
    assert (await gw.get("/agents/bob"))["state"] == "on-call"  # the ACD has him on it
    r = await gw.api.post("/api/v1/agents/alice/pause", json={"reason": "meeting"})
    assert r.status_code == 200, r.text  # after her wrap-up: the next call can only be bob's
    assert (await wrapup(gw, call_id, "alice", "no-sale"))["by"] == "alice"

    second = await gw.second_call(SALES, hold_ms=20000)  # waits; bob ends it
    await gw.wait_for("a second caller waiting", lambda: queued(gw), timeout=10)
    await bob.send({"cmd": "hangup"})
    hung_up = time.monotonic()
    assert await first.wait(15) == 0, first.errors()
    await state_is(gw, "bob", "wrap-up", timeout=5)
    assert len(await queued(gw)) == 1 and len(bob.find("incoming")) == 1  # not offered
    assert (await wrapup(gw, call_id, "bob", "sale"))["by"] == "bob"

    await nth_event(bob, "incoming", 2, timeout=WRAPUP + 8)  # offered once wrap-up ends
    waited = time.monotonic() - hung_up
    assert waited >= WRAPUP - 0.5, f"bob was offered the next call {waited:.1f} s after"
    assert (await connected(gw, "bob"))["id"] != call_id
    await bob.send({"cmd": "hangup"})
    assert await second.wait(15) == 0, second.errors()

    async def both() -> dict[str, Any] | None:
        row: dict[str, Any] = await gw.get(f"/api/v1/calls/{call_id}")
        return row if len(row["wrapups"]) == 2 and row["disposition"] else None

    row = await gw.wait_for("both wrap-ups on the record", both, timeout=10)
    assert [(w["agent"], w["code"]) for w in row["wrapups"]] == [
        ("alice", "no-sale"), ("bob", "sale")]  # fmt: skip
    assert (row["agent"], row["wrapup_code"]) == ("alice", "no-sale")  # the first agent's
    assert [s["agent"] for s in row["segments"]] == ["alice", "bob"]


async def test_a_blind_transfer_to_a_number_reaches_the_far_end_through_the_trunk(
    gw: TrunkGateway, phones: dict[str, AgentProcess]
) -> None:
    far = phones["far"]
    r = await gw.api.post("/api/v1/agents/alice/unpause")
    assert r.status_code == 200, r.text
    await available(gw, "alice")
    sipp = await gw.call(SALES, hold_ms=5000)
    call_id = (await connected(gw, "alice"))["id"]
    r = await transfer(gw, call_id, flow="blind", target={"number": NUMBER})
    assert r.status_code == 201, r.text
    t = await transfer_state(gw, r.json()["id"], "completed")
    assert (t["target_kind"], t["target"]) == ("number", NUMBER)
    incoming = await nth_event(far, "incoming", 1)
    assert NUMBER in str(incoming), incoming  # dialled as sip:<number>@<trunk host>
    assert await sipp.wait(20) == 0, sipp.errors()
    rec = await nth_event(far, "recording", 1)
    assert hears(rec["path"], 440.0, after_s=0.3), "the far end does not hear the caller"

    async def record() -> dict[str, Any] | None:
        row: dict[str, Any] = await gw.get(f"/api/v1/calls/{call_id}")
        return row if row["disposition"] and len(row["segments"]) == 2 else None

    row = await gw.wait_for("the record with its segments", record, timeout=15)
    first, second = row["segments"]
    assert (first["agent"], second["agent"], second["previous_segment"]) == (
        "alice", NUMBER, 1)  # fmt: skip
    assert second["transfer_id"] == t["id"]
