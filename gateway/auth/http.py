"""The FastAPI side of gateway.auth: the current-user dependency.

`authorize` is installed on the whole app (``FastAPI(dependencies=...)``), so no route
can forget it: it finds the matched route's permission in `permissions.ROUTES`
(refusing a route that is not there), authenticates the bearer token, checks the
role's grant (and, for an agent user, that the path names its own agent), and
audits a refusal. Routes that need the user take `CurrentUser`: FastAPI caches the
dependency per request, so it runs once.

The web UI (gateway/ui/) logs in by putting the API token in an HttpOnly,
SameSite=Strict cookie (`SESSION_COOKIE`); `authorize` takes it when there is no
bearer header, so the pages' fetch() and EventSource calls to /api/... need no token
in JavaScript. CSRF: SameSite=Strict keeps a cross-site request from carrying the
cookie at all; on top of that a state-changing request authenticated by the cookie
must carry `csrf_token(token)` in the `X-CSRF-Token` header (fetch) or the
`csrf_token` form field (an HTML form): a cross-site page can neither read the cookie
nor set that header. A browser (Accept: text/html) asking for a /ui page without
valid credentials is sent to the login form (303) instead of a JSON 401.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth.errors import Forbidden, Unauthenticated
from gateway.auth.permissions import Permission, refusal, route_permission
from gateway.auth.service import ANONYMOUS, Authenticator, Principal

bearer = HTTPBearer(auto_error=False, description="`contactgw users add` prints one")

SESSION_COOKIE = "contactgw_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


def csrf_token(session_token: str) -> str:
    """The anti-CSRF value of a session: derived from its token, so the server keeps
    no state and a page that cannot read the cookie cannot compute it."""
    return hmac.new(session_token.encode(), b"contactgw-ui-csrf", hashlib.sha256).hexdigest()[:32]


def wants_html(request: Request) -> bool:
    """A browser navigating to a UI page (not the pages' own fetch() calls)."""
    path = request.url.path
    is_ui = path == "/ui" or path.startswith("/ui/")
    return is_ui and "text/html" in request.headers.get("accept", "")


def login_redirect(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(303, "log in first", {"Location": f"/ui/login?next={quote(target)}"})


async def csrf_presented(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)  # cached: the route reads it again
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request, session_token: str) -> None:
    presented = await csrf_presented(request)
    if presented is None or not hmac.compare_digest(presented, csrf_token(session_token)):
        raise Forbidden(
            "csrf",
            f"a {request.method} authenticated by the session cookie needs the "
            f"{CSRF_HEADER} header or the {CSRF_FIELD} form field of its page",
        )


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
    token = credentials.credentials if credentials else request.cookies.get(SESSION_COOKIE)
    try:
        principal = await auth.authenticate(token)
    except Unauthenticated:
        if wants_html(request):
            raise login_redirect(request) from None
        raise
    if credentials is None and token is not None and request.method not in SAFE_METHODS:
        await check_csrf(request, token)
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
