"""FastAPI application: thin routers over the `ControlPlaneApi` protocol.

Routers validate input and call one method; the control plane does the work and
raises `errors.ControlError` subclasses, mapped to HTTP in one table (errors.py).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from gateway.api.errors import install_error_handlers
from gateway.api.views import ActiveCall, AgentStatus, Health, QueueView


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
    async def call_records(self, limit: int) -> list[dict[str, Any]]: ...
    async def recording_file(self, call_id: str, role: RecordingRole | None) -> Path: ...


class EventsApi(Protocol):
    """What the events routes need (implemented by gateway.events.replay.EventsReplay);
    `page` raises ValueError with the reason for a cursor or limit it cannot serve."""

    async def page(
        self, after: str | None, type: str | None, subject: str | None, limit: int
    ) -> dict[str, Any]: ...
    def schema_file(self, name: str) -> Path | None: ...


def require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """With `api.admin_token` set, every non-ops route needs `Authorization: Bearer <token>`."""
    token = request.app.state.admin_token
    if token and authorization != f"Bearer {token}":
        raise HTTPException(401, "missing or wrong bearer token")


Authorized = Annotated[None, Depends(require_token)]


RecordingRole = Literal["stereo", "caller", "agent", "voicemail"]


class PauseRequest(BaseModel):
    reason: str = Field(default="break", min_length=1, max_length=64, pattern=r"^[\w .-]+$")


def create_app(
    control: ControlPlaneApi, admin_token: str | None = None, *, events: EventsApi | None = None
) -> FastAPI:
    app = FastAPI(
        title="contactgw",
        version="0.1.0",
        description="Control plane API of the contactgw contact-center gateway.",
    )
    app.state.admin_token = admin_token
    install_error_handlers(app)

    @app.get("/health", tags=["ops"], summary="Liveness and component state")
    def health() -> JSONResponse:
        report = control.health()
        code = 200 if report.status == "ok" else 503
        return JSONResponse(asdict(report), status_code=code)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    def metrics() -> Response:
        body, content_type = control.metrics_exposition()
        return Response(body, media_type=content_type)

    @app.get("/agents", tags=["agents"])
    def list_agents(_: Authorized) -> list[AgentStatus]:
        return control.agents()

    @app.get("/agents/{agent_id}", tags=["agents"])
    def get_agent(agent_id: str, _: Authorized) -> AgentStatus:
        return control.agent(agent_id)

    @app.post("/agents/{agent_id}/login", tags=["agents"])
    def login(agent_id: str, _: Authorized) -> AgentStatus:
        return control.login_agent(agent_id)

    @app.post("/agents/{agent_id}/logout", tags=["agents"])
    def logout(agent_id: str, _: Authorized) -> AgentStatus:
        return control.logout_agent(agent_id)

    @app.post("/agents/{agent_id}/pause", tags=["agents"])
    def pause(agent_id: str, body: PauseRequest, _: Authorized) -> AgentStatus:
        return control.pause_agent(agent_id, body.reason)

    @app.post("/agents/{agent_id}/unpause", tags=["agents"])
    def unpause(agent_id: str, _: Authorized) -> AgentStatus:
        return control.unpause_agent(agent_id)

    @app.post("/agents/{agent_id}/ready", tags=["agents"], summary="End wrap-up early")
    def ready(agent_id: str, _: Authorized) -> AgentStatus:
        return control.ready_agent(agent_id)

    @app.get("/queues", tags=["queues"])
    def list_queues(_: Authorized) -> list[QueueView]:
        return control.queues()

    @app.get("/calls", tags=["calls"], summary="Calls in progress")
    def list_calls(_: Authorized) -> list[ActiveCall]:
        return control.active_calls()

    @app.get("/cdr", tags=["calls"], summary="Most recent call records")
    async def list_cdr(
        _: Authorized, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[dict[str, Any]]:
        return await control.call_records(limit)

    @app.get(
        "/calls/{call_id}/recording",
        tags=["calls"],
        summary="A finished call's recording (WAV)",
        description="`role`: `stereo` (caller left, agent right), `caller`, `agent` or "
        "`voicemail`; without it, the stereo file, else the voicemail or caller file. "
        "404 until the call's record is closed (the `recording.ready` event).",
        response_class=FileResponse,
    )
    async def get_recording(
        call_id: str, _: Authorized, role: RecordingRole | None = None
    ) -> FileResponse:
        path = await control.recording_file(call_id, role)
        return FileResponse(path, media_type="audio/wav", filename=f"{call_id}-{path.name}")

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
        _: Authorized,
        after: str | None = None,
        type: str | None = None,
        subject: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        try:
            return await events.page(after, type, subject, limit)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get("/events/schemas/{name}", tags=["events"], summary="An event's JSON Schema")
    def event_schema(name: str) -> FileResponse:
        path = events.schema_file(name)
        if path is None:
            raise HTTPException(404, f"no schema {name!r}")
        media = "application/schema+json" if name.endswith(".json") else "application/yaml"
        return FileResponse(path, media_type=media)
