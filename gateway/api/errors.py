"""The one table that maps the control plane's domain errors to HTTP.

The errors themselves live in `gateway/control/errors.py` (transport-neutral): 404 for
`NotFound`, 409 for `Conflict`, 422 for `InvalidRequest`, 400 for any other
`ControlError`. The body is ``{"detail": <reason>, "error": <class name>}``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway.control.errors import Conflict, ControlError, InvalidRequest, NotFound

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
