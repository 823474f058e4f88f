"""A worker process the pool adopted from a dead control plane: not our child.

`AdoptedProcess` (gateway/adopted_process.py) watches it through its pidfd and signals it
through the pidfd; the pool also waits for it, like for an `asyncio.subprocess.Process`.
Its exit status is its new parent's: `wait()` returns `UNKNOWN_EXIT`.
"""

from __future__ import annotations

import asyncio

from gateway.adopted_process import UNKNOWN_EXIT, AdoptedProcess


class AdoptedWorker(AdoptedProcess):
    def __init__(self, pid: int) -> None:
        """Raises ``ProcessLookupError`` if `pid` is gone already."""
        self._exited = asyncio.Event()
        super().__init__(pid)

    def _gone(self) -> None:
        super()._gone()
        self._exited.set()

    async def wait(self) -> int:
        await self._exited.wait()
        return UNKNOWN_EXIT
