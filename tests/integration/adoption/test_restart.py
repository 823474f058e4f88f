"""The control plane dies, calls don't (issue 14): `contactgw run` is SIGKILLed with two
conversations talking and two callers waiting, and a second `contactgw run` on the same
configuration adopts the workers and the edge and rebuilds its calls.

sipp is the carrier (four calls, a 440 Hz tone that outlasts the restart), alice (1000 Hz)
and bob (1300 Hz) are pjsua2 phones that answer at once. After the restart: the talking
calls are still talking and their recordings have no gap > 200 ms; the agents hang up ->
both calls get a complete record and a stereo file; the waiting callers are answered in
the order they arrived (alice, freed first, gets the caller who has waited longest).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from datetime import datetime
from typing import Any

import httpx
import numpy as np
import pytest

from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import dropouts, read_channels, segment
from tests.support.gateway_env import Gateway, start_phone

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

DID = "+15550100100"
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": DID, "queue": "sales"}],
    "queues": {"sales": {"ring_timeout": 10, "wrapup": 0, "announcements": {"every": None}}},
    "agents": {
        "alice": {"password": "alice-pw", "queues": ["sales"]},
        "bob": {"password": "bob-pw", "queues": ["sales"]},
    },
}


def longest_silence_ms(channel: np.ndarray, rate: int) -> int:
    """The longest run of silent 20 ms frames between the first and the last loud one."""
    quiet = np.array(dropouts(channel, rate), dtype=int)
    if len(quiet) == 0:
        return 0
    breaks = np.nonzero(np.diff(quiet) != 1)[0]  # where one silent run ends
    runs = np.diff(np.concatenate(([-1], breaks, [len(quiet) - 1])))
    return int(runs.max()) * 20


async def relaunch(gw: Gateway) -> float:
    """`contactgw run` again, same configuration (the carrier's registrar is still up);
    returns how long it took to be healthy."""
    started = asyncio.get_running_loop().time()
    log = gw.log_path.open("ab")
    gw.proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "run", "--config", str(gw.config_path),
        stdout=log, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
        cwd=str(gw.src),
    )  # fmt: skip

    async def running() -> bool:
        # "ok" includes the trunk's registration, re-sent to the adopted worker that holds it
        with contextlib.suppress(httpx.HTTPError):
            h = (await gw.api.get("/health")).json()
            return bool(h["status"] == "ok" and h["workers"]["up"] == 2)
        return False

    await gw.wait_for("the new control plane running", running, timeout=40)
    return asyncio.get_running_loop().time() - started


async def live(gw: Gateway) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in await gw.get("/calls")}


async def test_a_restarted_control_plane_adopts_talking_and_waiting_calls(tmp_path: Any) -> None:
    gw = Gateway(tmp_path, ROUTING, workers=2)
    gw.pcap(440, seconds=40)  # the carrier's caller talks through the restart
    await gw.start()
    phones: dict[str, AgentProcess] = {}
    try:
        phones["alice"] = await start_phone(gw, "alice", tone=1000, answer_after=0.1)
        phones["bob"] = await start_phone(gw, "bob", tone=1300, answer_after=0.1)

        async def both_available() -> bool:
            return all(a["state"] == "available" for a in await gw.get("/agents"))

        await gw.wait_for("agents available", both_available, timeout=15)
        sipp = await gw.call(DID, hold_ms=60000, calls=4, rate=4, timeout_s=90)

        async def two_and_two() -> dict[str, dict[str, Any]] | None:
            calls = await live(gw)
            states = sorted(c["state"] for c in calls.values())
            return calls if states == ["connected", "connected", "queued", "queued"] else None

        before = await gw.wait_for("two talking, two waiting", two_and_two, timeout=20)
        talking = {c["agent"]: cid for cid, c in before.items() if c["state"] == "connected"}
        waiting = sorted((c["arrived_at"], cid) for cid, c in before.items()
                         if c["state"] == "queued")  # fmt: skip
        assert set(talking) == {"alice", "bob"}
        await asyncio.sleep(1.0)  # a second of conversation before the loss

        assert gw.proc is not None
        killed_at = time.time()
        gw.proc.send_signal(signal.SIGKILL)
        await gw.proc.wait()
        took = await relaunch(gw)
        adopted_at = time.time()
        after = await live(gw)
        assert {cid: (c["state"], c["agent"], c["arrived_at"]) for cid, c in after.items()} == {
            cid: (c["state"], c["agent"], c["arrived_at"]) for cid, c in before.items()
        }, gw.log()
        assert "adopting worker w1" in gw.log() and "adopting worker w2" in gw.log()
        for agent in ("alice", "bob"):
            assert await gw.agent_state(agent) == "on-call"
        print(f"restart to healthy: {took:.1f} s")

        # alice hangs up: her call is over, and the caller who waited longest is hers
        await phones["alice"].send({"cmd": "hangup"})

        async def answered_by(agent: str, cid: str) -> bool:
            c = (await live(gw)).get(cid)
            return c is not None and c["state"] == "connected" and c["agent"] == agent

        await gw.wait_for("the first waiting caller with alice",
                          lambda: answered_by("alice", waiting[0][1]), timeout=15)  # fmt: skip
        await phones["bob"].send({"cmd": "hangup"})
        await gw.wait_for("the second waiting caller with bob",
                          lambda: answered_by("bob", waiting[1][1]), timeout=15)  # fmt: skip
        for agent in ("alice", "bob"):
            await phones[agent].send({"cmd": "hangup"})
        assert await sipp.wait(30) == 0

        rows = {r["id"]: r for r in await gw.cdr(4)}
        assert set(rows) == set(before)
        for agent, cid in talking.items():
            row = rows[cid]
            assert (row["disposition"], row["agent"], row["hangup_by"]) == (
                "answered", agent, "agent")  # fmt: skip
            assert row["answered_at"] and row["ended_at"] and row["recording_stereo"], row
            x, rate = read_channels(row["recording_stereo"])
            seconds = len(x) / rate
            assert seconds > took + 1.0, (cid, seconds)  # recorded across the restart
            # around the restart: from just before the kill until the new plane runs
            answered = datetime.fromisoformat(row["answered_at"]).timestamp()
            window = segment(x, rate, killed_at - answered - 0.5, adopted_at - answered + 0.5)
            gaps = [longest_silence_ms(window[:, ch], rate) for ch in (0, 1)]
            whole = [longest_silence_ms(x[:, ch], rate) for ch in (0, 1)]
            print(
                f"call {cid}: {seconds:.1f} s recorded, longest gap {max(gaps)} ms around "
                f"the restart ({len(window) / rate:.1f} s), {max(whole)} ms in the call"
            )
            assert max(gaps) <= 200, (cid, gaps, whole)
        for _, cid in waiting:
            assert (rows[cid]["disposition"], rows[cid]["answered_at"] is not None) == (
                "answered", True)  # fmt: skip
        first, second = (rows[cid] for _, cid in waiting)
        assert (first["agent"], second["agent"]) == ("alice", "bob")
        assert first["answered_at"] < second["answered_at"]
    finally:
        for phone in phones.values():
            await phone.stop()
        rc = await gw.stop()
        assert rc == 0, gw.log()
