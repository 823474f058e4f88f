"""`contactgw run` with its recordings on a disk that fills up (a real tmpfs): a call is
answered, talks and ends normally; its record says the recording failed; the metric,
the recording.failed event and /health (degraded, recordings.failing) raise the alarm.
sipp is the carrier, a pjsua2 softphone the agent (tests/support/gateway_env.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.agent_ua_client import AgentProcess
from tests.support.gateway_env import Gateway, start_phone
from tests.support.small_disk import fill, small_disk

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

ROUTING: dict[str, Any] = {
    "dids": [{"number": "+15550100100", "queue": "sales"}],
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 0, "announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    with small_disk(tmp_path / "var" / "recordings", 512) as disk:
        fill(disk, leave_bytes=64 * 1024)
        gateway = Gateway(tmp_path, ROUTING, workers=1)
        await gateway.start()
        try:
            yield gateway
        finally:
            rc = await gateway.stop()
            assert rc == 0, gateway.log()


async def test_a_full_recordings_disk_keeps_the_call_and_raises_the_alarm(gw: Gateway) -> None:
    phone: AgentProcess = await start_phone(gw, "alice", tone=1000, answer_after=0.3)
    try:

        async def available() -> bool:
            return await gw.agent_state("alice") == "available"

        await gw.wait_for("alice available", available, timeout=10)
        sipp = await gw.call("+15550100100", hold_ms=6000)
        assert await sipp.wait(40) == 0, f"{sipp.errors()}\n{gw.log()}"

        (row,) = await gw.cdr(1)
        assert row["disposition"] == "answered" and row["hangup_by"] == "caller", row
        assert 3.0 < row["talk_seconds"] < 9.0  # the call ran its course

        async def marked() -> Any:
            detail = await gw.get(f"/api/v1/calls/{row['id']}")
            return detail if detail["recording_failure"] else None

        detail = await gw.wait_for("recording marked failed", marked, timeout=15)
        assert detail["recording_failure"] == "disk_full"
        health = (await gw.api.get("/health")).json()
        assert health["status"] == "degraded", health
        assert health["recordings"]["failing"] is True
        assert health["recordings"]["last_reason"] == "disk_full"
        assert health["recordings"]["last_call_id"] == row["id"]
        assert await gw.metric("contactgw_recording_failures_total", reason="disk_full") == 1
        events = (await gw.get(f"/events?subject={row['id']}&limit=100"))["events"]
        failed = [e for e in events if e["type"] == "io.contactgw.recording.failed"]
        assert len(failed) == 1 and failed[0]["data"]["reason"] == "disk_full", events
        assert failed[0]["data"]["queue"] == "sales"
        assert not any(
            e["type"] == "io.contactgw.recording.ready"
            and any(f["role"] == "stereo" for f in e["data"]["files"])
            for e in events
        )
    finally:
        await phone.stop()
