"""The agent desktop (`/ui/agent`): the agent's state with pause/ready/log in-out
buttons, per-queue login, the screen-pop of the call it is offered (caller, name, DID,
queue, wait, the caller's history) and, after the call, the wrap-up code picker and
notes. Painted from the desktop in the HTML, then live over `GET /api/v1/desktop/stream`
(one EventSource). Every button calls the existing API with `ui.fetch` (CSRF header).
`/ui/agent/calls/{id}` (the agent INVITE's Call-Info link) shows one call's pop.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.api.v1.deps import OwnRows
from gateway.api.v1.desktop import desktop_view, pop_of
from gateway.auth.http import CurrentUser
from gateway.auth.permissions import Permission
from gateway.control.errors import ControlError
from gateway.ui import shell

TITLE = "Agent desktop"


def install(app: FastAPI) -> None:
    shell.add_nav(app, "Desktop", "/ui/agent", Permission.DESKTOP_READ)

    @app.get("/ui/agent", include_in_schema=False)
    async def agent_page(request: Request, user: CurrentUser, own: OwnRows) -> Response:
        if not own:
            text = "The desktop is for a user bound to an agent (contactgw users add --agent)."
            return shell.message(request, user, TITLE, text, 404)
        try:
            desk = await desktop_view(request, own, own)
        except ControlError as exc:  # its agent is gone from the routing
            return shell.message(request, user, TITLE, str(exc), 404)
        return shell.render(
            request, user, "agent.html", desktop=desk.model_dump(mode="json"), pop=None
        )

    @app.get("/ui/agent/calls/{call_id}", include_in_schema=False)
    async def agent_call_page(
        request: Request, call_id: str, user: CurrentUser, own: OwnRows
    ) -> Response:
        try:
            pop = await pop_of(request, call_id, own)
        except ControlError as exc:
            return shell.message(request, user, TITLE, str(exc), 404)
        return shell.render(
            request, user, "agent.html", desktop=None, pop=pop.model_dump(mode="json")
        )
