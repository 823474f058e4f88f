"""Domain errors of the control plane and the one table that maps them to HTTP.

    ControlError
    ├── NotFound        (404) an agent, queue or call that does not exist
    ├── Conflict        (409) the request is valid but not in the current state
    └── InvalidRequest  (422) the request names something the domain rejects

The control plane raises these; only this module knows about HTTP status codes.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class ControlError(Exception):
    """Base of errors the API reports with a reason."""


class NotFound(ControlError):
    pass


class Conflict(ControlError):
    pass


class InvalidRequest(ControlError):
    pass


HTTP_STATUS: dict[type[ControlError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidRequest: 422,
}


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        status = next((code for cls, code in HTTP_STATUS.items() if isinstance(exc, cls)), 400)
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status)

    app.add_exception_handler(ControlError, handle)
