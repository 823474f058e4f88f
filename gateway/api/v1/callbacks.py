"""Queued callbacks (API v1, docs/callback.md): supervisors list pending (and past)
callbacks, cancel one, or reschedule it to a later time; it keeps its place in line.

`callbacks.read` / `callbacks.act` (gateway.auth.permissions): admins and supervisors.
The list reads the database (every state); cancel and reschedule go to the running
gateway's call side, which owns the ACD entry, and its change is stored with its event
(callback.cancelled). A callback being dialled or finished is a 409 naming its state.
Changes are audited (`callback.cancel`, `callback.reschedule`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from gateway.api.errors import Responses, error_doc
from gateway.api.params import NO_NUL, Integer
from gateway.api.v1.history import Since, Until, utc
from gateway.auth.http import CurrentUser
from gateway.control.driver import CallDriver
from gateway.control.errors import Conflict, ControlError, InvalidRequest, NotFound
from gateway.store.callbacks import CallbackFilter, CallbackStore, CallbackTask
from gateway.store.records import CallbackState, NotFoundError
from gateway.store.search import CallSearch

PREFIX = "/api/v1/callbacks"
WRITE_WAIT_SECONDS = 5.0  # how long a change waits for its row before it answers
CallbackId = Annotated[str, PathParam(max_length=64, description="the callback's id (a UUID)")]
MISSING: Responses = {404: error_doc("no such callback"), 503: error_doc("no store configured")}
CHANGE: Responses = {
    **MISSING,
    409: error_doc("the callback is not pending (being dialled, completed, failed, cancelled)"),
    422: error_doc("a bad `at` (naive, in the past) or body"),
}


class CallbackOut(BaseModel):
    """One callback; times in UTC."""

    id: str
    call_id: str = Field(description="the original call (the caller's place in line)")
    queue: str
    number: str = Field(description="E.164, dialled through the trunk")
    state: CallbackState
    arrived_at: datetime = Field(description="the original arrival: its place in line")
    requested_at: datetime
    not_before: datetime | None = Field(description="not dialled before (retry, reschedule)")
    attempts: int
    last_result: str | None
    outbound_call_id: str | None = Field(description="the latest attempt's call record")
    agent: str | None
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, t: CallbackTask) -> CallbackOut:
        return cls(
            id=str(t.id), call_id=str(t.call_id), queue=t.queue, number=t.number,
            state=t.state, arrived_at=t.arrived_at, requested_at=t.requested_at,
            not_before=t.not_before, attempts=t.attempts, last_result=t.last_result,
            outbound_call_id=str(t.outbound_call_id) if t.outbound_call_id else None,
            agent=t.agent, updated_at=t.updated_at, updated_by=t.updated_by,
        )  # fmt: skip


class RescheduleIn(BaseModel):
    at: datetime = Field(description="dial no earlier than this (RFC 3339 with an offset)")


def _store(request: Request) -> CallbackStore:
    store: CallbackStore | None = getattr(request.app.state, "callbacks_store", None)
    if store is None:
        search: CallSearch | None = request.app.state.search
        if search is None:
            raise HTTPException(503, "no store configured")
        store = request.app.state.callbacks_store = CallbackStore(search.database)
    return store


Store = Annotated[CallbackStore, Depends(_store)]


def _driver(request: Request) -> CallDriver:
    driver: CallDriver | None = getattr(request.app.state, "callbacks", None)
    if driver is None:
        raise Conflict("callbacks: the API runs without the gateway's call side")
    return driver


def _key(callback_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(callback_id)
    except ValueError:
        raise NotFound(f"callback_id: no callback {callback_id!r}") from None


async def _get(store: CallbackStore, callback_id: str) -> CallbackTask:
    try:
        return await store.get(_key(callback_id))
    except NotFoundError:
        raise NotFound(f"callback_id: no callback {callback_id!r}") from None


def install(app: FastAPI) -> None:
    @app.get(
        PREFIX, tags=["callbacks"], responses=MISSING,
        summary="Callbacks in service order (original arrival), filtered",
        description="Filters combine (AND): `state` (repeatable; default `pending` and "
        "`dialing`), `queue`, `from` (inclusive) / `to` (exclusive) on the request time.",
    )  # fmt: skip
    async def list_callbacks(
        store: Store,
        state: Annotated[list[CallbackState] | None, Query()] = None,
        queue: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
        since: Since = None,
        until: Until = None,
        limit: Annotated[Integer, Query(ge=1, le=500, description="rows")] = 100,
    ) -> list[CallbackOut]:
        states = tuple(state) if state else ("pending", "dialing")
        f = CallbackFilter(states, queue, utc(since, "from"), utc(until, "to"))
        return [CallbackOut.of(t) for t in await store.search(f, limit=limit)]

    @app.get(f"{PREFIX}/{{callback_id}}", tags=["callbacks"], summary="One callback",
             responses=MISSING)  # fmt: skip
    async def get_callback(callback_id: CallbackId, store: Store) -> CallbackOut:
        return CallbackOut.of(await _get(store, callback_id))

    async def change(
        request: Request, user: CurrentUser, store: Store, callback_id: str, action: str,
        run: Callable[[CallDriver], CallbackTask], **details: str,
    ) -> CallbackOut:  # fmt: skip
        auth = request.app.state.auth
        async with auth.audited(user, action, refused=ControlError, target=callback_id,
                                details=details):  # fmt: skip
            stored = await _get(store, callback_id)
            if stored.state != "pending":
                raise Conflict(f"callback {callback_id} is {stored.state}, not pending")
            driver = _driver(request)
            task = run(driver)
            # read your writes: answer once the row is changed. Bounded and shielded:
            # during a database outage the change stays queued (and retried) all the same
            with contextlib.suppress(TimeoutError):
                written = asyncio.shield(driver.callback_changes_written())
                await asyncio.wait_for(written, WRITE_WAIT_SECONDS)
        return CallbackOut.of(task)

    @app.post(
        f"{PREFIX}/{{callback_id}}/cancel", tags=["callbacks"], responses=CHANGE,
        summary="Cancel a pending callback (event callback.cancelled)",
    )  # fmt: skip
    async def cancel_callback(
        callback_id: CallbackId, request: Request, user: CurrentUser, store: Store
    ) -> CallbackOut:
        def run(d: CallDriver) -> CallbackTask:
            return d.act(lambda: d.board.callbacks.cancel(str(_key(callback_id)), user.name))

        return await change(request, user, store, callback_id, "callback.cancel", run)

    @app.post(
        f"{PREFIX}/{{callback_id}}/reschedule", tags=["callbacks"], responses=CHANGE,
        summary="Dial a pending callback no earlier than `at`; it keeps its place",
        description="Within the queue's dialling window: a time outside it waits for the "
        "window's next opening.",
    )  # fmt: skip
    async def reschedule_callback(
        callback_id: CallbackId, body: RescheduleIn, request: Request, user: CurrentUser,
        store: Store,
    ) -> CallbackOut:  # fmt: skip
        if body.at.tzinfo is None:
            raise InvalidRequest("at: give a time zone offset, e.g. 2026-12-01T15:00:00Z")
        try:
            at = body.at.astimezone(UTC)
        except OverflowError:
            raise InvalidRequest(f"at: {body.at.isoformat()} is out of range") from None
        if at < datetime.now(UTC):
            raise InvalidRequest(f"at: {body.at.isoformat()} is in the past")

        def run(d: CallDriver) -> CallbackTask:
            return d.act(lambda: d.board.callbacks.reschedule(str(_key(callback_id)), at,
                                                              user.name))  # fmt: skip

        return await change(request, user, store, callback_id, "callback.reschedule", run,
                            at=at.isoformat())  # fmt: skip
