"""Transfers end to end: `contactgw run` with one worker, sipp as the carrier (the caller
streams 440 Hz), pjsua2 phones (alice transfers, bob records what he hears) and baresip
(carol) as agents. Blind and attended, from the API and from the phones' REFER, to an
agent and to a queue; failed targets; no free leg on the caller's worker; wrap-up."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import pytest

from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import dominant_frequency, mostly_tone, read_wav
from tests.support.baresip import Baresip
from tests.support.gateway_env import Gateway
from tests.support.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
SALES, SUPPORT = "+15550100100", "+15550100200"


async def connected(gw: Gateway, agent: str, timeout: float = 10.0) -> dict[str, Any]:
    """The live call `agent` is talking to (GET /calls)."""

    async def probe() -> dict[str, Any] | None:
        for call in await gw.get("/calls"):
            if call["agent"] == agent and call["state"] == "connected":
                return call  # type: ignore[no-any-return]
        return None

    return await gw.wait_for(f"a call connected to {agent}", probe, timeout)  # type: ignore[no-any-return]


async def available(gw: Gateway, agent: str) -> None:
    async def probe() -> bool:
        return await gw.agent_state(agent) == "available"

    await gw.wait_for(f"{agent} available", probe, timeout=10)


async def transfer(gw: Gateway, call_id: str, **body: Any) -> Any:
    return await gw.api.post(f"/api/v1/calls/{call_id}/transfers", json=body)


async def transfer_state(gw: Gateway, transfer_id: str, state: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        t = await gw.get(f"/api/v1/transfers/{transfer_id}")
        return t if t["state"] == state else None

    return await gw.wait_for(f"transfer {state}", probe, timeout=12)  # type: ignore[no-any-return]


async def nth_event(phone: AgentProcess, name: str, n: int, timeout: float = 12.0,
                    **fields: Any) -> dict[str, Any]:  # fmt: skip
    async def probe() -> dict[str, Any] | None:
        found = phone.find(name, **fields)
        return found[n - 1] if len(found) >= n else None

    found = await wait_for(probe, timeout, 0.05)
    assert found, f"no {name} #{n} {fields}: {phone.events[-15:]}"
    return found  # type: ignore[no-any-return]


async def call_to(gw: Gateway, agent: str, did: str, hold_ms: int = 6000) -> tuple[Any, str]:
    """A carrier call (440 Hz) answered by `agent`, who was free: (sipp, call id)."""
    await available(gw, agent)
    sipp = await gw.call(did, hold_ms=hold_ms)
    return sipp, (await connected(gw, agent))["id"]


async def bob_heard_the_caller(sipp: Any, bob: AgentProcess, nth_call: int) -> None:
    assert await sipp.wait(20) == 0, sipp.errors()
    rec = await nth_event(bob, "recording", nth_call)
    assert hears(rec["path"], 440.0, after_s=0.3), "bob does not hear the caller's 440 Hz"


def _complete_dump_hears(phone: Baresip, freq: float) -> bool:
    try:  # a dump still being written can be short or have no final header yet
        return hears(phone.heard(), freq, after_s=0.3)
    except (AssertionError, wave.Error, OSError, EOFError):  # WavError is an AssertionError
        return False


def hears(path: str | Path, freq: float, *, after_s: float = 0.0) -> bool:
    """Most half-second windows after `after_s` are loud and dominated by `freq`."""
    x, rate = read_wav(str(path))
    x = x[int(after_s * rate) :]
    assert len(x) > rate // 2, f"{path}: under half a second of audio"
    return mostly_tone(x, rate, freq)


async def test_blind_api_transfer_to_an_agent_carries_the_callers_tone_and_wraps_up(
    gw: Gateway, agents: dict[str, Any]
) -> None:
    alice, bob = agents["alice"], agents["bob"]
    sipp, call_id = await call_to(gw, "alice", SALES)
    r = await transfer(gw, call_id, flow="blind", target={"agent": "bob"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["flow"], t["target"], t["from_agent"], t["origin"]) == (
        "blind", "bob", "alice", "api")  # fmt: skip
    # the transferring agent goes to wrap-up at once, and stays there (queue: 2 s)
    assert await gw.agent_state("alice") == "wrap-up"
    await transfer_state(gw, t["id"], "completed")
    assert (await connected(gw, "bob"))["id"] == call_id
    await asyncio.sleep(0.5)
    assert await gw.agent_state("alice") == "wrap-up"
    await bob_heard_the_caller(sipp, bob, 1)
    (row,) = await gw.cdr(1)
    # one record per caller visit: the agent who answered it, and how it ended
    assert (row["id"], row["agent"], row["disposition"]) == (call_id, "alice", "answered")
    assert alice.find("call_state", state="disconnected")


async def test_blind_refer_from_the_pjsua2_phone_reaches_bob(
    gw: Gateway, agents: dict[str, Any]
) -> None:
    alice, bob = agents["alice"], agents["bob"]
    sipp, call_id = await call_to(gw, "alice", SALES)
    await alice.send({"cmd": "transfer", "uri": "sip:bob@127.0.0.1"})
    done = await nth_event(alice, "transfer_status", 1, final=True)
    assert done["code"] == 200, done  # the worker's NOTIFY: the target answered
    assert (await connected(gw, "bob"))["id"] == call_id
    assert await gw.agent_state("alice") == "wrap-up"
    await bob_heard_the_caller(sipp, bob, 2)


async def test_blind_api_transfer_to_a_queue_reaches_baresip_with_the_callers_tone(
    gw: Gateway, agents: dict[str, Any]
) -> None:
    carol = agents["carol"]
    await available(gw, "carol")
    sipp, call_id = await call_to(gw, "alice", SALES)
    r = await transfer(gw, call_id, flow="blind", target={"queue": "support"},
                       priority_bump=2)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "completed"  # in the queue's line at once
    moved = await connected(gw, "carol")
    assert (moved["id"], moved["queue"]) == (call_id, "support")
    assert await sipp.wait(20) == 0, sipp.errors()
    await carol.wait_event("CALL_CLOSED")
    # sndfile closes its dump when the call's audio stops, a moment after the BYE: under
    # load later than a fixed pause, so poll (bounded) until the closed dump holds the tone
    heard = await wait_for(lambda: _complete_dump_hears(carol, 440.0), timeout=5)
    assert heard, "carol does not hear the caller"

    async def two_segments() -> dict[str, Any] | None:  # carol's answer opened segment 2
        call: dict[str, Any] = await gw.get(f"/api/v1/calls/{call_id}")
        segments = call["segments"] or []
        done = call["ended_at"] and all(seg["sha256"] for seg in segments)
        return call if done and len(segments) == 2 else None

    call = await gw.wait_for("segment 2 of the re-queued call", two_segments, timeout=15)
    assert [(seg["index"], seg["agent"]) for seg in call["segments"]] == [
        (1, "alice"),
        (2, "carol"),
    ]


async def test_blind_refer_from_baresip_goes_to_bob(gw: Gateway, agents: dict[str, Any]) -> None:
    carol, bob = agents["carol"], agents["bob"]
    closed = len(carol.find("CALL_CLOSED"))
    sipp, call_id = await call_to(gw, "carol", SUPPORT)
    await carol.command("transfer", "sip:bob@127.0.0.1")  # /transfer: REFER, no Replaces
    assert (await connected(gw, "bob"))["id"] == call_id
    await carol.wait_event("CALL_CLOSED", after=closed)  # baresip leaves once NOTIFY is 200
    assert await gw.agent_state("carol") == "wrap-up"
    await bob_heard_the_caller(sipp, bob, 3)


async def test_attended_api_transfer_consults_then_completes(
    gw: Gateway, agents: dict[str, Any]
) -> None:
    bob = agents["bob"]
    sipp, call_id = await call_to(gw, "alice", SALES, hold_ms=7000)
    r = await transfer(gw, call_id, flow="attended", target={"agent": "bob"})
    assert r.status_code == 201, r.text
    t = await transfer_state(gw, r.json()["id"], "consulting")
    assert await gw.agent_state("alice") == "on-call"  # still with the caller's call
    await asyncio.sleep(1.0)  # bob hears alice's 1000 Hz while they talk
    done = await gw.api.post(f"/api/v1/transfers/{t['id']}/complete")
    assert done.status_code == 200 and done.json()["state"] == "completed", done.text
    assert (await connected(gw, "bob"))["id"] == call_id
    assert await gw.agent_state("alice") == "wrap-up"
    assert await sipp.wait(20) == 0, sipp.errors()
    rec = await nth_event(bob, "recording", 4)
    x, rate = read_wav(rec["path"])
    consult, after = x[int(0.2 * rate) : int(0.9 * rate)], x[int(2.0 * rate) :]
    assert abs(dominant_frequency(consult, rate) - 1000) < 15, "consultation: alice's tone"
    assert abs(dominant_frequency(after, rate) - 440) < 15, "after completion: the caller"


async def test_failed_targets_return_the_caller_to_the_agent_or_the_queue(
    gw: Gateway, agents: dict[str, Any]
) -> None:
    bob = agents["bob"]
    await bob.send({"cmd": "mode", "mode": "reject", "code": 486})
    try:
        sipp, call_id = await call_to(gw, "alice", SALES, hold_ms=9000)
        # attended: bob is busy -> the caller is back with alice
        r = await transfer(gw, call_id, flow="attended", target={"agent": "bob"})
        failed = await transfer_state(gw, r.json()["id"], "failed")
        assert failed["reason"] == "busy", failed
        back = await connected(gw, "alice")
        assert back["id"] == call_id and await gw.agent_state("alice") == "on-call"
        # blind: bob still busy -> back in line (alice is wrapping up: carol takes it)
        r = await transfer(gw, call_id, flow="blind", target={"agent": "bob"})
        await transfer_state(gw, r.json()["id"], "failed")
        again = await connected(gw, "carol", timeout=12)
        assert again["id"] == call_id and again["queue"] == "sales"
        assert await sipp.wait(25) == 0, sipp.errors()
    finally:
        await bob.send({"cmd": "mode", "mode": "answer", "delay": 0.3})


async def test_no_free_leg_on_the_callers_worker_fails_cleanly(
    gw: Gateway, agents: dict[str, Any]
) -> None:
    await available(gw, "alice")
    await available(gw, "carol")
    callers = await gw.call(SALES, hold_ms=5000, calls=2, rate=20)
    call_id = (await connected(gw, "alice"))["id"]
    await connected(gw, "carol")  # two conversations, 4 legs: the one worker is full
    r = await transfer(gw, call_id, flow="blind", target={"agent": "bob"})
    assert r.status_code == 409, r.text
    assert "no free leg on worker" in r.json()["detail"]
    assert (await connected(gw, "alice"))["id"] == call_id  # the caller stays
    assert await gw.agent_state("alice") == "on-call"
    assert await callers.wait(20) == 0, callers.errors()
