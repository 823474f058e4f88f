"""The one table that maps domain errors to HTTP.

The errors themselves are transport-neutral: the control plane's in
`gateway/control/errors.py`, authentication's in `gateway/auth/errors.py`, the store's
query errors in `gateway/store/search.py` and `stats.py`. The body is
``{"detail": <reason>, "error": <class name>}``; a 401 carries `WWW-Authenticate: Bearer`,
a 403 names the permission that is missing (`missing_permission`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway.auth.errors import AuthError, Forbidden, InvalidUser, Unauthenticated
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
    InvalidQuery: 422,  # a read the store cannot serve: a foreign cursor, an empty range
    InvalidRange: 422,
}


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        status = next((code for cls, code in HTTP_STATUS.items() if isinstance(exc, cls)), 400)
        body: dict[str, str] = {"detail": str(exc), "error": type(exc).__name__}
        headers: dict[str, str] = {}
        if isinstance(exc, Forbidden):
            body["missing_permission"] = exc.permission
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(body, status, headers=headers)

    app.add_exception_handler(ControlError, handle)
    app.add_exception_handler(AuthError, handle)
    app.add_exception_handler(InvalidQuery, handle)
    app.add_exception_handler(InvalidRange, handle)
