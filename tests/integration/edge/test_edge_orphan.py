"""The edge never outlives the control plane, even one killed with SIGKILL: an orphaned
Kamailio would keep the SIP port and the next start would fail to bind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.edge_env import sip_port

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[3]
PARENT = """
import asyncio, sys
from gateway.edge.manager import EdgeManager
from gateway.edge.settings import EdgeSettings
async def main():
    edge = EdgeManager(EdgeSettings(rundir=sys.argv[1], listen_port=int(sys.argv[2])))
    await edge.start()
    print("up", flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_kamailio_exits_when_the_control_plane_is_killed(tmp_path: Path) -> None:
    rundir = tmp_path / "edge"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(rundir), str(sip_port())],
                              cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "up"
        kamailio = int((rundir / "kamailio.pid").read_text())
        assert alive(kamailio)
        parent.kill()
        parent.wait(5)
        for _ in range(50):  # bounded: 5 s
            if not alive(kamailio):
                break
            time.sleep(0.1)
        assert not alive(kamailio), "Kamailio outlived its control plane"
    finally:
        parent.kill()
        parent.wait(5)
