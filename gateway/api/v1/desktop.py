"""The agent desktop (API v1): the agent's state and queues, the screen-pop of the call it
is offered, talking on or wrapping up (with the caller's history), live over
Server-Sent Events, and the wrap-up (code and notes) it sets for a call it handled.

Who: `desktop.read` and `calls.wrapup` (gateway.auth.permissions), a `ROWS` grant for
the agent role: an agent user sees its own desktop and wraps up the calls it answered
(another agent's call is a 404, as an unknown one). Admins may name any agent
(`?agent=`). docs/desktop.md has the design: when `call.completed` carries the wrap-up
and when only the record does.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.errors import NOT_FOUND, Responses, error_doc
from gateway.api.params import NO_NUL
from gateway.api.v1.deps import OwnRows, call_key
from gateway.api.v1.desktop_stream import stream_response
from gateway.api.v1.qa import agent_may_hear
from gateway.api.views import AgentStatus
from gateway.auth.http import CurrentUser, authenticator
from gateway.auth.service import Principal
from gateway.control.desktop import DesktopControl, LiveCall
from gateway.control.errors import ControlError, InvalidRequest, NotFound
from gateway.control.wrapups import WrapupNote
from gateway.store.records import CallRecord, NotFoundError
from gateway.store.search import recording_paths
from gateway.store.wrapup import NOTES_MAX, WrapupStore, record_agents, wrapup_of

UNAVAILABLE: Responses = {503: error_doc("no call records store configured")}
CallId = Annotated[str, PathParam(max_length=64, description="the call's id (a UUID)")]
AgentParam = Annotated[
    str | None,
    Query(max_length=64, pattern=NO_NUL, description="admins: whose desktop (agent users: own)"),
]
# offered in the desktop's pause picker; the API takes any reason PauseRequest accepts
PAUSE_REASONS = ("break", "lunch", "meeting", "training", "admin")
ROW_WAIT = 2.0  # seconds a wrap-up waits for a live call's record to be written


@dataclass
class DesktopState:
    """`app.state.desktop`: the live side (None: no running gateway) and the records."""

    control: DesktopControl | None = None
    store: WrapupStore | None = None
    history_days: int = 30


class HistoryItem(BaseModel):
    call_id: str
    arrived_at: datetime
    queue: str | None
    agent: str | None
    disposition: str | None
    talk_seconds: float | None
    wrapup_code: str | None
    wrapup_notes: str | None
    recording_url: str | None = Field(
        description="the player page, when the role's recording policy lets this user hear it"
    )


class Pop(BaseModel):
    """The screen-pop: who is calling, where to, how long they waited, what came before."""

    call_id: str
    state: Literal["ringing", "talking", "wrap-up", "ended"]
    caller: str | None
    caller_name: str | None = Field(description="the From display name, else a previous call's")
    did: str | None
    queue: str | None
    arrived_at: datetime
    wait_seconds: float = Field(description="arrival to answer, or to now while ringing")
    wrapup_codes: list[str] = Field(description="the queue's codes to pick from after the call")
    wrapup_code: str | None
    wrapup_notes: str | None
    history: list[HistoryItem] = Field(description="the caller's previous calls, newest first")


class QueueLogin(BaseModel):
    name: str
    logged_in: bool


class Desktop(BaseModel):
    agent: AgentStatus
    queues: list[QueueLogin] = Field(description="the queues it may log in to, and which it does")
    pause_reasons: list[str]
    call: Pop | None = Field(description="the call it is offered, talking on or wrapping up")


class WrapupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(None, max_length=64, pattern=NO_NUL, description="one of the queue's")
    notes: str | None = Field(None, max_length=NOTES_MAX, pattern=NO_NUL)
    ready: bool = Field(True, description="end the agent's wrap-up time now (takes calls again)")
    agent: str | None = Field(
        None, max_length=64, pattern=NO_NUL,
        description="whose wrap-up, when a call had several agents (a transfer): admins and "
        "supervisors name one; an agent user may only name itself. Default: the call's "
        "agent (the one connected now, for a live call)",
    )  # fmt: skip


class WrapupOut(BaseModel):
    call_id: str
    code: str | None
    notes: str | None
    by: str = Field(description="the agent whose call it is")
    at: datetime
    in_call_completed: bool = Field(
        description="true: call.completed (still to come) carries it; false: the event "
        "went out before, the call record alone has it"
    )


def state_of(request: Request) -> DesktopState:
    state: DesktopState | None = getattr(request.app.state, "desktop", None)
    return state if state is not None else DesktopState()


def _store(state: DesktopState) -> WrapupStore:
    if state.store is None:
        raise HTTPException(503, "no call records store configured")
    return state.store


def whose(user: Principal, own: str | None, agent: str | None) -> str:
    """The agent a desktop request is about: an agent user's own, an admin's `agent`."""
    if own is not None:
        if not own:
            raise NotFound("this user is bound to no agent")
        return own
    if not agent:
        raise InvalidRequest("agent: required for a user bound to no agent")
    return agent


def _codes(state: DesktopState, queue: str | None) -> tuple[str, ...] | None:
    return state.control.codes(queue) if state.control is not None else None


async def _history(
    request: Request, state: DesktopState, caller: str | None, exclude: uuid.UUID, own: str | None
) -> list[HistoryItem]:
    if not caller or state.store is None:
        return []
    since = datetime.now(UTC) - timedelta(days=state.history_days)
    rows = await state.store.history(caller, since, exclude=exclude)
    return [
        HistoryItem(
            call_id=str(r.id), arrived_at=r.arrived_at, queue=r.queue, agent=r.agent,
            disposition=r.disposition, talk_seconds=r.talk_seconds, wrapup_code=r.wrapup_code,
            wrapup_notes=r.wrapup_notes, recording_url=await _recording_url(request, r, own),
        )
        for r in rows
    ]  # fmt: skip


async def _recording_url(request: Request, r: CallRecord, own: str | None) -> str | None:
    if not recording_paths(r):
        return None
    if own is not None and not await agent_may_hear(request, r, own):
        return None
    return f"/ui/calls/{r.id}"


# what a live pop reads from the records, per (call, state): a stream reads it once
Cache = dict[tuple[str, str], Pop]


async def live_pop(
    request: Request, state: DesktopState, live: LiveCall, own: str | None, cache: Cache
) -> Pop:
    until = live.answered_at or datetime.now(UTC)
    wait = round(max(0.0, (until - live.arrived_at).total_seconds()), 1)
    read = cache.get((live.call_id, live.state))
    if read is not None:
        return read.model_copy(update={"wait_seconds": wait})
    key = call_key(live.call_id)
    name = live.caller_name
    if name is None and live.caller and state.store is not None:
        name = await state.store.known_name(live.caller)
    record = await state.store.call(key) if state.store is not None else None
    pop = Pop(
        call_id=live.call_id, state=live.state, caller=live.caller, caller_name=name,
        did=live.did, queue=live.queue, arrived_at=live.arrived_at, wait_seconds=wait,
        wrapup_codes=list(_codes(state, live.queue) or ()),
        wrapup_code=wrapup_of(record, own)[0] if record else None,
        wrapup_notes=wrapup_of(record, own)[1] if record else None,
        history=await _history(request, state, live.caller, key, own),
    )  # fmt: skip
    cache.clear()  # one call at a time
    cache[(live.call_id, live.state)] = pop
    return pop


async def recorded_pop(
    request: Request, state: DesktopState, r: CallRecord, own: str | None
) -> Pop:
    codes = _codes(state, r.queue)
    name = r.caller_name
    if name is None and r.caller and state.store is not None:
        name = await state.store.known_name(r.caller)
    until = r.answered_at or r.ended_at or r.arrived_at
    return Pop(
        call_id=str(r.id), state="ended", caller=r.caller, caller_name=name, did=r.did,
        queue=r.queue, arrived_at=r.arrived_at,
        wait_seconds=round(max(0.0, (until - r.arrived_at).total_seconds()), 1),
        wrapup_codes=list(codes or ()), wrapup_code=wrapup_of(r, own)[0],
        wrapup_notes=wrapup_of(r, own)[1],
        history=await _history(request, state, r.caller, r.id, own),
    )  # fmt: skip


async def desktop_view(
    request: Request, agent: str, own: str | None, cache: Cache | None = None
) -> Desktop:
    state = state_of(request)
    control = state.control  # None (no running gateway): the agent's state alone
    status: AgentStatus = request.app.state.control.agent(agent)
    live = control.current(agent) if control is not None else None
    configured = control.configured_queues(agent) if control is not None else ()
    return Desktop(
        agent=status,
        queues=[QueueLogin(name=q, logged_in=q in status.queues) for q in configured],
        pause_reasons=list(PAUSE_REASONS),
        call=None if live is None else await live_pop(request, state, live, own, cache or {}),
    )  # fmt: skip


async def _save(state: DesktopState, key: uuid.UUID, note: WrapupNote, *, live: bool) -> CallRecord:
    """Save on the record; a live call's row may be a moment behind (write-behind). The
    live call vouched for the agent; a record is checked against its agents."""
    store, waited = _store(state), 0.0
    while True:
        try:
            check = None if live else note.by
            return await store.save(key, note.code, note.notes, note.by, note.at, agent=check)
        except NotFoundError:
            if not live or waited >= ROW_WAIT:
                raise NotFound(f"no call {key}") from None
        await asyncio.sleep(0.1)
        waited += 0.1


async def wrapup(request: Request, call_id: str, body: WrapupIn, own: str | None) -> WrapupOut:
    state = state_of(request)
    key = call_key(call_id)
    control = state.control
    found = control.open_call(str(key)) if control is not None else None
    if found is not None and control is not None:
        (agent, queue), took = found, control.took_call(str(key))
    else:
        record = await _store(state).call(key)
        agent, queue = (record.agent, record.queue) if record else (None, None)
        took = tuple(record_agents(record.agent, record.segments)) if record else ()
    if own is not None and body.agent not in (None, own):
        raise NotFound(f"no call {call_id!r} of agent {body.agent!r}")
    agent = own or body.agent or agent
    if agent is None or agent not in took:
        raise NotFound(f"no call {call_id!r}")  # unknown, unanswered, or not this agent's
    codes = _codes(state, queue)
    if body.code is not None and body.code not in (codes or ()):
        known = ", ".join(codes) if codes else "none"
        raise InvalidRequest(
            f"code: unknown wrap-up code {body.code!r} for queue {queue!r} (known: {known})"
        )
    note = WrapupNote(body.code, body.notes or None, agent, datetime.now(UTC))
    saved = await _save(state, key, note, live=found is not None)
    carried = False
    if found is not None and state.control is not None:
        carried = state.control.submit(str(key), note, ready=body.ready)
    mine = next(w for w in saved.wrapups or () if w.get("agent") == agent)
    return WrapupOut(
        call_id=str(key), code=mine["code"], notes=mine["notes"], by=agent,
        at=note.at, in_call_completed=carried,
    )  # fmt: skip


def install(app: FastAPI) -> None:
    if not hasattr(app.state, "desktop"):
        app.state.desktop = DesktopState()

    @app.get(
        "/api/v1/desktop",
        tags=["desktop"],
        summary="The agent's desktop now: state, queues, the call's screen-pop",
        responses={**NOT_FOUND, **UNAVAILABLE},
    )
    async def get_desktop(
        request: Request, user: CurrentUser, own: OwnRows, agent: AgentParam = None
    ) -> Desktop:
        return await desktop_view(request, whose(user, own, agent), own)

    @app.get(
        "/api/v1/desktop/stream",
        tags=["desktop"],
        summary="The agent's desktop, live (Server-Sent Events)",
        description="`retry: 3000`, then `event: desktop` with the `GET /api/v1/desktop` "
        "JSON each time it changes (sampled every 0.2 s; the screen-pop's history is read "
        "once per call), a `: heartbeat` comment after 15 s without one.",
        responses={
            200: {
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
                "description": "an endless event stream",
            },
            **NOT_FOUND,
            **UNAVAILABLE,
        },
        response_class=StreamingResponse,
    )
    async def desktop_stream(
        request: Request, user: CurrentUser, own: OwnRows, agent: AgentParam = None
    ) -> StreamingResponse:
        who, cache = whose(user, own, agent), Cache()
        await desktop_view(request, who, own, cache)  # a 404/503 before the stream starts
        control = request.app.state.control
        return stream_response(
            lambda: desktop_view(request, who, own, cache),
            lambda: getattr(control, "phase", "") == "stopping",
        )

    @app.get(
        "/api/v1/desktop/calls/{call_id}",
        tags=["desktop"],
        summary="The screen-pop of one of the agent's calls (the Call-Info target's data)",
        responses={**NOT_FOUND, **UNAVAILABLE},
    )
    async def get_pop(request: Request, call_id: CallId, own: OwnRows) -> Pop:
        return await pop_of(request, call_id, own)

    @app.post(
        "/api/v1/calls/{call_id}/wrapup",
        tags=["desktop"],
        summary="Set the wrap-up code and notes of a call the agent answered",
        description="`code` must be one of the call's queue's `wrapup_codes` (422 naming "
        "it otherwise); `notes` at most 2000 characters. While `call.completed` is still "
        "to come (the call is up or its agent wraps up) the event carries them; `ready` "
        "(default true) ends the agent's wrap-up at once, so it goes out now. A later "
        "change is saved on the call record only. Audited (`call.wrapup`).",
        responses={**NOT_FOUND, **UNAVAILABLE},
    )
    async def post_wrapup(
        request: Request, call_id: CallId, body: WrapupIn, user: CurrentUser, own: OwnRows
    ) -> WrapupOut:
        auth = authenticator(request)
        details = {"code": body.code, "ready": body.ready}
        try:
            out = await wrapup(request, call_id, body, own)
        except ControlError as exc:
            await auth.audit(
                user, "call.wrapup", target=call_id, outcome=type(exc).__name__, details=details
            )
            raise
        await auth.audit(user, "call.wrapup", target=call_id, outcome="ok", details=details)
        return out


async def pop_of(request: Request, call_id: str, own: str | None) -> Pop:
    """One call's pop: live if it is an open call of the agent, else from its record."""
    state = state_of(request)
    key = call_key(call_id)
    live = state.control.current(own) if state.control is not None and own else None
    if live is not None and live.call_id == str(key):  # ringing it: the Call-Info link
        return await live_pop(request, state, live, own, {})
    record = await _store(state).call(key)
    if record is None or (
        own is not None and own not in record_agents(record.agent, record.segments)
    ):
        raise NotFound(f"no call {call_id!r}")  # a transfer's target may see its call too
    return await recorded_pop(request, state, record, own)
