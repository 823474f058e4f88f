"""Routing changed live: `contactgw config apply|rollback` against a running gateway.

A real `contactgw run` on loopback (sipp carrier, pjsua2 agents): a new DID, queue and
agent applied from the CLI take the next call; a DID re-pointed while a call talks does
not drop it (only the next call follows the new route); a rollback restores the route.
"""

from __future__ import annotations

import asyncio
import copy
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import yaml

from tests.support.agent_ua_client import AgentProcess
from tests.support.gateway_env import REPO, Gateway, start_phone

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SALES_DID, VIP_DID, HOLD_DID = "+15550100100", "+15550100300", "+15550100400"
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": SALES_DID, "queue": "sales"}, {"number": HOLD_DID, "queue": "hold"}],
    "default_route": {"announcement": "not_in_service"},
    "queues": {
        "sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}},
        "hold": {"strategy": "round-robin", "skills": {"english": 5}, "wrapup": 1,
                 "announcements": {"every": None}},
    },
    "agents": {
        "alice": {"password": "alice-pw", "queues": ["sales"]},
        "erin": {"password": "erin-pw", "queues": ["hold"], "skills": {"english": 3}},
        "fay": {"password": "fay-pw", "queues": ["hold"], "skills": {"english": 3}, "rank": 1},
    },
}  # fmt: skip


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("live"), ROUTING, workers=2)
    await gateway.start()
    yield gateway
    rc = await gateway.stop()
    assert rc == 0, gateway.log()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def phones(gw: Gateway) -> AsyncIterator[dict[str, AgentProcess]]:
    started: dict[str, AgentProcess] = {}
    yield started
    for phone in started.values():
        await phone.stop()


async def contactgw_config(gw: Gateway, *args: str) -> str:
    """`contactgw config ...` in its own process, against the gateway's database."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "config", *args, "--config", str(gw.config_path),
        cwd=str(REPO), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"config {args}: {err.decode()}\n{out.decode()}"
    return out.decode()


async def apply(gw: Gateway, name: str, routing: dict[str, Any]) -> str:
    config = {**copy.deepcopy(gw.config), **copy.deepcopy(routing)}
    path = gw.tmp / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return await contactgw_config(gw, "apply", str(path), "--author", "test")


async def running_version(gw: Gateway, version: int) -> None:
    async def probe() -> bool:
        return await gw.metric("contactgw_config_version") == version

    await gw.wait_for(f"routing version {version} running", probe, timeout=5)


async def available(gw: Gateway, agent: str) -> None:
    async def probe() -> bool:
        return await gw.agent_state(agent) == "available"

    await gw.wait_for(f"{agent} available", probe, timeout=15)


async def answered_by(gw: Gateway, did: str, agent: str, queue: str) -> None:
    sipp = await gw.call(did, hold_ms=3000)
    assert await sipp.wait(40) == 0, f"{sipp.errors()}\n{gw.log()}"
    (row,) = await gw.cdr(1)
    assert (row["did"], row["disposition"], row["queue"], row["agent"]) == (
        did, "answered", queue, agent,
    ), row  # fmt: skip


def with_vip(*, sales_did_to: str = "sales") -> dict[str, Any]:
    routing = copy.deepcopy(ROUTING)
    routing["queues"]["vip"] = {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}}
    routing["dids"] = [
        {"number": SALES_DID, "queue": sales_did_to},
        {"number": HOLD_DID, "queue": "hold"},
        {"number": VIP_DID, "queue": "vip"},
    ]
    routing["agents"]["dave"] = {"password": "dave-pw", "queues": ["vip"]}
    return routing


async def test_a_new_did_and_agent_applied_live_take_the_next_call(
    gw: Gateway, phones: dict[str, AgentProcess]
) -> None:
    phones["alice"] = await start_phone(gw, "alice", answer_after=0.3)
    await available(gw, "alice")
    await running_version(gw, 1)

    out = await apply(gw, "v2.yaml", with_vip())
    assert "+ agents.dave.password: '********'" in out and "+ queues.vip.wrapup: 1.0" in out
    assert "~ dids: " in out and VIP_DID in out  # a list is one value in the diff
    assert out.endswith("applied as version 2\n")
    await running_version(gw, 2)
    gw.config["agents"]["dave"] = {"password": "dave-pw"}  # for start_phone
    phones["dave"] = await start_phone(gw, "dave", answer_after=0.3)  # credentials pushed
    await available(gw, "dave")
    await answered_by(gw, VIP_DID, "dave", "vip")
    assert (await gw.cdr(1))[0]["offers"][0]["agent"] == "dave"


async def test_a_did_repointed_while_a_call_talks_does_not_drop_it(gw: Gateway) -> None:
    await available(gw, "alice")
    talking = await gw.call(SALES_DID, hold_ms=8000)

    async def on_call() -> bool:
        return await gw.agent_state("alice") == "on-call"

    await gw.wait_for("alice on the call", on_call, timeout=15)
    out = await apply(gw, "v3.yaml", with_vip(sales_did_to="vip"))
    assert "~ dids: " in out
    await running_version(gw, 3)
    assert await gw.agent_state("alice") == "on-call"

    assert await talking.wait(40) == 0, f"{talking.errors()}\n{gw.log()}"
    (row,) = await gw.cdr(1)
    assert (row["disposition"], row["queue"], row["agent"]) == ("answered", "sales", "alice")
    assert row["hangup_by"] == "caller" and row["talk_seconds"] > 6.0
    await available(gw, "dave")
    await answered_by(gw, SALES_DID, "dave", "vip")  # the next call follows the new route


async def test_rollback_restores_the_old_route(gw: Gateway) -> None:
    out = await contactgw_config(gw, "rollback", "1", "--author", "test")
    assert "- queues.vip.wrapup: 1.0" in out and out.endswith("version 4\n")
    await running_version(gw, 4)

    async def dave_gone() -> bool:
        return "dave" not in {a["id"] for a in await gw.get("/agents")}

    await gw.wait_for("dave removed", dave_gone, timeout=5)
    await available(gw, "alice")
    await answered_by(gw, SALES_DID, "alice", "sales")
    history = await contactgw_config(gw, "history")
    assert [line.split()[0] for line in history.splitlines()[1:]] == ["4", "3", "2", "1"]
    assert "rollback:1" in history.splitlines()[1]


async def test_strategy_and_skills_changed_while_calls_wait_keep_their_order(
    gw: Gateway, phones: dict[str, AgentProcess]
) -> None:
    for agent in ("erin", "fay"):  # logged in, but hold needs english 5: they have 3
        phones[agent] = await start_phone(gw, agent, answer_after=0.3)
        await available(gw, agent)

    async def waiting() -> bool:
        queues = {q["name"]: q for q in await gw.get("/queues")}
        return bool(queues["hold"]["waiting"] == 2)

    # one sipp (the trunk's port is one), two calls a second apart; hold_ms counts from
    # the gateway's answer (the greeting), so they wait, then talk
    callers = gw.caller(HOLD_DID, hold_ms=12000, calls=2, rate=1)
    await callers.start()
    await gw.wait_for("2 waiting in hold", waiting, timeout=10)
    await asyncio.sleep(1)

    routing = copy.deepcopy(ROUTING)
    routing["queues"]["hold"].update(strategy="linear", skills={"english": 2})
    out = await apply(gw, "v5.yaml", routing)
    assert "~ queues.hold.skills.english: 5 -> 2" in out
    assert "~ queues.hold.strategy: 'round-robin' -> 'linear'" in out
    assert await callers.wait(40) == 0, f"{callers.errors()}\n{gw.log()}"
    older, newer = sorted(await gw.cdr(2), key=lambda r: str(r["arrived_at"]))
    assert older["disposition"] == newer["disposition"] == "answered", (older, newer)
    # linear: the lowest rank first, and the older caller is matched first
    assert (older["agent"], newer["agent"]) == ("erin", "fay")
    assert older["wait_seconds"] > newer["wait_seconds"] > 1.0  # from their arrival
