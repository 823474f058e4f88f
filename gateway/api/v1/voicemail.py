"""Voicemail boxes (API v1): the messages callers left, their playback, and their state
`new -> listened -> handled` (docs/voicemail.md).

Playing a message (`/audio`) marks it listened by the user and is audited
(`voicemail.play`); handling and reopening are explicit POSTs, audited too. Who sees
which box (`voicemail.read` / `voicemail.act`, gateway.auth.permissions): admins and
supervisors every box, QA reads every box, an agent user the boxes named after the
queues it belongs to (a `ROWS` grant; another box's message is a 404).
"""

from __future__ import annotations

import uuid
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gateway.api.errors import Responses, error_doc
from gateway.api.params import NO_NUL, Integer
from gateway.api.ranges import file_response
from gateway.api.v1.deps import OwnRows
from gateway.api.v1.history import RANGE_DOC, Cursor, Since, Until, utc
from gateway.auth.http import CurrentUser, authenticator
from gateway.control.errors import NotFound
from gateway.store.records import NotFoundError
from gateway.store.search import CallSearch
from gateway.store.voicemail import (
    Message,
    MessageFilter,
    State,
    VoicemailStore,
)

PREFIX = "/api/v1/voicemail"
UNAVAILABLE: Responses = {503: error_doc("no call records store configured")}
MISSING: Responses = {
    404: error_doc("no such message (or not in one of an agent user's boxes)"),
    **UNAVAILABLE,
}
CallId = Annotated[str, PathParam(max_length=64, description="the call's id (a UUID)")]


class MessageOut(BaseModel):
    """One voicemail message; times in UTC."""

    call_id: str
    box: str = Field(description="the routing action's box, else the queue's name")
    queue: str | None
    caller: str | None
    did: str | None
    left_at: datetime = Field(description="when the call arrived")
    duration_seconds: float | None = Field(description="the message's length (its WAV)")
    state: State
    listened_by: str | None
    listened_at: datetime | None
    handled_by: str | None
    handled_at: datetime | None
    note: str | None
    audio_url: str = Field(description="plays the message (HTTP Range) and marks it listened")

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            call_id=str(m.call_id), box=m.box, queue=m.queue, caller=m.caller, did=m.did,
            left_at=m.arrived_at, duration_seconds=wav_seconds(m.recording), state=m.state,
            listened_by=m.listened_by, listened_at=m.listened_at, handled_by=m.handled_by,
            handled_at=m.handled_at, note=m.note, audio_url=f"{PREFIX}/{m.call_id}/audio",
        )  # fmt: skip


class MessagePageOut(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class HandledIn(BaseModel):
    note: str | None = Field(None, max_length=2000, pattern=NO_NUL, description="optional")


def wav_seconds(path: str | None) -> float | None:
    """A WAV's length from its header (None: no file, or not a WAV)."""
    if not path:
        return None
    try:
        with wave.open(path, "rb") as w:
            return round(w.getnframes() / w.getframerate(), 2)
    except (OSError, EOFError, wave.Error, ZeroDivisionError):
        return None


def _store(request: Request) -> VoicemailStore:
    store: VoicemailStore | None = getattr(request.app.state, "voicemail", None)
    if store is None:
        search: CallSearch | None = request.app.state.search
        if search is None:
            raise HTTPException(503, "no call records store configured")
        store = request.app.state.voicemail = VoicemailStore(search.database)
    return store


Store = Annotated[VoicemailStore, Depends(_store)]


def _key(call_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(call_id)
    except ValueError:
        raise NotFound(f"call_id: no voicemail message {call_id!r}") from None


async def _boxes(store: VoicemailStore, own: str | None) -> frozenset[str] | None:
    """None: every box; an agent user: the boxes of its queues."""
    return None if own is None else await store.agent_boxes(own)


async def _visible(store: VoicemailStore, call_id: str, own: str | None) -> Message:
    key = _key(call_id)
    try:
        message = await store.message(key)
    except NotFoundError:
        raise NotFound(f"call_id: no voicemail message {call_id!r}") from None
    boxes = await _boxes(store, own)
    if boxes is not None and message.box not in boxes:
        raise NotFound(f"call_id: no voicemail message {call_id!r}")
    return message


def _now() -> datetime:
    return datetime.now(UTC)


def install(app: FastAPI) -> None:
    @app.get(
        PREFIX,
        tags=["voicemail"],
        summary="Voicemail messages, newest first, paged with a cursor",
        description="Filters combine (AND): `box`, `state` (`new`, `listened`, `handled`), "
        "`from` (inclusive) / `to` (exclusive) on the time the message was left. An agent "
        "user sees the boxes of the queues it belongs to.",
        responses=UNAVAILABLE,
    )
    async def list_messages(
        store: Store,
        own: OwnRows,
        since: Since = None,
        until: Until = None,
        box: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
        state: State | None = None,
        limit: Annotated[Integer, Query(ge=1, le=500, description="rows per page")] = 50,
        cursor: Cursor = None,
    ) -> MessagePageOut:
        f = MessageFilter(
            box=box,
            boxes=await _boxes(store, own),
            state=state,
            since=utc(since, "from"),
            until=utc(until, "to"),
        )
        page = await store.messages(f, limit=limit, cursor=cursor)
        return MessagePageOut(
            items=[MessageOut.of(m) for m in page.items], next_cursor=page.next_cursor
        )

    @app.get(f"{PREFIX}/{{call_id}}", tags=["voicemail"], summary="One voicemail message",
             responses=MISSING)  # fmt: skip
    async def get_message(call_id: CallId, store: Store, own: OwnRows) -> MessageOut:
        return MessageOut.of(await _visible(store, call_id, own))

    @app.get(
        f"{PREFIX}/{{call_id}}/audio",
        tags=["voicemail"],
        summary="Play a voicemail message (WAV, HTTP Range); marks it listened",
        description="`Range: bytes=a-b`, `bytes=a-`, `bytes=-n` answer 206, a range past "
        "the end 416. The first playback of a `new` message makes it `listened` by the "
        "user. Every request is audited (`voicemail.play`).",
        response_class=Response,
        responses=RANGE_DOC,
    )
    async def play_message(
        request: Request,
        call_id: CallId,
        store: Store,
        own: OwnRows,
        user: CurrentUser,
        range: Annotated[str | None, Header(description="bytes=a-b, bytes=a-, bytes=-n")] = None,
    ) -> Response:
        auth = authenticator(request)
        try:
            message = await _visible(store, call_id, own)
            path = Path(message.recording or "")
            if not message.recording or not path.is_file():
                raise NotFound(f"call_id: message {call_id} has no audio file")
        except NotFound as exc:
            await auth.audit(user, "voicemail.play", target=call_id, outcome=type(exc).__name__)
            raise
        await store.listened(message.call_id, user.name, _now())
        details = {"file": path.name, **({"range": range} if range else {})}
        await auth.audit(user, "voicemail.play", target=call_id, outcome="ok", details=details)
        return file_response(path, range, media_type="audio/wav", filename=f"{call_id}.wav")

    @app.post(
        f"{PREFIX}/{{call_id}}/handled",
        tags=["voicemail"],
        summary="Mark a message handled, with an optional note (event `voicemail.handled`)",
        responses=MISSING,
    )
    async def mark_handled(
        request: Request,
        call_id: CallId,
        store: Store,
        own: OwnRows,
        user: CurrentUser,
        body: HandledIn | None = None,
    ) -> MessageOut:
        message = await _visible(store, call_id, own)
        note = (body.note or "").strip() or None if body else None
        done = await store.handled(message.call_id, user.name, note, _now())
        await authenticator(request).audit(
            user, "voicemail.handled", target=call_id, outcome="ok", details={"note": note}
        )
        return MessageOut.of(done)

    @app.post(
        f"{PREFIX}/{{call_id}}/reopen",
        tags=["voicemail"],
        summary="Back to the inbox: `listened` if it was played, else `new`",
        responses=MISSING,
    )
    async def reopen_message(
        request: Request, call_id: CallId, store: Store, own: OwnRows, user: CurrentUser
    ) -> MessageOut:
        message = await _visible(store, call_id, own)
        done = await store.reopened(message.call_id)
        await authenticator(request).audit(user, "voicemail.reopen", target=call_id, outcome="ok")
        return MessageOut.of(done)
