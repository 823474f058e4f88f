"""One gateway for the transfer-finish tests (one worker), pjsua2 phones alice and bob as
agents, sipp as the carrier streaming 440 Hz, and a pjsua2 phone on 127.0.0.2 playing the
carrier's far end for numbers: the trunk's address (its registrar, not registered to),
where the edge relays a call to `sip:<number>@<trunk host>` (docs/transfer.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from tests.support.agent_ua_client import AgentProcess
from tests.support.gateway_env import Gateway, start_phone
from tests.support.ports import block
from tests.support.sipp import Sipp

FAR_HOST = "127.0.0.2"  # not the gateway's domain (127.0.0.1): the edge relays it as is
NUMBER = "+15557654321"
WRAPUP = 3.0  # seconds: long enough to see, short for the budget

ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": "+15550100100", "queue": "sales"}],
    "default_route": {"announcement": "not_in_service"},
    "queues": {
        "sales": {  # alice first, then bob
            "strategy": "linear",
            "ring_timeout": 8,
            "wrapup": WRAPUP,
            "wrapup_codes": ["sale", "no-sale"],
            "announcements": {"every": None},
        },
    },
    "agents": {
        "alice": {"password": "alice-pw", "queues": ["sales"], "rank": 0},
        "bob": {"password": "bob-pw", "queues": ["sales"], "rank": 1},
    },
}


class TrunkGateway(Gateway):
    """The test gateway whose trunk's address is the far-end phone's (not registered to:
    `register: false`); the carrier's calls still come from sipp (allowed_sources)."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, ROUTING, workers=1)
        self.far_port = block(self.sip_range, 1, align=1)
        trunk = self.config["trunks"][0]
        for key in ("username", "password", "register_expires"):
            trunk.pop(key, None)
        trunk.update(registrar=f"sip:{FAR_HOST}:{self.far_port}", register=False)
        self.second_port = block(self.sip_range, 1, align=1)  # a second carrier caller
        trunk["allowed_sources"] = [*trunk["allowed_sources"], f"127.0.0.1:{self.second_port}"]
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))

    async def second_call(self, did: str, hold_ms: int) -> Sipp:
        """A carrier call from the second source port, while the first sipp still talks."""
        sipp = self.caller(did, hold_ms=hold_ms)
        sipp.args[sipp.args.index("-p") + 1] = str(self.second_port)
        await sipp.start()
        return sipp


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TrunkGateway]:
    gateway = TrunkGateway(tmp_path_factory.mktemp("transfer_more"))
    await gateway.start()
    yield gateway
    rc = await gateway.stop()
    assert rc == 0, gateway.log()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def phones(gw: TrunkGateway) -> AsyncIterator[dict[str, AgentProcess]]:
    started: dict[str, AgentProcess] = {}
    try:
        for user in ("alice", "bob"):
            started[user] = await start_phone(gw, user, tone=1000, answer_after=0.3)
        started["far"] = await AgentProcess.start([
            "--user", NUMBER, "--no-register", "--domain", FAR_HOST, "--address", FAR_HOST,
            "--sip-port", str(gw.far_port), "--rtp-port", str(block(gw.rtp_range, 8)),
            "--tone", "700", "--answer-after", "0.3", "--record", str(gw.tmp / "far-{n}.wav"),
        ])  # fmt: skip
        yield started
    finally:
        for phone in started.values():
            await phone.stop()
