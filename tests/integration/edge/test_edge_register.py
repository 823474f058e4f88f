"""Agents' softphones register at the edge with digest auth (sipp -au/-ap)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.edge import EdgeManager
from tests.integration.edge.conftest import SIP_DOMAIN, EdgeFactory
from tests.support.edge_env import SippPool
from tests.support.sipp import render_scenario

pytestmark = pytest.mark.integration


async def register(
    sipp: SippPool,
    workdir: Path,
    edge: EdgeManager,
    *,
    user: str,
    password: str,
    expect: int,
    contact: str = "127.0.0.1:23999",
) -> None:
    sf = render_scenario("edge_register.xml", workdir, domain=SIP_DOMAIN, contact=contact, code=expect)
    s = edge.settings
    proc = await sipp.start(
        f"reg-{user}",
        sf,
        remote=f"127.0.0.1:{s.listen_port}",
        extra=(
            "-s",
            user,
            "-au",
            user,
            "-ap",
            password,
            "-m",
            "1",
            "-timeout",
            "8s",
            "-timeout_error",
        ),
    )
    rc = await proc.wait(12)
    assert rc == 0, f"REGISTER {user} expected {expect}:\n{proc.diagnostics()}"


async def test_register_digest_auth(
    edge_factory: EdgeFactory, sipp: SippPool, workdir: Path
) -> None:
    edge = await edge_factory()
    await edge.set_agent_credentials("agent1", "s3cret")

    await register(sipp, workdir, edge, user="agent1", password="wrong", expect=403)
    assert await edge.registered_contacts("agent1") == []

    await register(sipp, workdir, edge, user="nobody", password="s3cret", expect=403)

    await register(
        sipp, workdir, edge, user="agent1", password="s3cret", expect=200, contact="127.0.0.1:23998"
    )
    contacts = await edge.registered_contacts("agent1")
    assert [c.uri for c in contacts] == ["sip:agent1@127.0.0.1:23998"]
    assert 0 < contacts[0].expires <= 120

    # removing the agent drops both its credentials and its registration
    await edge.remove_agent("agent1")
    assert await edge.registered_contacts("agent1") == []
    await register(sipp, workdir, edge, user="agent1", password="s3cret", expect=403)
