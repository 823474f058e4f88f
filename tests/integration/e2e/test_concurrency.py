"""20 concurrent conversations through the edge, spread over 10 workers, none failing.

Each worker holds at most 2 conversations (4 pjsua2 call legs), so 20 simultaneous
calls fill all 10 workers exactly: the edge's call-load dispatcher must spread them,
every caller must reach an agent, and every stereo recording must carry the caller's
440 Hz tone on the left and the agent's 1000 Hz tone on the right.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import read_channels, tone_power
from tests.support.gateway_env import Gateway, start_phone

pytestmark = [pytest.mark.integration]

CALLS = 20
AGENTS = {f"agent{n:02d}": {"password": f"pw-{n:02d}", "queues": ["load"]}
          for n in range(1, CALLS + 1)}
ROUTING = {
    "dids": [{"number": "+15550109999", "queue": "load"}],
    "queues": {"load": {"ring_timeout": 10, "wrapup": 0, "announcements": {"every": None}}},
    "agents": AGENTS,
}


async def test_twenty_concurrent_conversations_over_ten_workers(tmp_path: Path) -> None:
    gw = Gateway(tmp_path, ROUTING, workers=CALLS // 2)
    phones: list[AgentProcess] = []
    try:
        await gw.start()
        phones = list(await asyncio.gather(
            *(start_phone(gw, user, tone=1000, answer_after=0.3) for user in AGENTS)))

        async def all_available() -> bool:
            return all(a["state"] == "available" for a in await gw.get("/agents"))
        await gw.wait_for("all agents available", all_available, timeout=15)

        async def peak_slots() -> int:
            return int((await gw.get("/health"))["workers"]["slots_in_use"])
        sipp = await gw.call("+15550109999", hold_ms=10000, calls=CALLS, rate=10)
        busy = await gw.wait_for("20 conversations up", lambda: _at_least(peak_slots, CALLS),
                                 timeout=20)
        rc = await sipp.wait(60)
        assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"
        assert busy

        rows = await gw.cdr(CALLS)
        assert Counter(r["disposition"] for r in rows) == {"answered": CALLS}
        assert sorted(r["agent"] for r in rows) == sorted(AGENTS), "one call per agent"
        per_worker = Counter(r["worker"] for r in rows)
        assert len(per_worker) == CALLS // 2 and set(per_worker.values()) == {2}, per_worker

        async def stereo_done() -> list[str] | None:
            paths = [r["recording_stereo"] for r in await gw.get(f"/cdr?limit={CALLS}")]
            return paths if all(paths) else None
        for path in await gw.wait_for("stereo files", stereo_done, timeout=20):
            audio, rate = read_channels(path)
            left, right = audio[:, 0], audio[:, 1]
            assert tone_power(left, rate, 440) > 10 * tone_power(left, rate, 1000), path
            assert tone_power(right, rate, 1000) > 10 * tone_power(right, rate, 440), path
        assert await gw.metric("contactgw_calls_total", queue="load",
                               disposition="answered") == CALLS
    finally:
        await asyncio.gather(*(phone.stop() for phone in phones))
        rc = await gw.stop()
    assert rc == 0, gw.log()


async def _at_least(probe, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await probe() >= n
