"""The agent desktop's Server-Sent Events: one sampler per client (each agent watches
only its own desktop, built from in-memory state), sent only when it changed.

`retry:` first, then `event: desktop` with the whole desktop as one JSON line (`id`
increasing) whenever it differs from the last one sent, and a `: heartbeat` comment
after `HEARTBEAT` s without one. The wait time ticks in the page, so it is left out
of the comparison. The stream ends when the client goes (Starlette cancels it) or when
the gateway stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

log = logging.getLogger(__name__)

INTERVAL: Final = 0.2  # seconds between samples: a screen-pop shows well within 1 s
HEARTBEAT: Final = 15.0
RETRY_MS: Final = 3000


async def events(
    build: Callable[[], Awaitable[BaseModel]],
    *,
    interval: float = INTERVAL,
    heartbeat: float = HEARTBEAT,
    stopping: Callable[[], bool] = lambda: False,
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    last, seq, quiet = "", 0, 0.0
    while not stopping():
        try:
            sample = await build()
        except Exception:  # a failed sample (database away) keeps the stream
            log.debug("desktop sample failed", exc_info=True)
        else:
            mark = sample.model_dump_json(exclude={"call": {"wait_seconds"}})
            if mark != last:
                last, seq, quiet = mark, seq + 1, 0.0
                yield f"id: {seq}\nevent: desktop\ndata: {sample.model_dump_json()}\n\n"
        await asyncio.sleep(interval)
        quiet += interval
        if quiet >= heartbeat:
            quiet = 0.0
            yield ": heartbeat\n\n"


def stream_response(
    build: Callable[[], Awaitable[BaseModel]], stopping: Callable[[], bool] = lambda: False
) -> StreamingResponse:
    return StreamingResponse(
        events(build, stopping=stopping),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
