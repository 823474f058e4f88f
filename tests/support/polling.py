"""Bounded polling for tests that wait on a real peer's state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def wait_for(predicate: Callable[[], Any | Awaitable[Any]], timeout: float,
                   interval: float = 0.1) -> Any:
    """Poll a sync or async predicate until it returns something truthy, or `timeout`
    seconds pass; returns the last value either way (the caller asserts on it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)
