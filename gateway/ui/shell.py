"""The UI shell: templates, the nav, login/logout, static files, HTML error pages.

A page module registers its routes on the app (their permissions are in
gateway/auth/permissions.py like every route's), adds its nav entry with `add_nav`,
and answers with `render(request, user, "its.html", ...)`: the template extends
``base.html`` and gets `user`, `nav` (only the entries the user's role may open),
`csrf` (the value state-changing requests must carry) and whatever the page passes.

Login keeps the API token in an HttpOnly SameSite=Strict cookie that
gateway.auth.http.authorize accepts like a bearer header (CSRF rules there).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.auth.errors import AuthError, Forbidden, Unauthenticated
from gateway.auth.http import (
    CSRF_FIELD,
    SESSION_COOKIE,
    CurrentUser,
    authenticator,
    csrf_token,
    wants_html,
)
from gateway.auth.permissions import Permission, refusal
from gateway.auth.service import Principal
from gateway.control.errors import ControlError, NotFound

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    permission: Permission  # shown to a role that may open it


def add_nav(app: FastAPI, label: str, href: str, permission: Permission) -> None:
    """Append a page to the nav (shown only to roles whose grant covers `permission`)."""
    nav: list[NavItem] = app.state.ui_nav
    nav.append(NavItem(label, href, permission))


def visible_nav(request: Request, user: Principal) -> list[NavItem]:
    nav: list[NavItem] = request.app.state.ui_nav
    return [i for i in nav if refusal(user.role, user.agent_id, i.permission, None) is None]


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def render(
    request: Request, user: Principal | None, name: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """`user` None: a page with no nav (login, error pages)."""
    token = session_token(request)
    html = templates.get_template(name).render(
        request=request,
        user=user,
        nav=visible_nav(request, user) if user is not None else [],
        path=request.url.path,
        csrf=csrf_token(token) if token else "",
        csrf_field=CSRF_FIELD,
        logged_in=token is not None,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def message(
    request: Request, user: Principal | None, title: str, text: str, status: int
) -> HTMLResponse:
    """A page that only says why (no store, not found, not allowed)."""
    return render(request, user, "message.html", status=status, title=title, text=text)


def safe_next(target: str | None) -> str:
    """Where to go after login: a /ui path of this site only (no open redirect)."""
    if not target:
        return "/ui/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui") or "\\" in target:
        return "/ui/"
    return target


def same_origin(request: Request) -> bool:
    """Login CSRF: a browser sends Origin on a form POST; it must be this site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def install(app: FastAPI) -> None:
    app.state.ui_nav = []
    _install_error_pages(app)

    @app.get("/ui/", include_in_schema=False)
    def ui_home(request: Request, user: CurrentUser) -> Response:
        nav = visible_nav(request, user)
        if not nav:
            return message(request, user, "Nothing to open", "Your role opens no page.", 200)
        return RedirectResponse(nav[0].href, status_code=303)

    @app.get("/ui/login", include_in_schema=False)
    def login_form(request: Request, next: str | None = None) -> HTMLResponse:
        return render(request, None, "login.html", next=safe_next(next), error=None)

    @app.post("/ui/login", include_in_schema=False)
    async def login(
        request: Request,
        token: Annotated[str, Form(max_length=512)] = "",
        next: Annotated[str, Form(max_length=2048)] = "/ui/",
    ) -> Response:
        target = safe_next(next)
        if not same_origin(request):
            raise Forbidden("csrf", "a login from another site's page is refused")
        auth = authenticator(request)
        token = token.strip()
        try:
            if not token:
                raise Unauthenticated("enter your API token")
            user = await auth.authenticate(token)
        except Unauthenticated as exc:
            page = render(request, None, "login.html", next=target, error=str(exc))
            page.status_code = 401
            return page
        await auth.audit(user, "ui.login", outcome="ok")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @app.post("/ui/logout", include_in_schema=False)
    async def logout(
        request: Request, csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=64)] = ""
    ) -> Response:
        token = session_token(request)
        if token is not None and csrf != csrf_token(token):
            raise Forbidden("csrf", f"logout needs the {CSRF_FIELD} field of its page")
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @app.get("/ui/static/{name:path}", include_in_schema=False)
    def static(name: str) -> Response:
        path = (STATIC / name).resolve()
        if not path.is_file() or not path.is_relative_to(STATIC):
            raise NotFound(f"no static file {name!r}")
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})


def _install_error_pages(app: FastAPI) -> None:
    """On a browser's /ui page, an auth or domain error is an HTML page, not JSON; the
    API's own handlers (gateway/api/errors.py) still answer everything else."""

    def wrap(previous: Any, status_for: Any) -> Any:
        async def handle(request: Request, exc: Exception) -> Response:
            if not wants_html(request):
                response: Response = await previous(request, exc)
                return response
            status, title = status_for(exc)
            return message(request, None, title, str(exc), status)

        return handle

    def auth_status(exc: Exception) -> tuple[int, str]:
        return (403, "Not allowed") if isinstance(exc, Forbidden) else (401, "Log in")

    def control_status(exc: Exception) -> tuple[int, str]:
        return (404, "Not found") if isinstance(exc, NotFound) else (409, "Refused")

    for cls, status_for in ((AuthError, auth_status), (ControlError, control_status)):
        previous = app.exception_handlers.get(cls)
        if previous is not None:
            app.add_exception_handler(cls, wrap(previous, status_for))

    previous_http: Any = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if wants_html(request) and exc.status_code >= 400:
            return message(request, None, "Error", str(exc.detail), exc.status_code)
        response: Response = await previous_http(request, exc)
        return response

    app.add_exception_handler(StarletteHTTPException, http_error)
