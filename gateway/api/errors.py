"""The one table that maps domain errors to HTTP.

The errors themselves are transport-neutral: the control plane's in
`gateway/control/errors.py`, authentication's in `gateway/auth/errors.py`, the store's
query errors in `gateway/store/search.py` and `stats.py`. The body is
``{"detail": <reason>, "error": <class name>}``; a 401 carries `WWW-Authenticate: Bearer`,
a 403 names the permission that is missing (`missing_permission`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.auth.errors import AuthError, AuthUnavailable, Forbidden, InvalidUser, Unauthenticated
from gateway.control.errors import Conflict, ControlError, InvalidRequest, NotFound
from gateway.store.search import InvalidQuery
from gateway.store.stats import InvalidRange

HTTP_STATUS: dict[type[Exception], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidRequest: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    InvalidUser: 422,
    AuthUnavailable: 503,  # the user database is away: try again, not "you are nobody"
    InvalidQuery: 422,  # a read the store cannot serve: a foreign cursor, an empty range
    InvalidRange: 422,
}


class ErrorBody(BaseModel):
    """Every error's body (a request FastAPI rejects has a list as `detail`)."""

    detail: str | list[Any] = Field(description="the reason; a list: invalid parameters")
    error: str | None = Field(None, description="the error: NotFound, Conflict, Forbidden...")
    missing_permission: str | None = Field(None, description="on a 403: the permission")


Responses = dict[int | str, dict[str, Any]]


def error_doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# documented on every route (FastAPI(responses=...))
COMMON_ERRORS: Responses = {
    400: error_doc("a request body that does not parse"),
    401: error_doc("no token, or an unknown or revoked one (routes that need a token)"),
    403: error_doc("the token's role lacks the route's permission"),
    422: error_doc("an invalid parameter: the reason lists the valid values"),
    503: error_doc("the user database is unreachable and the token is not known yet (Retry-After)"),
}
NOT_FOUND: Responses = {404: error_doc("no such agent, call or file")}
CONFLICT: Responses = {409: error_doc("the agent's state does not allow it")}


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        status = next((code for cls, code in HTTP_STATUS.items() if isinstance(exc, cls)), 400)
        body: dict[str, str] = {"detail": str(exc), "error": type(exc).__name__}
        headers: dict[str, str] = {}
        if isinstance(exc, Forbidden):
            body["missing_permission"] = exc.permission
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, AuthUnavailable):
            headers["Retry-After"] = "5"
        return JSONResponse(body, status, headers=headers)

    app.add_exception_handler(ControlError, handle)
    app.add_exception_handler(AuthError, handle)
    app.add_exception_handler(InvalidQuery, handle)
    app.add_exception_handler(InvalidRange, handle)
