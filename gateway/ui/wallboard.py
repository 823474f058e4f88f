"""The wallboard page (`/ui/wallboard`): queue tiles and the agents table, live.

The page gets the current board in the HTML (so it paints at once) and then follows
`GET /api/v1/wallboard/stream` with one `EventSource` (no polling; EventSource
reconnects by itself). Durations that only tick are counted on in the page from the
instants the board carries. Levels come from the alert tracker (docs/wallboard.md).
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from gateway.api.v1.wallboard_feed import WallboardFeed
from gateway.auth.http import CurrentUser
from gateway.auth.permissions import Permission
from gateway.ui import shell


def install(app: FastAPI) -> None:
    shell.add_nav(app, "Wallboard", "/ui/wallboard", Permission.WALLBOARD_READ)

    @app.get("/ui/wallboard", include_in_schema=False)
    async def wallboard_page(request: Request, user: CurrentUser) -> HTMLResponse:
        feed: WallboardFeed = request.app.state.wallboard
        board = await feed.snapshot()
        return shell.render(request, user, "wallboard.html", board=asdict(board))
