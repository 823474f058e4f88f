"""A second `contactgw run` on the same config (same ports) changes nothing for the first.

Before the port check, the second instance's Kamailio shared the first one's UDP port
(port sharing), answered the first's agents' re-REGISTERs with 403 and got them logged
out. Now it must exit 2 at once, naming each port, while the first keeps its agent
logged in through a re-registration and still carries a call.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.agent_ua_client import AgentProcess
from tests.support.gateway_env import REPO, Gateway
from tests.support.ports import block

pytestmark = [pytest.mark.integration]

EXPIRES = 30  # the edge's min_expires: the phone re-registers about every 25 s
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": "+15550100100", "queue": "sales"}],
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}


async def phone_with_short_expiry(gw: Gateway) -> AgentProcess:
    phone = await AgentProcess.start(
        ["--user", "alice", "--password", "alice-pw",
         "--registrar", f"sip:127.0.0.1:{gw.edge_port}", "--domain", "127.0.0.1",
         "--sip-port", str(block(gw.sip_range, 1, align=1)),
         "--rtp-port", str(block(gw.rtp_range, 8)), "--tone", "1000",
         "--answer-after", "0.3", "--expires", str(EXPIRES)]
    )  # fmt: skip
    await phone.wait_event("registration", registered=True)
    return phone


async def test_second_instance_exits_2_and_the_first_keeps_its_agent_and_calls(
    tmp_path: Path,
) -> None:
    gw = Gateway(tmp_path, ROUTING, workers=2)
    await gw.start()
    phone: AgentProcess | None = None
    try:
        phone = await phone_with_short_expiry(gw)
        await gw.wait_for("alice available", _state_is(gw, "available"), timeout=10)

        started = time.monotonic()
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli", "run", "--config", str(gw.config_path),
            cwd=str(REPO), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            _, err = await asyncio.wait_for(second.communicate(), 10)
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
        lines = err.decode(errors="replace").splitlines()
        assert second.returncode == 2, lines
        assert time.monotonic() - started < 10
        expected = [f"address in use: edge SIP 127.0.0.1:{gw.edge_port} (udp)",
                    f"address in use: worker w1 SIP 127.0.0.1:{gw.worker_port} (udp)",
                    f"address in use: worker w2 SIP 127.0.0.1:{gw.worker_port + 1} (udp)",
                    f"address in use: API 127.0.0.1:{gw.api_port} (tcp)",
                    f"address in use: MQTT broker 127.0.0.1:{gw.mqtt_port} (tcp)"]  # fmt: skip
        for line in expected:
            assert line in lines, lines

        # Over the next re-registration the agent never leaves `available` (sampled until
        # 2 s after the renewal, bounded by the expiry).
        registrations = len(phone.find("registration"))
        states: set[str] = set()
        deadline = time.monotonic() + EXPIRES + 5
        renewed_at: float | None = None
        while time.monotonic() < deadline:
            states.add(await gw.agent_state("alice"))
            if renewed_at is None and phone.find("registration")[registrations:]:
                renewed_at = time.monotonic()
            if renewed_at is not None and time.monotonic() > renewed_at + 2:
                break
            await asyncio.sleep(0.5)
        assert states == {"available"}, gw.log()
        renewed = phone.find("registration")[registrations:]
        assert renewed and all(r["code"] == 200 for r in renewed), renewed
        health = await gw.wait_health("ok", timeout=5)
        assert health["workers"]["up"] == 2 and health["edge_up"] is True

        # ... and a call still reaches her and is answered.
        sipp = await gw.call("+15550100100", hold_ms=3000)
        rc = await sipp.wait(40)
        assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"
        (row,) = await gw.cdr(1)
        assert (row["disposition"], row["agent"]) == ("answered", "alice"), row
    finally:
        if phone is not None:
            await phone.stop()
        rc = await gw.stop()
    assert rc == 0, gw.log()


def _state_is(gw: Gateway, state: str) -> Any:
    async def probe() -> bool:
        return await gw.agent_state("alice") == state

    return probe
