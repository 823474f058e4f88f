"""FastAPI application: thin routers over the `ControlPlaneApi` protocol.

Routers validate input and call one method; the control plane does the work and
raises `errors.ControlError` subclasses, mapped to HTTP in one table (errors.py).
Access: `gateway.auth.http.authorize` runs on every route (installed on the app) and
checks the route's permission in `gateway.auth.permissions.ROUTES`; changes and
recording downloads are written to the audit log (`GET /api/v1/audit`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from gateway import ui
from gateway.api.errors import COMMON_ERRORS, CONFLICT, NOT_FOUND, error_doc, install_error_handlers
from gateway.api.openapi import install_openapi
from gateway.api.params import Integer, IsoDateTime
from gateway.api.v1 import callbacks as callback_routes
from gateway.api.v1 import desktop as desktop_routes
from gateway.api.v1 import history
from gateway.api.v1 import incall as incall_routes
from gateway.api.v1 import qa as qa_routes
from gateway.api.v1 import routing as routing_routes
from gateway.api.v1 import stats as stats_routes
from gateway.api.v1 import transfers as transfer_routes
from gateway.api.v1 import voicemail as voicemail_routes
from gateway.api.v1 import wallboard as wallboard_routes
from gateway.api.views import ActiveCall, AgentStatus, DayCount, Health, QueueView, Wallboard
from gateway.auth.http import CurrentUser, authorize, install_auth
from gateway.auth.service import Authenticator, Principal
from gateway.control.errors import ControlError
from gateway.store.search import CallSearch
from gateway.store.stats import StatsStore


class ControlPlaneApi(Protocol):
    """What the API needs from the control plane (implemented by gateway.control)."""

    def health(self) -> Health: ...
    def metrics_exposition(self) -> tuple[bytes, str]: ...
    def agents(self) -> list[AgentStatus]: ...
    def agent(self, agent_id: str) -> AgentStatus: ...
    def login_agent(self, agent_id: str) -> AgentStatus: ...
    def logout_agent(self, agent_id: str) -> AgentStatus: ...
    def pause_agent(self, agent_id: str, reason: str) -> AgentStatus: ...
    def unpause_agent(self, agent_id: str) -> AgentStatus: ...
    def ready_agent(self, agent_id: str) -> AgentStatus: ...
    def queues(self) -> list[QueueView]: ...
    def active_calls(self) -> list[ActiveCall]: ...
    def wallboard(self, today: dict[str, DayCount] | None = None) -> Wallboard: ...
    async def call_records(self, limit: int) -> list[dict[str, Any]]: ...
    async def recording_file(self, call_id: str, role: RecordingRole | None) -> Path: ...


class EventsApi(Protocol):
    """What the events routes need (implemented by gateway.events.replay.EventsReplay);
    `page` raises ValueError with the reason for a cursor or limit it cannot serve."""

    async def page(
        self, after: str | None, type: str | None, subject: str | None, limit: int
    ) -> dict[str, Any]: ...
    def schema_file(self, name: str) -> Path | None: ...


ACTION_ERRORS = {**NOT_FOUND, **CONFLICT}
RecordingRole = Literal["stereo", "caller", "agent", "voicemail"]


class PauseRequest(BaseModel):
    reason: str = Field(default="break", min_length=1, max_length=64, pattern=r"^[\w .-]+$")


class AuditItem(BaseModel):
    id: int
    at: datetime
    user: str
    role: str
    action: str
    target: str | None
    details: dict[str, Any]
    outcome: str


class AuditPage(BaseModel):
    items: list[AuditItem]
    next: int | None = Field(description="`after` for the next page; null: none yet")


def create_app(
    control: ControlPlaneApi,
    admin_token: str | None = None,
    *,
    events: EventsApi | None = None,
    auth: Authenticator | None = None,
    search: CallSearch | None = None,
    stats: StatsStore | None = None,
) -> FastAPI:
    """`auth`: users and audit in the database; without it, `admin_token` alone (or
    nothing: an open API). `search`, `stats`: the call records the v1 history,
    recordings and statistics routes read (without them those answer 503).

    The live views are served under `/api/v1/...` too: one handler, two paths."""
    app = FastAPI(
        title="contactgw",
        version="0.1.0",
        description="Control plane API of the contactgw contact-center gateway.",
        dependencies=[Depends(authorize)],
        responses=COMMON_ERRORS,
    )
    auth = auth if auth is not None else Authenticator(None, admin_token)
    install_auth(app, auth)
    install_error_handlers(app)
    install_openapi(app)
    app.state.control, app.state.search, app.state.stats = control, search, stats
    history.install(app)
    stats_routes.install(app)
    routing_routes.install(app)  # routing definitions, over app.state.routing_admin
    wallboard_routes.install(app)  # JSON snapshot and SSE stream, one sampler (lazy)
    voicemail_routes.install(app)  # voicemail boxes over the call records (docs/voicemail.md)
    qa_routes.install(app)  # QA forms, evaluations, remarks, over app.state.qa (docs/qa.md)
    desktop_routes.install(app)  # agent desktop and wrap-up, over app.state.desktop
    transfer_routes.install(app)  # transfers of live calls, over app.state.transfers
    incall_routes.install(app)  # hold, PCI pause, monitoring, over app.state.incall
    callback_routes.install(app)  # queued callbacks, over app.state.callbacks (docs/callback.md)
    ui.install(app)  # the web UI under /ui/ (gateway/ui/, docs/ui.md)

    async def act(
        user: Principal,
        action: str,
        agent_id: str,
        change: Callable[[], AgentStatus],
        **details: Any,
    ) -> AgentStatus:
        """Run an agent action and audit it, whatever its outcome."""
        try:
            status = change()
        except ControlError as exc:
            await auth.audit(
                user, action, target=agent_id, outcome=type(exc).__name__, details=details
            )
            raise
        await auth.audit(user, action, target=agent_id, outcome="ok", details=details)
        return status

    @app.get(
        "/health",
        tags=["ops"],
        summary="Liveness and component state",
        response_model=Health,
        responses={503: {"model": Health, "description": "degraded, starting or stopping"}},
    )
    def health() -> JSONResponse:
        report = control.health()
        code = 200 if report.status == "ok" else 503
        return JSONResponse(asdict(report), status_code=code)

    @app.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "the exposition"}},
    )
    def metrics() -> Response:
        body, content_type = control.metrics_exposition()
        return Response(body, media_type=content_type)

    @app.get("/agents", tags=["agents"])
    @app.get("/api/v1/agents", tags=["agents"])
    def list_agents() -> list[AgentStatus]:
        return control.agents()

    @app.get("/agents/{agent_id}", tags=["agents"], responses=NOT_FOUND)
    @app.get("/api/v1/agents/{agent_id}", tags=["agents"], responses=NOT_FOUND)
    def get_agent(agent_id: str) -> AgentStatus:
        return control.agent(agent_id)

    @app.post("/agents/{agent_id}/login", tags=["agents"], responses=ACTION_ERRORS)
    @app.post("/api/v1/agents/{agent_id}/login", tags=["agents"], responses=ACTION_ERRORS)
    async def login(agent_id: str, user: CurrentUser) -> AgentStatus:
        return await act(user, "agent.login", agent_id, lambda: control.login_agent(agent_id))

    @app.post("/agents/{agent_id}/logout", tags=["agents"], responses=ACTION_ERRORS)
    @app.post("/api/v1/agents/{agent_id}/logout", tags=["agents"], responses=ACTION_ERRORS)
    async def logout(agent_id: str, user: CurrentUser) -> AgentStatus:
        return await act(user, "agent.logout", agent_id, lambda: control.logout_agent(agent_id))

    @app.post("/agents/{agent_id}/pause", tags=["agents"], responses=ACTION_ERRORS)
    @app.post("/api/v1/agents/{agent_id}/pause", tags=["agents"], responses=ACTION_ERRORS)
    async def pause(agent_id: str, body: PauseRequest, user: CurrentUser) -> AgentStatus:
        return await act(
            user,
            "agent.pause",
            agent_id,
            lambda: control.pause_agent(agent_id, body.reason),
            reason=body.reason,
        )

    @app.post("/agents/{agent_id}/unpause", tags=["agents"], responses=ACTION_ERRORS)
    @app.post("/api/v1/agents/{agent_id}/unpause", tags=["agents"], responses=ACTION_ERRORS)
    async def unpause(agent_id: str, user: CurrentUser) -> AgentStatus:
        return await act(user, "agent.unpause", agent_id, lambda: control.unpause_agent(agent_id))

    @app.post(
        "/agents/{agent_id}/ready",
        tags=["agents"],
        summary="End wrap-up early",
        responses=ACTION_ERRORS,
    )
    @app.post(
        "/api/v1/agents/{agent_id}/ready",
        tags=["agents"],
        summary="End wrap-up early",
        responses=ACTION_ERRORS,
    )
    async def ready(agent_id: str, user: CurrentUser) -> AgentStatus:
        return await act(user, "agent.ready", agent_id, lambda: control.ready_agent(agent_id))

    @app.get("/queues", tags=["queues"])
    @app.get("/api/v1/queues", tags=["queues"])
    def list_queues() -> list[QueueView]:
        return control.queues()

    @app.get("/calls", tags=["calls"], summary="Calls in progress")
    def list_calls() -> list[ActiveCall]:
        return control.active_calls()

    @app.get("/cdr", tags=["calls"], summary="Most recent call records")
    async def list_cdr(
        limit: Annotated[Integer, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        return await control.call_records(limit)

    @app.get(
        "/api/v1/audit",
        tags=["audit"],
        summary="The audit log, oldest first (admin only)",
        description="Agent actions, recording downloads, refused requests (403) and user "
        "or token changes from the CLI. `after`: the `next` of the last page.",
    )
    async def audit_log(
        since: IsoDateTime | None = None,
        user: str | None = None,
        action: str | None = None,
        after: Annotated[Integer | None, Query(ge=0)] = None,
        limit: Annotated[Integer, Query(ge=1, le=1000)] = 100,
    ) -> AuditPage:
        store = auth.audit_store
        if store is None:
            return AuditPage(items=[], next=None)
        rows = await store.page(after=after, since=since, user=user, action=action, limit=limit)
        items = [
            AuditItem(
                id=r.id or 0,
                at=r.at,
                user=r.user,
                role=r.role,
                action=r.action,
                target=r.target,
                details=r.details,
                outcome=r.outcome,
            )
            for r in rows
        ]
        return AuditPage(items=items, next=items[-1].id if len(items) == limit else None)

    if events is not None:
        _add_event_routes(app, events)
    return app


def _add_event_routes(app: FastAPI, events: EventsApi) -> None:
    @app.get(
        "/events",
        tags=["events"],
        summary="Retained call events (CloudEvents), oldest first, after a cursor",
        description="`after`: the id of the last event seen, or the `next` of the last "
        "page. Page on until `next` is null.",
    )
    async def list_events(
        after: str | None = None,
        type: str | None = None,
        subject: str | None = None,
        limit: Annotated[Integer, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        try:
            return await events.page(after, type, subject, limit)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get(
        "/events/schemas/{name}",
        tags=["events"],
        summary="An event's JSON Schema",
        response_class=FileResponse,
        responses={
            200: {
                "content": {"application/schema+json": {}, "application/yaml": {}},
                "description": "the schema (`.json`) or the AsyncAPI document (`.yaml`)",
            },
            404: error_doc("no such schema"),
        },
    )
    def event_schema(name: str) -> FileResponse:
        path = events.schema_file(name)
        if path is None:
            raise HTTPException(404, f"no schema {name!r}")
        media = "application/schema+json" if name.endswith(".json") else "application/yaml"
        return FileResponse(path, media_type=media)
