"""Scanner User-Agents and floods from unknown sources (bounded: tens of datagrams)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.edge import TrunkSource
from tests.integration.edge.conftest import EdgeFactory
from tests.support.edge_env import sip_options, sip_port

pytestmark = pytest.mark.integration


async def options(
    edge_port: int, *, user_agent: str, count: int = 1, port: int | None = None, wait_s: float = 0.5
) -> list[int]:
    return await asyncio.to_thread(
        sip_options,
        ("127.0.0.1", edge_port),
        user_agent=user_agent,
        count=count,
        port=port or sip_port(),
        wait_s=wait_s,
    )


async def test_scanner_user_agent_rejected_or_dropped(edge_factory: EdgeFactory) -> None:
    rejecting = await edge_factory(scanner_action="reject")
    port = rejecting.settings.listen_port
    assert await options(port, user_agent="Linphone/5.2 (belle-sip/5.2)") == [200]
    assert await options(port, user_agent="friendly-scanner") == [403]
    assert await options(port, user_agent="SIPVicious 0.3.4") == [403]  # case-insensitive
    assert await options(port, user_agent="VaxSIPUserAgent/3.1") == [403]

    dropping = await edge_factory(scanner_action="drop")
    port = dropping.settings.listen_port
    assert await options(port, user_agent="sipcli/v1.8", wait_s=1.0) == []
    assert await options(port, user_agent="Zoiper rv2.10") == [200]


async def test_pike_blocks_a_flood_but_not_the_trunk(edge_factory: EdgeFactory) -> None:
    trunk_port = sip_port()
    edge = await edge_factory(
        pike_sampling_s=2,
        pike_density=5,
        trunk_sources=(TrunkSource("127.0.0.1", trunk_port),),
    )
    port = edge.settings.listen_port
    # 60 requests in well under a second from one unknown source (bounded flood)
    codes = await options(port, user_agent="flooder", count=60, wait_s=1.0)
    assert 5 <= len(codes) < 30, codes
    assert set(codes) == {200}
    # the blocked IP's allow-listed trunk port is not subject to pike
    assert await options(port, user_agent="itsp", port=trunk_port) == [200]
    # the flooder stays blocked while it keeps flooding
    assert await options(port, user_agent="flooder", count=5, wait_s=0.5) == []
