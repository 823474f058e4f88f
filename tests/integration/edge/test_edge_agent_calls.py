"""Agents' softphones place calls through the edge (the consultation of an attended
transfer): digest-challenged (407) against the HA1s of REGISTER, routed to another
registered agent only. pjsua2 phones (tests/support/agent_ua.py) on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.edge import EdgeManager
from tests.integration.edge.conftest import SIP_DOMAIN, EdgeFactory
from tests.support.agent_ua_client import AgentProcess
from tests.support.edge_env import RTP_PORTS, sip_port
from tests.support.polling import wait_for
from tests.support.ports import block

pytestmark = pytest.mark.integration


async def phone(edge: EdgeManager, user: str, password: str, *, register: bool = True,
                auth_user: str = "") -> AgentProcess:  # fmt: skip
    edge_uri = f"sip:127.0.0.1:{edge.settings.listen_port}"
    args = ["--user", user, "--password", password, "--domain", SIP_DOMAIN,
            "--registrar", edge_uri, "--proxy", f"{edge_uri};lr",
            "--sip-port", str(sip_port()), "--rtp-port", str(block(RTP_PORTS, 8)),
            "--tone", "1000", "--expires", "60", "--answer-after", "0.1"]  # fmt: skip
    if auth_user:
        args += ["--auth-user", auth_user]
    if not register:
        args.append("--no-register")
    p = await AgentProcess.start(args)
    if register:
        try:
            await p.wait_event("registration", registered=True)
        except BaseException:
            await p.stop()
            raise
    return p


@pytest.fixture
async def phones(edge_factory: EdgeFactory) -> AsyncIterator[dict[str, AgentProcess]]:
    edge = await edge_factory()
    await edge.set_agent_credentials("alice", "alice-pw")
    await edge.set_agent_credentials("bob", "bob-pw")
    started: dict[str, AgentProcess] = {}
    try:
        started["alice"] = await phone(edge, "alice", "alice-pw")
        started["bob"] = await phone(edge, "bob", "bob-pw")
        # alice's name with a guessed password, never registered
        started["mallory"] = await phone(edge, "alice", "guess", register=False)
        yield started
    finally:  # each stop unregisters and waits for its BYEs: stop them together
        await asyncio.gather(*(p.stop() for p in started.values()))


async def nth_end(p: AgentProcess, n: int) -> dict[str, Any]:
    """The `n`-th call of `p` that ended (its final code and reason)."""

    def probe() -> dict[str, Any] | None:
        ends = p.find("call_state", state="disconnected")
        return ends[n - 1] if len(ends) >= n else None

    found = await wait_for(probe, 10, 0.05)
    assert found, f"no end of call #{n}: {p.events[-8:]}"
    return found  # type: ignore[no-any-return]


async def test_agent_calls_reach_agents_only(phones: dict[str, AgentProcess]) -> None:
    alice, bob, mallory = phones["alice"], phones["bob"], phones["mallory"]
    # authenticated (407 then credentials), to a registered agent: bob answers
    await alice.send({"cmd": "call", "uri": f"sip:bob@{SIP_DOMAIN}"})
    incoming = await bob.wait_event("incoming")
    assert f"alice@{SIP_DOMAIN}" in str(incoming["from"]), incoming
    await alice.wait_event("call_state", state="confirmed")
    await bob.wait_event("call_state", state="confirmed")
    await alice.send({"cmd": "hangup"})  # in-dialog BYE along the Record-Route
    assert (await nth_end(bob, 1))["code"] == 200
    await nth_end(alice, 1)

    # a wrong password: 403, bob's phone never rings
    await mallory.send({"cmd": "call", "uri": f"sip:bob@{SIP_DOMAIN}"})
    refused = await nth_end(mallory, 1)
    assert refused["code"] == 403, mallory.events[-5:]

    # an external number (our domain or another), an unknown user: relayed nowhere
    for n, uri in enumerate(
        (f"sip:+15557654321@{SIP_DOMAIN}", "sip:+15557654321@trunk.example.test",
         f"sip:nobody@{SIP_DOMAIN}"), start=2):  # fmt: skip
        await alice.send({"cmd": "call", "uri": uri})
        got = await nth_end(alice, n)
        assert (got["code"], got["reason"]) == (403, "agents may only call agents"), got
    assert len(bob.find("incoming")) == 1
