"""Async steps run one after the other, each as soon as the previous one ended.

One call's worker commands keep their order without blocking other calls, and so does
its record work (the recordings' finalisation, retried, then the close and any later
write handed to the write-behind: gateway/store/write_behind.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Sequencer:
    def __init__(self, name: str, retries: int = 0) -> None:
        self._name = name
        self._retries = retries
        self._tail: asyncio.Task[None] | None = None

    def then(self, step: Callable[[], Awaitable[object]]) -> None:
        previous = self._tail

        async def chained() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            for attempt in range(self._retries + 1):
                try:
                    await step()
                    return
                except Exception:
                    if attempt == self._retries:
                        log.exception("%s: step failed", self._name)
                        return
                    # A transient database error (locked, restarting): try again.
                    await asyncio.sleep(min(0.2 * 2**attempt, 5.0))

        self._tail = asyncio.get_running_loop().create_task(chained())

    def idle(self) -> bool:
        return self._tail is None or self._tail.done()

    async def settled(self) -> None:
        while self._tail is not None and not self._tail.done():
            await asyncio.gather(self._tail, return_exceptions=True)
