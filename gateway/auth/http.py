"""The FastAPI side of gateway.auth: the current-user dependency.

`authorize` is installed on the whole app (``FastAPI(dependencies=...)``), so no route
can forget it: it finds the matched route's permission in `permissions.ROUTES`
(refusing a route that is not there), authenticates the bearer token, checks the
role's grant (and, for an agent user, that the path names its own agent), and
audits a refusal. Routes that need the user take `CurrentUser`: FastAPI caches the
dependency per request, so it runs once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth.errors import Forbidden
from gateway.auth.permissions import Permission, refusal, route_permission
from gateway.auth.service import ANONYMOUS, Authenticator, Principal

bearer = HTTPBearer(auto_error=False, description="`contactgw users add` prints one")


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


async def authorize(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    permission = route_permission(request.method, path)
    if permission is Permission.PUBLIC:
        return ANONYMOUS
    auth = authenticator(request)
    principal = await auth.authenticate(credentials.credentials if credentials else None)
    target = request.path_params.get("agent_id")
    reason = (
        refusal(principal.role, principal.agent_id, permission, target)
        if permission is not None
        else f"route {request.method} {path} has no permission in the table"
    )
    if reason is not None:
        missing = permission.value if permission is not None else "unmapped"
        await auth.audit(
            principal,
            "access.denied",
            outcome="denied",
            target=f"{request.method} {request.url.path}",
            details={"missing": missing},
        )
        raise Forbidden(missing, reason)
    return principal


CurrentUser = Annotated[Principal, Depends(authorize)]


def install_auth(app: FastAPI, auth: Authenticator) -> None:
    """Its errors are mapped to HTTP with the others', in gateway/api/errors.py."""
    app.state.auth = auth
