"""The shipped example configuration starts as it is: what `./scripts/run` runs.

Only the addresses and the data directory are moved (through the documented
CONTACTGW_* environment overrides) so the test never collides with a gateway already
running on the default ports; everything else is config/contactgw.yaml verbatim.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.gateway_env import REPO, RTP_RANGE, SIP_RANGE, tcp_port
from tests.support.ports import block

pytestmark = [pytest.mark.integration]
LEVEL = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")  # run.py's format
OPEN_API = "WARNING gateway.auth: API authentication is off"


async def test_shipped_example_config_runs_and_stops_cleanly(tmp_path: Path) -> None:
    api_port = tcp_port()
    env = dict(
        os.environ,
        CONTACTGW_DATA_DIR=str(tmp_path / "var"),
        CONTACTGW_SIP__LISTEN_PORT=str(block(SIP_RANGE, 1, align=1)),
        CONTACTGW_WORKERS__FIRST_SIP_PORT=str(block(SIP_RANGE, 4, align=1)),
        CONTACTGW_SIP__RTP_PORT_MIN=str(rtp := block(RTP_RANGE, 64)),
        CONTACTGW_SIP__RTP_PORT_MAX=str(rtp + 63),
        CONTACTGW_API__PORT=str(api_port),
        CONTACTGW_MQTT__PORT=str(tcp_port()),
    )
    log = (tmp_path / "run.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "run",
        "--config",
        "config/contactgw.yaml",
        cwd=str(REPO),
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    health: dict[str, object] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as api:
            for _ in range(150):  # bounded: 30 s
                if proc.returncode is not None:
                    break
                try:
                    health = (await api.get("/health")).json()
                except httpx.HTTPError:
                    health = {}
                if health.get("status") == "ok":
                    break
                await asyncio.sleep(0.2)
            assert health.get("status") == "ok", (tmp_path / "run.log").read_text()[-3000:]
            assert health["workers"] == {"up": 4, "total": 4, "slots_in_use": 0, "slots_total": 8}
            agents = {a["id"]: a["state"] for a in (await api.get("/agents")).json()}
            assert agents == {"alice": "logged-out", "bob": "logged-out", "carol": "logged-out"}
            queues = [q["name"] for q in (await api.get("/queues")).json()]
            assert queues == ["sales", "support"]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 40)
    assert rc == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert (tmp_path / "var" / "contactgw.db").is_file()
    # A clean start and stop is nothing to warn about: expected exits are INFO. The one
    # warning left is about the shipped file itself (no API user or token: the API is open).
    lines = (tmp_path / "run.log").read_text(errors="replace").splitlines()
    noisy = [
        line
        for line in lines
        if (m := LEVEL.match(line)) and m.group(1) not in ("DEBUG", "INFO") and OPEN_API not in line
    ]
    assert noisy == [], "\n".join(noisy)
