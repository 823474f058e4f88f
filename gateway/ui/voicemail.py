"""Voicemail page (`/ui/voicemail`): the boxes' messages, newest first, each with an
`<audio>` player on the API's audio route (playing it marks it listened) and Mark
handled / Reopen buttons that POST to the voicemail API with `ui.fetch` (CSRF header).
Who sees which box is the API's rule (gateway/api/v1/voicemail.py, docs/voicemail.md).
"""

from __future__ import annotations

from typing import get_args

from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.api.v1.voicemail import MessageOut, _store
from gateway.auth.http import CurrentUser
from gateway.auth.permissions import GRANTS, Permission, rows_agent
from gateway.store.voicemail import MessageFilter, State
from gateway.ui import shell

STATES: tuple[str, ...] = get_args(State)


def install(app: FastAPI) -> None:
    shell.add_nav(app, "Voicemail", "/ui/voicemail", Permission.VOICEMAIL_READ)

    @app.get("/ui/voicemail", include_in_schema=False)
    async def voicemail_page(
        request: Request, user: CurrentUser, box: str = "", state: str = ""
    ) -> Response:
        if request.app.state.search is None:
            text = "This gateway has no call records store (no database configured)."
            return shell.message(request, user, "Voicemail", text, 503)
        if state and state not in STATES:
            text = f"state: {state!r} is not one of {', '.join(STATES)}"
            return shell.message(request, user, "Voicemail", text, 422)
        if len(box) > 64 or "\x00" in box:
            return shell.message(request, user, "Voicemail", "box: at most 64 characters", 422)
        store = _store(request)
        own = rows_agent(user.role, user.agent_id, Permission.VOICEMAIL_READ)
        boxes = None if own is None else await store.agent_boxes(own)
        chosen: State | None = state or None  # type: ignore[assignment]
        f = MessageFilter(box=box or None, boxes=boxes, state=chosen)
        page = await store.messages(f, limit=100)
        all_boxes = sorted(
            boxes if boxes is not None else {m.box for m in page.items} | ({box} if box else set())
        )
        return shell.render(
            request, user, "voicemail.html", title="Voicemail",
            items=[MessageOut.of(m) for m in page.items], boxes=all_boxes, box=box,
            state=state, states=STATES, may_act=Permission.VOICEMAIL_ACT in GRANTS[user.role],
        )  # fmt: skip
