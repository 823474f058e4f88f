"""The wallboard (API v1): a JSON snapshot and a Server-Sent Events stream of it.

The stream (`text/event-stream`) starts with `retry:` (EventSource's reconnection
delay), then sends `event: wallboard` with the whole board as `data` (one JSON line,
`id` increasing) whenever it changes, and a `: heartbeat` comment after 15 s without
one. It ends when the client goes and when the gateway stops (gateway/api/v1/
wallboard_feed.py). docs/wallboard.md has the format and the fields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from gateway.api.v1.wallboard_feed import RETRY_MS, WallboardFeed
from gateway.api.views import Wallboard

STREAM_DOC = (
    "Server-Sent Events: `retry: 3000`, then `id: <n>` / `event: wallboard` / `data: "
    "<the GET /api/v1/wallboard JSON on one line>` each time the board changes (the "
    "durations that only tick, e.g. time in state, do not count as a change: each comes "
    "with its start instant), and a `: heartbeat` comment after 15 s without one. The "
    "server samples every 0.5 s; a slow client skips intermediate boards, never the "
    "latest. The stream ends when the gateway stops; EventSource reconnects by itself."
)


async def _events(feed: WallboardFeed) -> AsyncIterator[str]:
    """One client's stream. A client that goes cancels it (Starlette listens for the
    disconnect), which runs the `finally`: nothing is left subscribed."""
    sub = feed.subscribe()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        while True:
            item = await sub.next(feed.heartbeat)
            if item is None:
                return  # the gateway is stopping
            if item is False:
                yield ": heartbeat\n\n"
                continue
            assert not isinstance(item, bool)
            seq, data = item
            yield f"id: {seq}\nevent: wallboard\ndata: {data}\n\n"
    finally:
        feed.unsubscribe(sub)


def install(app: FastAPI) -> None:
    feed = WallboardFeed(app.state.control, app.state.stats)
    app.state.wallboard = feed

    @app.get(
        "/api/v1/wallboard",
        tags=["wallboard"],
        summary="Queues' KPIs with their alert levels, and every agent's state, now",
        description="Per queue: calls waiting, longest wait, service level over the KPI "
        "window, the last 30 min and today (UTC, from the call records; null without a "
        "store), ASA, AHT, abandon rate, agents by state; `kpis` gives each KPI's value, "
        "level (`normal`, `warning`, `critical`) and thresholds (the queue's `alerts` in "
        "the routing data). Per agent: state and since when, pause reason, the current "
        "call's wait and talk time.",
    )
    async def wallboard() -> Wallboard:
        return await feed.snapshot()

    @app.get(
        "/api/v1/wallboard/stream",
        tags=["wallboard"],
        summary="The wallboard, live (Server-Sent Events)",
        description=STREAM_DOC,
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
                "description": "an endless event stream",
            }
        },
    )
    async def wallboard_stream() -> StreamingResponse:
        return StreamingResponse(
            _events(feed),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
