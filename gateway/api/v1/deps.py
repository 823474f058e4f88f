"""Dependencies of the v1 routers: the stores (set on `app.state` by `create_app`) and the
row restriction of an agent user (`OwnRows`), and a call id from a path (`call_key`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute

from gateway.auth.http import CurrentUser
from gateway.auth.permissions import route_permission, rows_agent
from gateway.control.errors import NotFound
from gateway.store.search import CallSearch
from gateway.store.stats import StatsStore


def _search(request: Request) -> CallSearch:
    search: CallSearch | None = request.app.state.search
    if search is None:
        raise HTTPException(503, "no call records store configured")
    return search


def _maybe_search(request: Request) -> CallSearch | None:
    search: CallSearch | None = request.app.state.search
    return search


def _stats(request: Request) -> StatsStore:
    stats: StatsStore | None = request.app.state.stats
    if stats is None:
        raise HTTPException(503, "no call records store configured")
    return stats


def _own_rows(request: Request, user: CurrentUser) -> str | None:
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    permission = route_permission(request.method, path)
    return "" if permission is None else rows_agent(user.role, user.agent_id, permission)


SearchDep = Annotated[CallSearch, Depends(_search)]
MaybeSearch = Annotated[CallSearch | None, Depends(_maybe_search)]
StatsDep = Annotated[StatsStore, Depends(_stats)]
# the agent whose rows alone this user may see on this route; None: every row
OwnRows = Annotated[str | None, Depends(_own_rows)]


def call_key(call_id: str) -> uuid.UUID:
    """A call id from a path; one that is no UUID names no call (404, as an unknown one)."""
    try:
        return uuid.UUID(call_id)
    except ValueError:
        raise NotFound(f"no call {call_id!r}") from None
