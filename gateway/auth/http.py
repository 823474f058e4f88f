"""The FastAPI side of gateway.auth: the current-user dependency and the HTTP mapping.

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
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth.errors import AuthError, Forbidden, InvalidUser, Unauthenticated
from gateway.auth.permissions import Permission, refusal, route_permission
from gateway.auth.service import ANONYMOUS, Authenticator, Principal

bearer = HTTPBearer(auto_error=False, description="`contactgw users add` prints one")

# the one table of auth errors -> HTTP (the control plane's is gateway/api/errors.py)
HTTP_STATUS: dict[type[AuthError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    InvalidUser: 422,
}


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
    app.state.auth = auth

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        status = next((code for cls, code in HTTP_STATUS.items() if isinstance(exc, cls)), 400)
        body: dict[str, str] = {"detail": str(exc), "error": type(exc).__name__}
        headers: dict[str, str] = {}
        if isinstance(exc, Forbidden):
            body["missing_permission"] = exc.permission
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(body, status, headers=headers)

    app.add_exception_handler(AuthError, handle)
