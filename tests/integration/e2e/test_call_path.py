"""The call path end to end: `contactgw run` as a black box on loopback.

sipp plays the carrier (a registrar challenging the gateway's trunk REGISTER, and the
caller sending a 440 Hz tone), pjsua2 softphones register at the edge as agents and
answer with a 1000 Hz tone. Assertions are on SIP outcomes, recordings' audio, call
records, agent states and metrics, read through the gateway's own API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import read_channels, tone_power
from tests.support.gateway_env import Gateway, start_phone

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TODAY = dt.datetime.now(dt.UTC).date()
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [
        {"number": "+15550100100", "queue": "sales"},
        {"number": "+15550100200", "queue": "nobody"},
        {"number": "+15550100300", "queue": "rotation"},
        {"number": "+15550100400", "queue": "ringing"},
        {"number": "+15550100500", "queue": "closedq"},
    ],
    "default_route": {"announcement": "not_in_service"},
    "queues": {
        "sales": {"ring_timeout": 10, "wrapup": 2, "announcements": {"every": None}},
        "nobody": {
            "max_wait": 4,
            "overflow": {"announcement": "all_busy"},
            "announcements": {"every": 2},
        },
        "rotation": {
            "strategy": "linear",
            "ring_timeout": 3,
            "wrapup": 1,
            "announcements": {"every": None},
        },
        "ringing": {"ring_timeout": 30, "announcements": {"every": None}},
        "closedq": {
            "schedule": {
                "timezone": "UTC",
                "hours": {"mon-sun": ["00:00-24:00"]},
                "holidays": [str(TODAY), str(TODAY + dt.timedelta(days=1))],
            },
            "closed_action": {"announcement": "closed"},
        },
    },
    "agents": {
        "alice": {"password": "alice-pw", "queues": ["sales"]},
        "norbert": {"password": "norbert-pw", "queues": ["rotation"], "rank": 0},
        "olga": {"password": "olga-pw", "queues": ["rotation"], "rank": 1},
        "rita": {"password": "rita-pw", "queues": ["ringing"]},
    },
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("e2e"), ROUTING, workers=3)
    await gateway.start()
    yield gateway
    rc = await gateway.stop()
    assert rc == 0, gateway.log()


@pytest_asyncio.fixture(loop_scope="module")
async def phones(gw: Gateway) -> AsyncIterator[dict[str, AgentProcess]]:
    started: dict[str, AgentProcess] = {}
    yield started
    for phone in started.values():
        await phone.stop()


async def logged_in(gw: Gateway, agent: str) -> None:
    async def probe() -> bool:
        return await gw.agent_state(agent) == "available"

    await gw.wait_for(f"{agent} available", probe, timeout=10)


async def finished(gw: Gateway, sipp: Any, timeout: float = 40) -> None:
    rc = await sipp.wait(timeout)
    assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"


async def test_trunk_registers_through_the_carriers_digest_challenge(gw: Gateway) -> None:
    health = await gw.wait_health("ok", timeout=10)
    (trunk,) = health["trunks"]
    assert trunk["name"] == "carrier" and trunk["registered"] is True
    assert trunk["last_code"] == 200 and trunk["worker"]
    assert await gw.metric("contactgw_trunk_registered", trunk="carrier") == 1.0
    assert health["workers"]["up"] == 3 and health["edge_up"] is True


async def test_answered_call_is_bridged_and_recorded_in_stereo(
    gw: Gateway, phones: dict[str, AgentProcess]
) -> None:
    phones["alice"] = await start_phone(gw, "alice", tone=1000, answer_after=0.3)
    await logged_in(gw, "alice")
    await finished(gw, await gw.call("+15550100100", hold_ms=6000))

    (row,) = await gw.cdr(1)
    assert row["disposition"] == "answered", row
    assert (row["did"], row["queue"], row["agent"]) == ("+15550100100", "sales", "alice")
    assert row["caller"] == "+15551230000" and row["hangup_by"] == "caller"
    assert row["trunk"] == "carrier" and row["worker"] in ("w1", "w2", "w3")
    assert row["offers"] == [{"agent": "alice", "result": "answered", "sip_code": 200}]
    assert 3.0 < row["talk_seconds"] < 8.0

    async def recorded() -> Any:
        rows = await gw.get("/cdr?limit=1")
        return rows[0]["recording_stereo"]

    stereo = Path(await gw.wait_for("stereo recording", recorded))
    audio, rate = read_channels(str(stereo))
    assert audio.ndim == 2 and audio.shape[1] == 2 and rate == 8000
    left, right = audio[:, 0], audio[:, 1]
    assert tone_power(left, rate, 440) > 20 * tone_power(left, rate, 1000), "caller on the left"
    assert tone_power(right, rate, 1000) > 20 * tone_power(right, rate, 440), "agent on the right"
    assert len(left) / rate > 3.0
    assert (stereo.parent / "stereo.wav.sha256").is_file()

    # wrap-up (2 s), then available again
    assert await gw.agent_state("alice") in ("wrap-up", "available")
    await logged_in(gw, "alice")
    early = await gw.api.post("/agents/alice/ready")
    assert early.status_code == 409 and "wrap-up" in early.json()["detail"]
    assert await gw.metric("contactgw_calls_total", queue="sales", disposition="answered") == 1

    async def sampled() -> bool:  # gauges are sampled once a second
        return await gw.metric("contactgw_queue_agents", queue="sales", state="available") == 1
    await gw.wait_for("agent gauge", sampled, timeout=5)
    kpis = {q["name"]: q for q in await gw.get("/queues")}["sales"]
    assert (kpis["offered"], kpis["answered"], kpis["abandoned"]) == (1, 1, 0)
    assert kpis["service_level"] == 1.0 and kpis["asa_seconds"] < 5
    assert await gw.metric("contactgw_queue_service_level_ratio", queue="sales") == 1.0
    assert await gw.metric("contactgw_worker_up", worker="w1") == 1.0
    assert await gw.metric("contactgw_edge_up") == 1.0


async def test_unknown_did_hears_an_announcement_and_gets_404(gw: Gateway) -> None:
    await finished(gw, await gw.call("+15559990000", rejected_code=404))
    (row,) = await gw.cdr(1)
    assert row["disposition"] == "unknown_did" and row["queue"] is None
    assert row["caller_sip_code"] == 404


async def test_closed_queue_announces_and_rejects_with_480(gw: Gateway) -> None:
    await finished(gw, await gw.call("+15550100500", rejected_code=480))
    (row,) = await gw.cdr(1)
    assert (row["disposition"], row["queue"]) == ("closed", "closedq")


async def test_agent_no_answer_moves_the_call_to_the_next_agent(
    gw: Gateway, phones: dict[str, AgentProcess]
) -> None:
    phones["norbert"] = await start_phone(gw, "norbert", answer_after=None)
    phones["olga"] = await start_phone(gw, "olga", tone=1000, answer_after=0.3)
    await logged_in(gw, "norbert")
    await logged_in(gw, "olga")
    await finished(gw, await gw.call("+15550100300", hold_ms=8000))
    (row,) = await gw.cdr(1)
    assert (row["disposition"], row["agent"]) == ("answered", "olga")
    assert [(o["agent"], o["result"]) for o in row["offers"]] == [
        ("norbert", "no_answer"),
        ("olga", "answered"),
    ]
    assert phones["norbert"].find("incoming"), "norbert's phone rang first"


async def test_caller_abandons_while_queued(gw: Gateway) -> None:
    await finished(gw, await gw.call("+15550100200", hold_ms=2000))
    (row,) = await gw.cdr(1)
    assert (row["disposition"], row["queue"], row["hangup_by"]) == ("abandoned", "nobody", "caller")


async def test_caller_abandons_while_an_agent_rings(
    gw: Gateway, phones: dict[str, AgentProcess]
) -> None:
    phones["rita"] = await start_phone(gw, "rita", answer_after=None)
    await logged_in(gw, "rita")
    await finished(gw, await gw.call("+15550100400", hold_ms=3000))
    (row,) = await gw.cdr(1)
    assert row["disposition"] == "abandoned_ringing"
    assert [(o["agent"], o["result"]) for o in row["offers"]] == [("rita", "cancelled")]
    await phones["rita"].wait_event("call_state", state="disconnected")
    await logged_in(gw, "rita")


async def test_overflow_on_max_wait_announces_and_hangs_up(gw: Gateway) -> None:
    await finished(gw, await gw.call("+15550100200", hold_ms=25000))
    (row,) = await gw.cdr(1)
    assert (row["disposition"], row["hangup_by"]) == ("overflow", "system")
    arrived = dt.datetime.fromisoformat(row["arrived_at"])
    ended = dt.datetime.fromisoformat(row["ended_at"])
    assert 4.0 <= (ended - arrived).total_seconds() < 15.0


async def test_agent_api_changes_state_and_rejects_bad_requests_with_reasons(
        gw: Gateway, phones: dict[str, AgentProcess]) -> None:
    if "alice" not in phones:
        phones["alice"] = await start_phone(gw, "alice", tone=1000)
    await logged_in(gw, "alice")
    paused = await gw.api.post("/agents/alice/pause", json={"reason": "lunch"})
    assert paused.status_code == 200
    assert (paused.json()["state"], paused.json()["pause_reason"]) == ("paused", "lunch")

    # a paused agent gets no call: the caller waits, then abandons
    await finished(gw, await gw.call("+15550100100", hold_ms=2500))
    (row,) = await gw.cdr(1)
    assert (row["disposition"], row["offers"]) == ("abandoned", [])

    again = await gw.api.post("/agents/alice/unpause")
    assert again.status_code == 200 and again.json()["state"] == "available"
    conflict = await gw.api.post("/agents/alice/unpause")
    assert conflict.status_code == 409 and "not paused" in conflict.json()["detail"]
    missing = await gw.api.post("/agents/nobody/login")
    assert missing.status_code == 404 and "nobody" in missing.json()["detail"]
    bad = await gw.api.post("/agents/alice/pause", json={"reason": "x" * 200})
    assert bad.status_code == 422 and "reason" in bad.text
    assert (await gw.api.get("/cdr?limit=0")).status_code == 422

    out = await gw.api.post("/agents/alice/logout")
    assert out.status_code == 200 and out.json()["state"] == "logged-out"
    # an explicit logout wins over the registered phone's auto-login
    await asyncio.sleep(1.5)
    assert await gw.agent_state("alice") == "logged-out"
    back = await gw.api.post("/agents/alice/login")
    assert back.status_code == 200 and back.json()["state"] == "available"


def worker_pid(gw: Gateway, worker_id: str) -> int:
    port = gw.worker_port + int(worker_id.lstrip("w")) - 1
    out = subprocess.run(["pgrep", "-f", f"gateway.sip.worker --id {worker_id} .*--sip-port {port}"],
                         capture_output=True, text=True, check=False).stdout.split()
    assert len(out) == 1, out
    return int(out[0])


async def test_a_worker_killed_mid_call_loses_nothing_else(
        gw: Gateway, phones: dict[str, AgentProcess]) -> None:
    if "alice" not in phones:
        phones["alice"] = await start_phone(gw, "alice", tone=1000)
    await logged_in(gw, "alice")
    before = len(phones["alice"].find("call_state", state="disconnected"))
    sipp = await gw.call("+15550100100", hold_ms=20000)

    async def talking() -> list[Any]:
        return [c for c in await gw.get("/calls") if c["state"] == "connected"]
    (call,) = await gw.wait_for("a connected call", talking)
    await asyncio.sleep(1.0)  # some audio in the recordings
    os.kill(worker_pid(gw, call["worker"]), signal.SIGKILL)

    # The edge ends the dead worker's dialogs: BYE to the carrier and to the agent's phone.
    await finished(gw, sipp, timeout=20)
    async def phone_freed() -> bool:
        return len(phones["alice"].find("call_state", state="disconnected")) > before
    await gw.wait_for("alice's phone hung up by the edge", phone_freed, timeout=15)
    (row,) = await gw.cdr(1)
    assert (row["id"], row["disposition"], row["agent"]) == (call["id"], "answered", "alice")

    async def repaired() -> Any:
        return (await gw.get("/cdr?limit=1"))[0]["recording_caller"]
    caller = await gw.wait_for("caller recording", repaired, timeout=25)
    audio, rate = read_channels(caller)  # header checked: repaired after the kill
    assert len(audio) / rate > 0.5
    assert tone_power(audio[:, 0], rate, 440) > 10 * tone_power(audio[:, 0], rate, 1000)

    async def pool_whole() -> bool:
        return (await gw.get("/health"))["workers"]["up"] == 3
    await gw.wait_for("the worker restarted", pool_whole, timeout=20)
    await logged_in(gw, "alice")
    await finished(gw, await gw.call("+15550100100", hold_ms=2000))
    (after,) = await gw.cdr(1)
    assert (after["disposition"], after["agent"]) == ("answered", "alice")


async def test_trunk_registration_survives_its_worker_dying(gw: Gateway) -> None:
    (trunk,) = (await gw.wait_health("ok", timeout=20))["trunks"]
    home = trunk["worker"]
    os.kill(worker_pid(gw, home), signal.SIGKILL)

    async def rehomed() -> Any:
        health = await gw.get("/health")
        (t,) = health["trunks"]
        return t if t["registered"] and t["worker"] != home else None
    moved = await gw.wait_for("trunk registered from another worker", rehomed, timeout=20)
    assert moved["last_code"] == 200
    await gw.wait_health("ok", timeout=20)
