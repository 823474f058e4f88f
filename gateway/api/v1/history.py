"""Call history and recordings (API v1): search, one call with its offers, the
recordings list, and the recording download (also served at the unversioned
`/calls/{call_id}/recording`: one handler, two paths).

An agent user (a `ROWS` grant, see gateway.auth.permissions) sees only the calls its
agent answered: its filter is forced to its agent, and another agent's call is a 404,
as if it did not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import Response

from gateway.api.errors import Responses, error_doc
from gateway.api.params import NO_NUL, Integer, IsoDateTime
from gateway.api.ranges import file_response
from gateway.api.v1.deps import MaybeSearch, OwnRows, SearchDep, call_key
from gateway.api.v1.models import CallDetail, CallItem, CallPageOut, RecordingItem, RecordingPage
from gateway.api.v1.qa import agent_may_hear
from gateway.api.v1.segments import segment_file
from gateway.auth.http import CurrentUser, authenticator
from gateway.control.errors import ControlError, NotFound
from gateway.store.records import Disposition
from gateway.store.search import CallFilter, RecordingRole, Sort

Since = Annotated[
    IsoDateTime | None,
    Query(alias="from", description="arrived at or after (ISO 8601; no offset: UTC)"),
]
Until = Annotated[
    IsoDateTime | None, Query(alias="to", description="arrived before (ISO 8601; no offset: UTC)")
]
Limit = Annotated[Integer, Query(ge=1, le=500, description="rows per page")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, pattern=NO_NUL, description="the `next_cursor` of the previous page"),
]
UNAVAILABLE: Responses = {503: error_doc("no call records store configured")}
NOT_FOUND: Responses = {
    404: error_doc("no such call (or not one of an agent user's own)"),
    **UNAVAILABLE,
}


def utc(value: datetime | None, name: str) -> datetime | None:
    """An aware UTC datetime (naive input is taken as UTC)."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise HTTPException(422, f"`{name}`: out of range") from None


def restrict(agent: str | None, own: str | None) -> str | None:
    """The agent filter of a search: an agent user's own agent whatever it asked for
    (another agent's name then matches nothing)."""
    if own is None:
        return agent
    return own if agent in (None, own) else ""  # "": no agent has that id


RANGE_DOC: Responses = {
    200: {"content": {"audio/wav": {}}, "description": "the whole file"},
    206: {
        "content": {"audio/wav": {}},
        "description": "the range asked for (`Content-Range: bytes a-b/size`)",
    },
    416: {"description": "no byte of the file is in the range (`Content-Range: bytes */size`)"},
    **NOT_FOUND,
}


def install(app: FastAPI) -> None:
    @app.get(
        "/api/v1/calls",
        tags=["history"],
        summary="Search the call records (newest first by default), paged with a cursor",
        description="Filters combine (AND) and match exactly. `from` is inclusive, `to` "
        "exclusive, both on the arrival time. `sort`: `arrived_at`, `wait` (seconds to "
        "answer), `talk` (seconds talked), ascending, or descending with a leading `-`; "
        "unanswered calls have no wait/talk and sort as -1. Paging is keyset-based: a "
        "`next_cursor` stays valid while calls are added (no row is skipped or repeated), "
        "and is tied to its `sort`. An agent user sees only its own calls.",
        responses=UNAVAILABLE,
    )
    async def search_calls(
        search: SearchDep,
        own: OwnRows,
        since: Since = None,
        until: Until = None,
        did: Annotated[
            str | None, Query(max_length=64, pattern=NO_NUL, description="the DID, E.164")
        ] = None,
        caller: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
        queue: Annotated[
            str | None, Query(max_length=64, pattern=NO_NUL, description="the call's last queue")
        ] = None,
        agent: Annotated[
            str | None, Query(max_length=64, pattern=NO_NUL, description="who answered")
        ] = None,
        disposition: Disposition | None = None,
        sort: Sort = "-arrived_at",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> CallPageOut:
        f = CallFilter(
            since=utc(since, "from"),
            until=utc(until, "to"),
            did=did,
            caller=caller,
            queue=queue,
            agent=restrict(agent, own),
            disposition=disposition,
        )
        page = await search.search(f, sort=sort, limit=limit, cursor=cursor)
        return CallPageOut(items=[CallItem.of(c) for c in page.calls], next_cursor=page.next_cursor)

    @app.get(
        "/api/v1/calls/{call_id}",
        tags=["history"],
        summary="One call record with its offers",
        responses=NOT_FOUND,
    )
    async def get_call(call_id: str, search: SearchDep, own: OwnRows) -> CallDetail:
        found = await search.call(call_key(call_id))
        if found is None or (own is not None and found[0].agent != own):
            raise NotFound(f"no call {call_id!r}")
        return CallDetail.with_offers(*found)

    @app.get(
        "/api/v1/recordings",
        tags=["recordings"],
        summary="Calls with a recording, newest first, with each file's role and size",
        description="`from`/`to` on the arrival time (inclusive/exclusive). An agent user "
        "sees only its own calls' recordings. Listing is not audited; downloads are.",
        responses=UNAVAILABLE,
    )
    async def list_recordings(
        search: SearchDep,
        own: OwnRows,
        since: Since = None,
        until: Until = None,
        queue: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
        agent: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> RecordingPage:
        f = CallFilter(
            since=utc(since, "from"),
            until=utc(until, "to"),
            queue=queue,
            agent=restrict(agent, own),
        )
        entries, next_cursor = await search.recordings(f, limit=limit, cursor=cursor)
        return RecordingPage(items=[RecordingItem.of(e) for e in entries], next_cursor=next_cursor)

    @app.get(
        "/api/v1/calls/{call_id}/recording",
        tags=["recordings"],
        summary="A finished call's recording (WAV), with HTTP Range",
        description="`role`: `stereo` (caller left, agent right), `caller`, `agent` or "
        "`voicemail`; without it, the stereo file, else the voicemail or caller file. "
        "`segment`: after a transfer, that agent connection's files (1, the default, is "
        "the call's own; the call's `segments` list them; an unknown one is a 404 saying "
        "how many there are). "
        "404 until the call's record is closed (the `recording.ready` event). `Range: "
        "bytes=a-b`, `bytes=a-` and `bytes=-n` answer 206; a range past the end 416; "
        "several ranges or an invalid header the whole file (200). Every request is "
        "audited (`recording.download`). An agent user gets its own calls' recordings only.",
        response_class=Response,
        responses=RANGE_DOC,
    )
    @app.get(
        "/calls/{call_id}/recording",
        tags=["recordings"],
        summary="Same as GET /api/v1/calls/{call_id}/recording (the same handler)",
        response_class=Response,
        responses=RANGE_DOC,
    )
    async def get_recording(
        request: Request,
        call_id: str,
        user: CurrentUser,
        own: OwnRows,
        search: MaybeSearch,
        role: RecordingRole | None = None,
        segment: Annotated[
            Integer | None,
            Query(ge=1, le=10_000, description="the agent connection (docs/transfer.md)"),
        ] = None,
        range: Annotated[str | None, Header(description="bytes=a-b, bytes=a-, bytes=-n")] = None,
    ) -> Response:
        auth, control = authenticator(request), request.app.state.control
        details: dict[str, str | None] = {"role": role}
        if segment is not None:
            details["segment"] = str(segment)
        try:
            found, later = None, segment is not None and segment > 1
            if own is not None or later:  # segment 1 is the call's own files, as before
                found = None if search is None else await search.call(call_key(call_id))
                # qa.agent_recordings: own (default), evaluated or none (docs/qa.md)
                if found is None or (own and not await agent_may_hear(request, found[0], own)):
                    raise NotFound(f"no call {call_id!r}")
            if found is not None and segment is not None and later:
                path = segment_file(found[0], segment, role)
            else:
                path = await control.recording_file(call_id, role)
        except ControlError as exc:
            await auth.audit(
                user,
                "recording.download",
                target=call_id,
                outcome=type(exc).__name__,
                details=details,
            )
            raise
        details = {**details, "file": path.name, **({"range": range} if range else {})}
        await auth.audit(user, "recording.download", target=call_id, outcome="ok", details=details)
        return file_response(path, range, media_type="audio/wav", filename=f"{call_id}-{path.name}")
