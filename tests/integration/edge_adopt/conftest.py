"""Edge adoption fixtures: the control plane is a subprocess (so it can be SIGKILLed)
that runs an EdgeManager and the heartbeat, and says what it found on stdout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.edge import EdgeSettings
from tests.support.edge_env import sip_port

KAMAILIO = "/usr/sbin/kamailio"
SIP_DOMAIN = "cc.example.test"
REPO = Path(__file__).resolve().parents[3]

# The owning side: heartbeat + EdgeManager, as gateway/control/daemon.py wires them.
OWNER = """
import asyncio, json, logging, sys
from pathlib import Path
from gateway.edge import EdgeManager, EdgeSettings
from gateway.supervisor.heartbeat import Heartbeat
async def main():
    settings = EdgeSettings(**json.loads(sys.argv[1]))
    edge = EdgeManager(settings)
    inherited = edge.inherited()
    heartbeat = Heartbeat(settings.heartbeat_file)
    heartbeat.start()
    await edge.start()
    await edge.set_agent_credentials("alice", "alice-pw")
    print(json.dumps({"pid": edge.process.pid, "adopted": edge.process.adopted,
                      "inherited": inherited}), flush=True)
    await asyncio.sleep(120)
logging.basicConfig(level=logging.INFO, filename=sys.argv[2])
asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@dataclass
class Owner:
    proc: asyncio.subprocess.Process
    log_path: Path
    said: dict[str, Any]

    def kill(self) -> None:
        """Abruptly, like a crash or the OOM killer."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Owners:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = sip_port()
        self.started: list[Owner] = []

    def settings(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "rundir": str(self.workdir / "edge"),
            "listen_address": "127.0.0.1",
            "listen_port": self.port,
            "sip_domain": SIP_DOMAIN,
            "children": 2,
            "shm_mb": 64,
            "log_level": "info",
            "orphan_timeout_s": 30,
            "heartbeat_path": str(self.workdir / "control.alive"),
        }
        values.update(overrides)
        return values

    def edge_settings(self, **overrides: Any) -> EdgeSettings:
        return EdgeSettings(**self.settings(**overrides))

    async def start(self, **overrides: Any) -> Owner:
        log_path = self.workdir / f"owner{len(self.started) + 1}.log"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", OWNER, json.dumps(self.settings(**overrides)), str(log_path),
            cwd=REPO, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        owner = Owner(proc, log_path, {})
        self.started.append(owner)
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 40)
        except TimeoutError:
            line = b""
        assert line, f"the owner did not come up:\n{owner.log()}"
        owner.said = json.loads(line)
        return owner

    async def close(self) -> None:
        for owner in self.started:
            owner.kill()
            await owner.proc.wait()
        # whatever an owner left behind: Kamailio (by its pid file) and the guard
        for name in ("edge/kamailio.pid", "edge/guard.pid"):
            with contextlib.suppress(OSError, ValueError):
                pid = int((self.workdir / name).read_text())
                if alive(pid) and str(self.workdir) in Path(f"/proc/{pid}/cmdline").read_text():
                    os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def workdir() -> Iterator[Path]:
    # short path: the RPC unix socket lives in here (sun_path is 108 bytes)
    path = Path(tempfile.mkdtemp(prefix="cgwa-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def owners(workdir: Path) -> AsyncIterator[Owners]:
    if shutil.which(KAMAILIO) is None:
        pytest.skip("kamailio not installed")
    pool = Owners(workdir)
    try:
        yield pool
    finally:
        await pool.close()
        for owner in pool.started:  # shown by pytest only when the test failed
            print(f"--- {owner.log_path.name}\n{owner.log()[-4000:]}")
