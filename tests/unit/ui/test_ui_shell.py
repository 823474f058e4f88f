"""The UI shell: login form and cookie, logout, redirects for browsers, CSRF on
cookie-authenticated changes, the nav by role, static files."""

from __future__ import annotations

import re

from gateway.auth.http import CSRF_HEADER, SESSION_COOKIE
from tests.unit.ui.conftest import Ui

HTML = {"Accept": "text/html,application/xhtml+xml"}


async def test_login_form_has_the_labelled_token_field_and_the_button(ui: Ui) -> None:
    async with ui.client() as c:
        r = await c.get("/ui/login", params={"next": "/ui/calls"})
    assert r.status_code == 200
    assert '<label for="token">API token</label>' in r.text
    assert re.search(r'<input id="token" name="token" type="password"', r.text)
    assert '<button type="submit">Log in</button>' in r.text
    assert 'name="next" value="/ui/calls"' in r.text


async def test_login_sets_an_httponly_samesite_strict_cookie_and_redirects(ui: Ui) -> None:
    async with ui.client() as c:
        r = await c.post("/ui/login", data={"token": ui.tokens["qa"], "next": "/ui/reports"})
        assert r.status_code == 303
        assert r.headers["location"] == "/ui/reports"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        # the cookie alone authenticates API reads (the pages' fetch() calls)
        assert (await c.get("/api/v1/calls")).status_code == 200
    async with ui.client() as anonymous:
        assert (await anonymous.get("/api/v1/calls")).status_code == 401


async def test_a_wrong_token_shows_the_form_again_with_the_reason(ui: Ui) -> None:
    async with ui.client() as c:
        r = await c.post("/ui/login", data={"token": "cgw_nope", "next": "/ui/"})
        assert r.status_code == 401
        assert "unknown or revoked token" in r.text and "set-cookie" not in r.headers
        r = await c.post("/ui/login", data={"token": "  ", "next": "/ui/"})
        assert r.status_code == 401 and "enter your API token" in r.text


async def test_next_is_a_ui_path_of_this_site_only(ui: Ui) -> None:
    async with ui.client() as c:
        for evil in ("https://evil.example/ui/", "//evil.example/ui", "/api/v1/audit", "/\\evil"):
            r = await c.post("/ui/login", data={"token": ui.tokens["qa"], "next": evil})
            assert r.headers["location"] == "/ui/", evil


async def test_a_login_posted_from_another_site_is_refused(ui: Ui) -> None:
    async with ui.client() as c:
        r = await c.post(
            "/ui/login",
            data={"token": ui.tokens["qa"]},
            headers={"Origin": "https://evil.example"},
        )
        assert r.status_code == 403 and "set-cookie" not in r.headers
        r = await c.post(
            "/ui/login", data={"token": ui.tokens["qa"]}, headers={"Origin": "http://gw"}
        )
        assert r.status_code == 303


async def test_a_browser_without_a_session_is_sent_to_the_login_form(ui: Ui) -> None:
    async with ui.client() as c:
        r = await c.get("/ui/", headers=HTML)
        assert r.status_code == 303
        assert r.headers["location"] == "/ui/login?next=/ui/"
        # a revoked or bogus cookie is no session either
        c.cookies.set(SESSION_COOKIE, "cgw_bogus")
        r = await c.get("/ui/", params={"a": "1"}, headers=HTML)
        assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=/ui/%3Fa%3D1"
        # a script (no text/html) gets the API's 401
        r = await c.get("/ui/")
        assert r.status_code == 401 and r.json()["error"] == "Unauthenticated"


async def test_a_cookie_authenticated_change_needs_the_csrf_header(ui: Ui) -> None:
    async with ui.login("root") as client:
        url = "/api/v1/agents/alice/pause"
        r = await client.post(url, json={"reason": "lunch"})
        assert r.status_code == 403 and r.json()["missing_permission"] == "csrf"
        r = await client.post(url, json={"reason": "lunch"}, headers={CSRF_HEADER: "0" * 32})
        assert r.status_code == 403
        assert ui.control.paused == []
        r = await client.post(url, json={"reason": "lunch"}, headers={CSRF_HEADER: ui.csrf("root")})
        assert r.status_code == 200 and ui.control.paused == ["alice"]
    # a bearer token needs no CSRF value (no browser sends it by itself)
    async with ui.client() as c:
        r = await c.post(
            url, json={"reason": "x"}, headers={"Authorization": f"Bearer {ui.tokens['root']}"}
        )
        assert r.status_code == 200


async def test_logout_needs_the_page_csrf_field_and_clears_the_cookie(ui: Ui) -> None:
    async with ui.login("qa") as client:
        r = await client.post("/ui/logout", data={"csrf_token": "forged"})
        assert r.status_code == 403
        assert (await client.get("/api/v1/calls")).status_code == 200
        r = await client.post("/ui/logout", data={"csrf_token": ui.csrf("qa")})
        assert r.status_code == 303 and r.headers["location"] == "/ui/login"
        assert f'{SESSION_COOKIE}=""' in r.headers["set-cookie"]
        assert (await client.get("/api/v1/calls")).status_code == 401


async def test_the_page_carries_the_csrf_value_and_a_logout_form(ui: Ui) -> None:
    async with ui.login("qa") as client:
        r = await client.get("/ui/login")
    assert f'<meta name="csrf-token" content="{ui.csrf("qa")}">' in r.text


async def test_static_files_are_served_and_nothing_outside(ui: Ui) -> None:
    async with ui.client() as c:
        r = await c.get("/ui/static/ui.css")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
        assert (
            (await c.get("/ui/static/ui.js")).headers["content-type"].startswith("text/javascript")
        )
        assert (await c.get("/ui/static/../shell.py")).status_code == 404
        assert (await c.get("/ui/static/%2e%2e/shell.py")).status_code == 404
        assert (await c.get("/ui/static/nope.css")).status_code == 404
