"""One gateway for the transfer tests (one worker: every leg on the caller's worker, so the
no-free-leg case is two conversations), pjsua2 phones and baresip as agents, sipp as the
carrier streaming 440 Hz."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support import baresip
from tests.support.agent_ua_client import AgentProcess
from tests.support.baresip import Baresip
from tests.support.gateway_env import Gateway, tcp_port
from tests.support.ports import block

ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [
        {"number": "+15550100100", "queue": "sales"},
        {"number": "+15550100200", "queue": "support"},
    ],
    "default_route": {"announcement": "not_in_service"},
    "queues": {
        # alice first, carol when alice is busy (two conversations fill the one worker)
        "sales": {
            "strategy": "linear",
            "ring_timeout": 8,
            "wrapup": 2,
            "announcements": {"every": None},
        },
        "support": {"ring_timeout": 8, "wrapup": 1, "announcements": {"every": None}},
    },
    "agents": {
        "alice": {"password": "alice-pw", "queues": ["sales"], "rank": 0},  # pjsua2
        "bob": {"password": "bob-pw", "queues": []},  # pjsua2, a direct target; records
        "carol": {"password": "carol-pw", "queues": ["support", "sales"], "rank": 1},  # baresip
    },
}


@pytest.fixture(scope="module", autouse=True)
def need_baresip() -> None:
    if not baresip.available():
        if os.environ.get("CI") == "true":
            pytest.fail("baresip is not installed (scripts/setup installs baresip-core)")
        pytest.skip("baresip is not installed")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("transfer"), ROUTING, workers=1)
    await gateway.start()
    yield gateway
    rc = await gateway.stop()
    assert rc == 0, gateway.log()


async def pjsua_phone(gw: Gateway, user: str, tone: float, record: Path | None = None
                      ) -> AgentProcess:  # fmt: skip
    args = ["--user", user, "--password", gw.config["agents"][user]["password"],
            "--registrar", f"sip:127.0.0.1:{gw.edge_port}", "--domain", "127.0.0.1",
            "--sip-port", str(block(gw.sip_range, 1, align=1)),
            "--rtp-port", str(block(gw.rtp_range, 8)), "--tone", str(tone), "--expires", "60",
            "--answer-after", "0.3"]  # fmt: skip
    if record is not None:
        args += ["--record", str(record)]
    phone = await AgentProcess.start(args)
    try:
        await phone.wait_event("registration", registered=True)
    except BaseException:
        await phone.stop()
        raise
    return phone


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def agents(gw: Gateway) -> AsyncIterator[dict[str, Any]]:
    started: dict[str, Any] = {}
    try:
        started["alice"] = await pjsua_phone(gw, "alice", 1000)
        started["bob"] = await pjsua_phone(gw, "bob", 1000, gw.tmp / "bob-{n}.wav")
        started["carol"] = await Baresip.start(
            gw.tmp, user="carol", password="carol-pw", edge_port=gw.edge_port,
            sip_port=block(gw.sip_range, 2, align=2), ctrl_port=tcp_port(),
            rtp=(rtp := block(gw.rtp_range, 20), rtp + 19),
        )  # fmt: skip
        await started["carol"].wait_registered()
        yield started
    finally:
        for phone in started.values():
            await phone.stop()
