"""The OpenAPI document, completed: the public routes (gateway.auth.permissions, PUBLIC)
need no token, so they lose the bearer requirement and the 401/403 every other route
documents (the `authorize` dependency is on the whole app, so FastAPI puts both on all).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from gateway.auth.permissions import Permission, route_permission


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if route_permission(method.upper(), path) is Permission.PUBLIC:
                        operation.pop("security", None)
                        operation["responses"].pop("401", None)
                        operation["responses"].pop("403", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way
