"""Calls: the search page (`/ui/calls`), the recording player (`/ui/calls/{id}`) and
its waveform peaks (`/ui/calls/{id}/waveform`, JSON).

An agent user sees only its own calls (the `ROWS` grant, as in the API: its agent
filter is forced) and opens only the players the recording policy lets it hear
(`qa.agent_recordings`, gateway.api.v1.qa.agent_may_hear); another call is a 404. The
player's `<audio>` streams `/api/v1/calls/{id}/recording` (HTTP Range; every request is
audited there as `recording.download`). The waveform is computed off the event loop,
once per file (an LRU keyed by path, size and mtime), and is not audited: it carries
no speech, only levels.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from gateway.api.v1.history import restrict
from gateway.api.v1.qa import agent_may_hear
from gateway.auth.http import CurrentUser
from gateway.auth.permissions import Permission, rows_agent
from gateway.auth.service import Principal
from gateway.control.errors import InvalidRequest, NotFound
from gateway.store.records import DISPOSITIONS, CallRecord, OfferRecord
from gateway.store.search import CallFilter, CallSearch, InvalidQuery, recording_paths
from gateway.ui import shell
from gateway.ui.forms import Fields
from gateway.ui.timeline import timeline
from recordings.errors import RecordingError
from recordings.waveform import MAX_BUCKETS, Waveform, waveform

PAGE_SIZE = 50
NO_STORE = "This gateway has no call records store (no database configured)."


def _filter(fields: Fields, own: str | None) -> CallFilter:
    return CallFilter(
        since=fields.when("from", "From"),
        until=fields.when("to", "To"),
        queue=fields.text("queue", "Queue"),
        agent=restrict(fields.text("agent", "Agent"), own),
        did=fields.text("did", "DID"),
        caller=fields.text("caller", "Caller"),
        disposition=fields.choice("disposition", "Disposition", DISPOSITIONS),  # type: ignore[arg-type]
        min_talk=fields.number("min_talk", "Duration from (s)"),
        max_talk=fields.number("max_talk", "Duration to (s)"),
        min_score=fields.number("min_score", "Score from (%)", high=100),
        max_score=fields.number("max_score", "Score to (%)", high=100),
        not_evaluated=fields.flag("not_evaluated"),
    )


def _search(request: Request) -> CallSearch | None:
    search: CallSearch | None = request.app.state.search
    return search


async def _call(
    request: Request, user: Principal, call_id: str
) -> tuple[CallRecord, tuple[OfferRecord, ...]]:
    """The call if this user may open its player, else NotFound (as if it did not exist)."""
    search = _search(request)
    if search is None:
        raise HTTPException(503, NO_STORE)
    try:
        key = uuid.UUID(call_id)
    except ValueError:
        raise NotFound(f"no call {call_id!r}") from None
    found = await search.call(key)
    own = rows_agent(user.role, user.agent_id, Permission.RECORDINGS_READ)
    if found is None or (own is not None and not await agent_may_hear(request, found[0], own)):
        raise NotFound(f"no call {call_id!r}")
    return found


@functools.lru_cache(maxsize=32)
def _peaks(path: str, size: int, mtime_ns: int, buckets: int) -> Waveform:
    return waveform(path, buckets)


async def _remarks(request: Request, call_id: uuid.UUID) -> list[Any]:
    """The QA remarks on the call, by offset (none without a QA store)."""
    qa = getattr(request.app.state, "qa", None)
    store = getattr(qa, "store", None)
    return [] if store is None else list(await store.remarks(call_id))


def install(app: FastAPI) -> None:
    shell.add_nav(app, "Calls", "/ui/calls", Permission.HISTORY_READ)

    @app.get("/ui/calls", include_in_schema=False)
    async def calls_page(request: Request, user: CurrentUser) -> Response:
        search = _search(request)
        if search is None:
            return shell.message(request, user, "Calls", NO_STORE, 503)
        fields = Fields(dict(request.query_params))
        own = rows_agent(user.role, user.agent_id, Permission.HISTORY_READ)
        f = _filter(fields, own)
        cursor = fields.text("cursor", "Page")
        calls: tuple[CallRecord, ...] = ()
        next_cursor = None
        if not fields.errors:
            try:
                page = await search.search(f, limit=PAGE_SIZE, cursor=cursor)
                calls, next_cursor = page.calls, page.next_cursor
            except InvalidQuery as exc:
                fields.errors.append(str(exc))
        query = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
        policy = getattr(getattr(request.app.state, "qa", None), "agent_recordings", "own")
        may_listen = own is None or policy != "none"  # `evaluated`: the player decides
        return shell.render(
            request,
            user,
            "calls.html",
            status=422 if fields.errors else 200,
            title="Calls",
            form=fields.raw,
            errors=fields.errors,
            calls=calls,
            next_query={**query, "cursor": next_cursor} if next_cursor else None,
            first_query=query if cursor else None,
            dispositions=DISPOSITIONS,
            own=own,
            has_recording=lambda c: may_listen and bool(recording_paths(c)),
        )

    @app.get("/ui/calls/{call_id}", include_in_schema=False)
    async def player_page(request: Request, call_id: str, user: CurrentUser) -> Response:
        if _search(request) is None:
            return shell.message(request, user, "Call", NO_STORE, 503)
        call, offers = await _call(request, user, call_id)
        return shell.render(
            request,
            user,
            "player.html",
            title=f"Call from {call.caller or 'unknown'}",
            call=call,
            offers=offers,
            steps=timeline(call, offers),
            remarks=await _remarks(request, call.id),
            recorded=bool(recording_paths(call)),
        )

    @app.get("/ui/calls/{call_id}/waveform", include_in_schema=False)
    async def waveform_json(
        request: Request, call_id: str, user: CurrentUser, buckets: str = "1000"
    ) -> JSONResponse:
        if not buckets.isdigit() or not 1 <= int(buckets) <= MAX_BUCKETS:
            raise InvalidRequest(f"`buckets`: a whole number from 1 to {MAX_BUCKETS}")
        call, _ = await _call(request, user, call_id)
        control = request.app.state.control
        path: Path = await control.recording_file(str(call.id), None)
        try:
            stat = path.stat()
            peaks = await asyncio.to_thread(
                _peaks, str(path), stat.st_size, stat.st_mtime_ns, int(buckets)
            )
        except (OSError, RecordingError) as exc:
            raise NotFound(f"no readable recording for call {call_id}: {exc}") from None
        names = ("caller", "agent") if len(peaks.channels) == 2 else ("mono",)
        return JSONResponse(
            {
                "sample_rate": peaks.sample_rate,
                "duration_seconds": peaks.duration_s,
                "channels": [
                    {
                        "name": name,
                        "min": [round(v, 4) for v in ch.minima],
                        "max": [round(v, 4) for v in ch.maxima],
                    }
                    for name, ch in zip(names, peaks.channels, strict=False)
                ],
            }
        )


__all__ = ["install"]
