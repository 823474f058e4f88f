"""Routing definitions (API v1): queues, DIDs, agents, schedules, holidays and the
globals, under ``/api/v1/config/...`` (``/api/v1/agents`` and ``/api/v1/queues`` are
the live state views). Thin: each write is one pure edit (gateway/control/routing_edit)
stored as a new routing version by `RoutingAdmin`; the gateway applies it live.

Optimistic concurrency: every response carries ``ETag: "v<N>"``, the routing version
it was read from or written as (one counter for all resources, the one
``contactgw config history`` shows). PUT and DELETE need ``If-Match`` with it (428
without, 412 with the current ETag when another change came first); POST may send it
and is checked if it does (a new name cannot overwrite anything: an existing one is a
409). Agent passwords are write-only: a view shows ``password_set``.
"""

# no `from __future__ import annotations`: FastAPI must see the handlers' local
# `Key` annotation (the path parameter of each resource) at definition time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.auth.http import CurrentUser, authenticator
from gateway.auth.service import Principal
from gateway.control import routing_edit as edit
from gateway.control.errors import ControlError, NotFound
from gateway.control.routing_admin import Edit, RoutingAdmin
from gateway.control.routing_edit import StaleVersion
from gateway.settings.routing import Action, DidRoute, Holiday, QueueSettings, RoutingSettings

PREFIX = "/api/v1/config"
Responses = dict[int | str, dict[str, Any]]
JsonBody = Annotated[
    dict[str, Any],
    Body(description="the resource as in the YAML (docs/configuration.md); errors: 422 "
         "naming the key, e.g. `queues.sales.ring_timeout: Input should be greater than 0`"),
]  # fmt: skip
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='the ETag of your read, e.g. "v12"'),
]
UNAVAILABLE: Responses = {503: {"description": "no routing store behind this API"}}
WRITE_ERRORS: Responses = {
    400: {"description": "the body is not JSON"},
    503: {"description": "no routing store behind this API"},
    404: {"description": "no such resource"},
    409: {"description": "exists already, or still referenced (the reason names by whom)"},
    412: {"description": "routing changed since your read: the ETag header is the current one"},
    422: {"description": "invalid: the reason names the key"},
    428: {"description": "If-Match missing: the ETag header is the current one"},
}


def _admin(request: Request) -> RoutingAdmin:
    admin: RoutingAdmin | None = getattr(request.app.state, "routing_admin", None)
    if admin is None:
        raise HTTPException(503, "no routing store configured")
    return admin


AdminDep = Annotated[RoutingAdmin, Depends(_admin)]


# ---------------------------------------------------------------------- views
class QueueOut(QueueSettings):
    name: str


class AgentOut(BaseModel):
    id: str
    display_name: str | None
    queues: list[str]
    skills: dict[str, int]
    rank: int
    uri: str | None
    password_set: bool = Field(description="the password itself is never returned")


class ScheduleOut(BaseModel):
    name: str
    timezone: str | None = None
    hours: dict[str, list[str]]
    holidays: list[Holiday] = []


class GlobalsOut(BaseModel):
    region: str | None
    timezone: str
    strict_numbers: bool
    closed_action: Action | None
    default_route: Action | None


def queue_view(r: RoutingSettings, name: str) -> dict[str, Any]:
    return {"name": name, **r.queues[name].model_dump(mode="json")}


def agent_view(r: RoutingSettings, user: str) -> dict[str, Any]:
    agent = r.agents[user]
    data = agent.model_dump(mode="json", exclude={"password"})
    return {
        "id": user,
        **data,
        "display_name": agent.display_name,
        "uri": agent.uri,
        "password_set": bool(agent.password.get_secret_value()),
    }


def did_view(r: RoutingSettings, number: str) -> dict[str, Any]:
    index = edit.did_index(r, number)
    if index is None:
        raise NotFound(f"no DID {number}")
    return {**r.dids[index].model_dump(mode="json"), "number": number}


def schedule_view(r: RoutingSettings, name: str) -> dict[str, Any]:
    return {"name": name, **r.schedules[name].model_dump(mode="json")}


def holiday_view(r: RoutingSettings, date: str) -> dict[str, Any]:
    found = [h for h in r.holidays if edit.holiday_key(h) == date]
    if not found:
        raise NotFound(f"no holiday {date}")
    return found[0].model_dump(mode="json")


# ---------------------------------------------------------------------- ETag / If-Match
def etag(version: int) -> str:
    return f'"v{version}"'


async def expected_version(if_match: str | None, admin: RoutingAdmin) -> int | None:
    """The version an If-Match names (None for ``*``); 428 if missing, 412 if it is
    not an ETag of ours; both with the current ETag."""
    tag = (if_match or "").strip().removeprefix("W/").strip('"')
    if tag == "*":
        return None
    if tag.startswith("v") and tag[1:].isdigit():
        return int(tag[1:])
    current = etag((await admin.read())[0])
    if if_match is None:
        why = "If-Match required: send the ETag of your read (the routing version)"
        raise HTTPException(428, why, headers={"ETag": current})
    why = f"If-Match {if_match!r} is not an ETag of this API (the current one is {current})"
    raise HTTPException(412, why, headers={"ETag": current})


async def _write(
    request: Request,
    user: Principal,
    admin: RoutingAdmin,
    change: Edit,
    *,
    if_match: str | None,
    required: bool,
    action: str,
    target: str | None,
) -> tuple[int, RoutingSettings]:
    """Store one change as a new version, audited whatever its outcome."""
    auth = authenticator(request)
    expected = None
    if if_match is not None or required:
        expected = await expected_version(if_match, admin)
    try:
        version, routing = await admin.write(change, expected=expected, author=user.name)
    except StaleVersion as exc:
        await auth.audit(user, action, target=target, outcome="stale")
        raise HTTPException(412, str(exc), headers={"ETag": etag(exc.current)}) from None
    except ControlError as exc:
        await auth.audit(user, action, target=target, outcome=type(exc).__name__)
        raise
    await auth.audit(user, action, target=target, outcome="ok", details={"version": version})
    return version, routing


# ---------------------------------------------------------------------- the resources
@dataclass(frozen=True)
class Resource:
    """One table of the routing configuration and how to show and change its rows."""

    kind: str  # path segment and audit name
    param: str  # the path parameter (agents: agent_id, so auth scopes own-agent reads)
    out: type[BaseModel]
    keys: Callable[[RoutingSettings], list[str]]
    view: Callable[[RoutingSettings, str], dict[str, Any]]
    put: Callable[..., RoutingSettings]  # (routing, key | None, body, *, create)
    delete: Callable[[RoutingSettings, str], RoutingSettings]
    key_of: Callable[[RoutingSettings, str], str] = lambda _r, key: key
    created: Callable[[dict[str, Any]], str | None] = lambda body: None


def _did_key(r: RoutingSettings, key: str) -> str:
    return edit.e164(r, key, "dids.number")


RESOURCES = (
    Resource("queues", "name", QueueOut, lambda r: sorted(r.queues), queue_view,
             edit.put_queue, edit.delete_queue),
    Resource("dids", "number", DidRoute, edit.did_numbers, did_view,
             edit.put_did, edit.delete_did, key_of=_did_key),
    Resource("agents", "agent_id", AgentOut, lambda r: sorted(r.agents), agent_view,
             edit.put_agent, edit.delete_agent),
    Resource("schedules", "name", ScheduleOut, lambda r: sorted(r.schedules), schedule_view,
             edit.put_schedule, edit.delete_schedule),
    Resource("holidays", "date", Holiday, lambda r: [edit.holiday_key(h) for h in r.holidays],
             holiday_view, edit.put_holiday, edit.delete_holiday),
)  # fmt: skip


def _exists(r: RoutingSettings, spec: Resource, key: str) -> str:
    key = spec.key_of(r, key)
    if key not in spec.keys(r):
        what = spec.kind.removesuffix("s")
        raise NotFound(f"no {what} {key!r}")
    return key


def _add_resource(app: FastAPI, spec: Resource) -> None:
    collection, item = f"{PREFIX}/{spec.kind}", f"{PREFIX}/{spec.kind}/{{{spec.param}}}"
    Key = Annotated[str, Path(alias=spec.param, max_length=64)]
    tags: list[str | Enum] = [f"config: {spec.kind}"]

    async def list_all(admin: AdminDep, response: Response) -> list[dict[str, Any]]:
        version, r = await admin.read()
        response.headers["ETag"] = etag(version)
        return [spec.view(r, key) for key in spec.keys(r)]

    async def get_one(key: Key, admin: AdminDep, response: Response) -> dict[str, Any]:
        version, r = await admin.read()
        response.headers["ETag"] = etag(version)
        return spec.view(r, _exists(r, spec, key))

    async def create(
        body: JsonBody,
        request: Request,
        user: CurrentUser,
        admin: AdminDep,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        keys: list[str] = []

        def change(r: RoutingSettings) -> RoutingSettings:
            new = spec.put(r, None, body, create=True)
            keys.extend(k for k in spec.keys(new) if k not in spec.keys(r))
            return new

        version, r = await _write(request, user, admin, change, if_match=if_match,
                                  required=False, action=f"routing.{spec.kind}.create",
                                  target=None)  # fmt: skip
        key = keys[0] if keys else spec.keys(r)[-1]
        response.headers["ETag"] = etag(version)
        response.headers["Location"] = f"{collection}/{key}"
        return spec.view(r, spec.key_of(r, key))

    async def replace(
        key: Key,
        body: JsonBody,
        request: Request,
        user: CurrentUser,
        admin: AdminDep,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        version, r = await _write(
            request, user, admin, lambda r: spec.put(r, key, body, create=False),
            if_match=if_match, required=True, action=f"routing.{spec.kind}.replace", target=key,
        )  # fmt: skip
        response.headers["ETag"] = etag(version)
        return spec.view(r, spec.key_of(r, key))

    async def remove(
        key: Key, request: Request, user: CurrentUser, admin: AdminDep, if_match: IfMatch = None
    ) -> Response:
        version, _ = await _write(
            request, user, admin, lambda r: spec.delete(r, key),
            if_match=if_match, required=True, action=f"routing.{spec.kind}.delete", target=key,
        )  # fmt: skip
        return Response(status_code=204, headers={"ETag": etag(version)})

    what = spec.kind.removesuffix("s")
    one: Responses = {404: {"description": f"no such {what}"}, **UNAVAILABLE}
    table: list[tuple[str, Callable[..., Any], str, Any, int, Responses, str]] = [
        (collection, list_all, "GET", list[spec.out], 200, UNAVAILABLE, f"Every {what}"),  # type: ignore[name-defined]
        (collection, create, "POST", spec.out, 201, WRITE_ERRORS, f"Create a {what}"),
        (item, get_one, "GET", spec.out, 200, one, f"One {what}"),
        (item, replace, "PUT", spec.out, 200, WRITE_ERRORS, f"Replace a {what} (If-Match)"),
        (item, remove, "DELETE", None, 204, WRITE_ERRORS, f"Delete a {what} (If-Match)"),
    ]
    for path, endpoint, method, model, status, responses, summary in table:
        app.add_api_route(
            path,
            endpoint,
            methods=[method],
            tags=tags,
            status_code=status,
            response_model=model,
            response_class=Response if model is None else JSONResponse,
            responses=responses,
            summary=summary,
        )


def install(app: FastAPI) -> None:
    """Add the routing definition routes to ``app`` (the service: ``app.state.routing_admin``)."""
    for spec in RESOURCES:
        _add_resource(app, spec)
    _add_globals(app)
    _add_queue_login(app)


class AgentQueuesOut(BaseModel):
    agent: str
    queues: list[str] = Field(description="the queues it serves now (agent state)")
    configured: list[str] = Field(description="its routing entry's: those it may log in to")


def _queue_login_handler(login: bool) -> Callable[..., Any]:
    name = f"agent.queue_{'login' if login else 'logout'}"

    async def change(
        agent_id: str,
        queue: Annotated[str, Path(max_length=64)],
        request: Request,
        user: CurrentUser,
        admin: AdminDep,
    ) -> AgentQueuesOut:
        if admin.membership is None:
            raise HTTPException(503, "per-queue login needs the running gateway")
        auth, details = authenticator(request), {"queue": queue}
        try:
            result = await admin.queue_login(agent_id, queue, login=login)
        except ControlError as exc:
            outcome = type(exc).__name__
            await auth.audit(user, name, target=agent_id, outcome=outcome, details=details)
            raise
        await auth.audit(user, name, target=agent_id, outcome="ok", details=details)
        return AgentQueuesOut(
            agent=result.agent, queues=list(result.queues), configured=list(result.configured)
        )

    return change


def _add_queue_login(app: FastAPI) -> None:
    responses: Responses = {
        404: {"description": "no such agent or queue"},
        409: {"description": "not one of the agent's configured queues"},
        503: {"description": "no running gateway (ACD) behind this API"},
    }
    for action in ("login", "logout"):
        app.add_api_route(
            f"/api/v1/agents/{{agent_id}}/queues/{{queue}}/{action}",
            _queue_login_handler(action == "login"),
            methods=["POST"],
            tags=["agents"],
            response_model=AgentQueuesOut,
            responses=responses,
            summary=f"Log an agent {'in to' if action == 'login' else 'out of'} one queue",
            description="Agent state in the running ACD, not a routing version: a restart "
            "or a routing version that changes the agent starts it again on all its "
            "configured queues. Only the agent's configured queues; idempotent.",
        )


def _add_globals(app: FastAPI) -> None:
    @app.get(f"{PREFIX}/globals", tags=["config: globals"], responses=UNAVAILABLE, summary="Region, time zone, "
                "number strictness, closed action, default route")  # fmt: skip
    async def get_globals(admin: AdminDep, response: Response) -> GlobalsOut:
        version, r = await admin.read()
        response.headers["ETag"] = etag(version)
        return GlobalsOut.model_validate(edit.globals_of(r))

    @app.put(f"{PREFIX}/globals", tags=["config: globals"], responses=WRITE_ERRORS,
                summary="Replace the globals (a key left out: its default; If-Match required)")  # fmt: skip
    async def put_globals(
        body: JsonBody,
        request: Request,
        user: CurrentUser,
        admin: AdminDep,
        response: Response,
        if_match: IfMatch = None,
    ) -> GlobalsOut:
        version, r = await _write(
            request, user, admin, lambda r: edit.put_globals(r, body),
            if_match=if_match, required=True, action="routing.globals.replace", target=None,
        )  # fmt: skip
        response.headers["ETag"] = etag(version)
        return GlobalsOut.model_validate(edit.globals_of(r))
