"""In-call control (API v1, docs/in-call.md): hold / resume, PCI pause of the recording,
supervisor monitoring (listen, whisper, barge) of a live call.

`calls.control` (hold, resume, recording pause/resume, the view): admins and
supervisors any live call, an agent user only the call it is connected to (a `ROWS`
grant: another call is a 404). `calls.monitor`: admins and supervisors. Every request
is audited (`call.hold`, `call.resume`, `recording.pause`, `recording.resume`,
`monitor.start`, `monitor.change`, `monitor.stop`) whatever its outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from gateway.api.errors import Responses, error_doc
from gateway.api.params import NO_NUL
from gateway.api.v1.deps import OwnRows
from gateway.auth.http import CurrentUser
from gateway.control.errors import ControlError, NotFound
from gateway.control.hold_service import InCallService, InCallView
from gateway.sip.mixing import MonitorMode

CallId = Annotated[str, PathParam(max_length=64, description="the live call's id")]
Mode = Literal["listen", "whisper", "barge"]
ERRORS: Responses = {
    404: error_doc("no such live call (or not the agent user's own)"),
    409: error_doc(
        "the call is not in a state that allows it (not connected, already held or not "
        "held, not recorded, already paused or not paused, already monitored or not "
        "monitored, no free leg on the caller's worker for the supervisor)"
    ),
}
MONITOR_ERRORS: Responses = {
    **ERRORS,
    422: error_doc("`supervisor` names no agent entry (its phone registers as one)"),
}


class MonitorOut(BaseModel):
    supervisor: str
    mode: Mode
    state: Literal["dialing", "active", "ended"] = Field(
        description="dialing: its phone rings; active: it hears the call; ended"
    )
    by: str = Field(description="the API user who started it")
    started_at: str | None
    ended_at: str | None
    reason: str | None = Field(description="why it ended (api, supervisor-hung-up, ...)")


class PauseOut(BaseModel):
    start: float = Field(description="seconds from the start of its segment's recording")
    end: float | None = Field(description="null while paused")
    by: str = Field(description="the API user, or the agent when by its phone's code")
    segment: int = Field(1, description="the segment (1 until a transfer) whose files are silent")


class InCallOut(BaseModel):
    """A live call's hold, monitoring and recording-pause state."""

    call_id: str
    phase: str = Field(description="connected, held, ... (docs/control-plane.md)")
    agent: str | None
    held: bool
    hold_count: int
    hold_seconds: float = Field(description="every hold so far, the current one included")
    monitor: MonitorOut | None = Field(description="the current (else the last) supervisor")
    recording_paused: bool
    recording_pauses: list[PauseOut] = Field(description="the PCI-paused spans so far")

    @classmethod
    def of(cls, v: InCallView) -> InCallOut:
        return cls.model_validate(v, from_attributes=True)


class MonitorIn(BaseModel):
    mode: Mode = Field("listen", description="listen: hears both, heard by none; whisper: "
                       "heard by the agent only; barge: three-way")  # fmt: skip
    supervisor: str | None = Field(
        None, max_length=64, pattern=NO_NUL,
        description="the agent entry whose phone is dialled (default: the user's own agent)",
    )  # fmt: skip


class ModeIn(BaseModel):
    mode: Mode


def _service(request: Request) -> InCallService:
    service: InCallService | None = getattr(request.app.state, "incall", None)
    if service is None:  # an API without the call side (tests, tools): no live call
        raise NotFound("no live calls here: the API runs without the gateway's call side")
    return service


def install(app: FastAPI) -> None:
    async def audited(
        request: Request, user: CurrentUser, action: str, target: str,
        run: Callable[[], InCallView], **details: Any,
    ) -> InCallOut:  # fmt: skip
        auth = request.app.state.auth
        async with auth.audited(user, action, refused=ControlError, target=target,
                                details=details or None):  # fmt: skip
            return InCallOut.of(run())

    @app.get("/api/v1/calls/{call_id}/in-call", tags=["in-call"], responses=ERRORS,
             summary="A live call's hold, monitoring and recording pause")  # fmt: skip
    def view(call_id: CallId, request: Request, own: OwnRows) -> InCallOut:
        return InCallOut.of(_service(request).view(call_id, own))

    def simple(path: str, action: str, summary: str, method: str) -> None:
        async def act(call_id: CallId, request: Request, user: CurrentUser,
                      own: OwnRows) -> InCallOut:  # fmt: skip
            service = _service(request)
            run: Callable[[], InCallView] = lambda: getattr(service, method)(
                call_id, user.name, own
            )
            return await audited(request, user, action, call_id, run)

        act.__name__ = method
        app.post(path, tags=["in-call"], summary=summary, responses=ERRORS)(act)

    simple("/api/v1/calls/{call_id}/hold", "call.hold", "Hold: the caller hears the queue's "
           "music, the agent is cut from the caller both ways", "hold")  # fmt: skip
    simple("/api/v1/calls/{call_id}/resume", "call.resume",
           "Take the call off hold: caller and agent bridged again", "resume")  # fmt: skip
    simple("/api/v1/calls/{call_id}/recording/pause", "recording.pause", "PCI pause: both "
           "channels record silence until resumed (the spans are listed)",
           "pause_recording")  # fmt: skip
    simple("/api/v1/calls/{call_id}/recording/resume", "recording.resume",
           "End the PCI pause: the recording takes both parties again",
           "resume_recording")  # fmt: skip

    @app.post("/api/v1/calls/{call_id}/monitor", tags=["in-call"], status_code=201,
              responses=MONITOR_ERRORS, summary="A supervisor monitors the call: its phone "
              "is dialled on the caller's worker and mixed in as `mode` says")  # fmt: skip
    async def monitor(call_id: CallId, body: MonitorIn, request: Request,
                      user: CurrentUser) -> InCallOut:  # fmt: skip
        service = _service(request)
        supervisor = body.supervisor or user.agent_id or ""
        mode = MonitorMode(body.mode)
        return await audited(
            request, user, "monitor.start", call_id,
            lambda: service.monitor(call_id, supervisor, mode, user.name),
            supervisor=supervisor, mode=body.mode,
        )  # fmt: skip

    @app.patch("/api/v1/calls/{call_id}/monitor", tags=["in-call"], responses=ERRORS,
               summary="Switch the supervisor's mode live")  # fmt: skip
    async def change(call_id: CallId, body: ModeIn, request: Request,
                     user: CurrentUser) -> InCallOut:  # fmt: skip
        service, mode = _service(request), MonitorMode(body.mode)
        return await audited(request, user, "monitor.change", call_id,
                             lambda: service.set_mode(call_id, mode, user.name),
                             mode=body.mode)  # fmt: skip

    @app.delete("/api/v1/calls/{call_id}/monitor", tags=["in-call"], responses=ERRORS,
                summary="End the monitoring: the supervisor's phone is hung up")  # fmt: skip
    async def stop(call_id: CallId, request: Request, user: CurrentUser) -> InCallOut:
        service = _service(request)
        return await audited(request, user, "monitor.stop", call_id,
                             lambda: service.end_monitor(call_id, user.name))  # fmt: skip
