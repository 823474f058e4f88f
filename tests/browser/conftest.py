"""The browser suite's gateway: `contactgw run` with real calls, one user per role, and
Debian's Chromium (tests/support/browser.py).

`site` (session-scoped) starts one gateway (ports in the browser suite's ranges: SIP
29000-29999, RTP 53000-55999, TCP 28000-28999), adds the users with the `contactgw
users add` CLI (root admin, sup supervisor, qa qa, ana agent of alice, ben agent of
bob), registers a pjsua2 softphone for alice (queue sales, DID +15550100100) and one
for bob (queue support, DID +15550100200), and places one recorded call to each from
sipp as the carrier. `browser` is one headless Chromium for the session; `login(user)`
opens a fresh context (its own cookies) logged in through the UI's form.

A test module of this suite runs in the session's event loop:

    pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

    async def test_x(site: Site, login: Login) -> None:
        page = await login("qa")
        await page.goto(site.url(f"/ui/calls/{site.calls['alice']}"))
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from playwright.async_api import Browser, Page

from tests.support import ports
from tests.support.agent_ua_client import AgentProcess
from tests.support.browser import chromium, new_page, ui_login
from tests.support.gateway_env import REPO, Gateway, start_phone

SIP_RANGE, RTP_RANGE = (29000, 29999), (53000, 55999)
USERS = [
    ("root", "admin", None),
    ("sup", "supervisor", None),
    ("qa", "qa", None),
    ("ana", "agent", "alice"),
    ("ben", "agent", "bob"),
]
CALLS = {  # agent -> (DID, caller)
    "alice": ("+15550100100", "+15551230001"),
    "bob": ("+15550100200", "+15551230002"),
}
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [
        {"number": "+15550100100", "queue": "sales"},
        {"number": "+15550100200", "queue": "support"},
    ],
    "queues": {
        "sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}},
        "support": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}},
    },
    "agents": {
        "alice": {"password": "alice-pw", "queues": ["sales"]},
        "bob": {"password": "bob-pw", "queues": ["support"]},
    },
}
HOLD_MS = 6000  # each call's length: the recording the player plays


class BrowserGateway(Gateway):
    """A Gateway whose API and broker listen in the browser suite's TCP range."""

    def __init__(self, tmp: Path, routing: dict[str, Any], **kw: Any) -> None:
        super().__init__(tmp, routing, sip_range=SIP_RANGE, rtp_range=RTP_RANGE, **kw)
        self.api_port = ports.tcp_port(ports.BROWSER_TCP_RANGE)
        self.mqtt_port = ports.tcp_port(ports.BROWSER_TCP_RANGE)
        self.config["api"]["port"], self.config["mqtt"]["port"] = self.api_port, self.mqtt_port
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.api_port}", timeout=5)


@dataclass
class Site:
    gw: Gateway
    tokens: dict[str, str]  # user -> API token
    calls: dict[str, str]  # agent -> the id of the call it answered (recorded)
    phones: dict[str, AgentProcess] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.gw.api_port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    async def api(self, who: str, path: str, **params: Any) -> Any:
        """GET an API path as user `who` (bearer token), the JSON body."""
        r = await self.gw.api.get(
            path, params=params, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )
        r.raise_for_status()
        return r.json()


async def add_user(gw: Gateway, name: str, role: str, agent: str | None) -> str:
    args = ["users", "add", name, "--role", role, *(["--agent", agent] if agent else [])]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", *args, "--config", str(gw.config_path),
        cwd=str(REPO), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()


async def answered_call(site: Site, agent: str) -> str:
    gw = site.gw
    did, caller = CALLS[agent]

    async def available() -> bool:
        return await gw.agent_state(agent) == "available"

    await gw.wait_for(f"{agent} available", available, timeout=15)
    sipp = await gw.call(did, hold_ms=HOLD_MS, caller=caller)
    rc = await sipp.wait(40)
    assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"

    async def recorded() -> str | None:
        items = (await site.api("root", "/api/v1/recordings", agent=agent))["items"]
        return str(items[0]["call_id"]) if items else None

    call_id: str = await gw.wait_for(f"{agent}'s recorded call", recorded, timeout=30)
    return call_id


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    gw = BrowserGateway(tmp_path_factory.mktemp("browser"), ROUTING, workers=2)
    await gw.start()
    s = Site(gw, {}, {})
    try:
        for name, role, agent in USERS:
            s.tokens[name] = await add_user(gw, name, role, agent)
        gw.api.headers["Authorization"] = f"Bearer {s.tokens['root']}"  # gw.get(), gw.cdr()
        for agent in CALLS:
            s.phones[agent] = await start_phone(gw, agent, tone=1000, answer_after=0.3)
        for agent in CALLS:
            s.calls[agent] = await answered_call(s, agent)
        yield s
    finally:
        for phone in s.phones.values():
            await phone.stop()
        rc = await gw.stop()
        assert rc == 0, gw.log()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


Login = Callable[..., Awaitable[Page]]  # (user, viewport=None)


@pytest_asyncio.fixture(loop_scope="session")
async def login(site: Site, browser: Browser) -> AsyncIterator[Login]:
    """`await login("qa")`: a page in its own context, logged in through /ui/login."""
    pages: list[Page] = []

    async def open_as(user: str, viewport: dict[str, int] | None = None) -> Page:
        page = await new_page(browser, viewport)
        pages.append(page)
        await ui_login(page, site.base_url, site.tokens[user])
        return page

    yield open_as
    for page in pages:
        await page.context.close()
