"""Drive ``tests.support.agent_ua`` softphones from asyncio tests.

    agent = await AgentProcess.start(["--user", "alice", "--password", "pw",
                                      "--registrar", "sip:127.0.0.1:5060",
                                      "--sip-port", "21500", "--rtp-port", "40500",
                                      "--tone", "1000", "--record", str(tmp / "alice.wav")])
    await agent.wait_event("registration", registered=True)
    ...
    await agent.send({"cmd": "hangup"})
    await agent.stop()          # quit; kills it if it does not exit within 5 s

Events are the JSON lines the softphone prints (``agent.events`` keeps them all).
This module does not import pjsua2: only the softphone process does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class AgentProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._new = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, args: list[str], ready_timeout: float = 10.0) -> AgentProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.agent_ua",
            *args,
            cwd=str(REPO),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        agent = cls(proc)
        await agent.wait_event("ready", timeout=ready_timeout)
        return agent

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))
            self._new.set()
        self._new.set()

    def find(self, name: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("event") == name and all(e.get(k) == v for k, v in fields.items())
        ]

    async def wait_event(self, name: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(name, **fields)
            if found:
                return found[0]
            left = deadline - time.monotonic()
            if left <= 0 or (self._reader.done() and not found):
                raise AssertionError(f"no {name} {fields}; events: {self.events[-20:]}")
            self._new.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new.wait(), left)

    async def send(self, cmd: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd).encode() + b"\n")
        await self.proc.stdin.drain()

    async def stop(self, timeout: float = 5.0) -> int:
        """Quit cleanly (unregister, hang up); returns the exit status."""
        if self.proc.returncode is None:
            with contextlib.suppress(ConnectionError, OSError):
                await self.send({"cmd": "quit"})
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._reader, 2)
        return self.proc.returncode if self.proc.returncode is not None else -1
