"""The wallboard in real Chromium, on a TV-sized page, against a real gateway with a
real call: the caller waits while the only agent is paused, the longest-wait tile turns
critical (and says so) within 2 s of the wait passing the 3 s threshold; the agent is
unpaused, its softphone answers, and the tile is back to normal within 2 s of the
answer. No reload: the page never navigates, opens one EventSource and makes no other
request. Screenshots of both states go to the test artefacts (docs/img/ui-wallboard.png
is a copy of `wallboard-critical.png`).

Its own gateway (the `site` fixture's has no alert thresholds), in the browser suite's
port ranges (tests/browser/conftest.py: BrowserGateway)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from tests.browser.conftest import BrowserGateway, add_user
from tests.support.agent_ua_client import AgentProcess
from tests.support.browser import TV, new_page, shot, ui_login
from tests.support.gateway_env import start_phone

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DID, CRITICAL = "+15550100100", 3.0
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": DID, "queue": "sales"}],
    "queues": {
        "sales": {
            "ring_timeout": 10,
            "wrapup": 1,
            "announcements": {"every": None},
            "alerts": {
                "longest_wait": {"warning": 1.5, "critical": CRITICAL},
                "waiting": {"warning": 3, "critical": 5},
            },
        },
    },
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}
# counts EventSource connections and every navigation of the page, from its first script
COUNTERS = """
window.__eventSources = 0;
const Original = window.EventSource;
window.EventSource = function (...args) { window.__eventSources += 1; return new Original(...args); };
window.EventSource.prototype = Original.prototype;
Object.assign(window.EventSource, {CONNECTING: 0, OPEN: 1, CLOSED: 2});
"""
TILE = 'section[data-queue="sales"] li[data-kpi="longest_wait"]'


class Board:
    def __init__(self, gw: BrowserGateway, phone: AgentProcess, token: str) -> None:
        self.gw, self.phone, self.token = gw, phone, token
        self.headers = {"Authorization": f"Bearer {token}"}
        self.url = f"http://127.0.0.1:{gw.api_port}"
        self.stopped = False  # the last test stops the gateway itself

    async def post(self, path: str) -> None:
        r = await self.gw.api.post(path, headers=self.headers, json={"reason": "meeting"})
        assert r.status_code == 200, r.text

    async def snapshot(self) -> dict[str, Any]:
        r = await self.gw.api.get("/api/v1/wallboard", headers=self.headers)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def board(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Board]:
    gw = BrowserGateway(tmp_path_factory.mktemp("wallboard"), ROUTING, workers=1)
    await gw.start()
    phone, b = None, None
    try:
        token = await add_user(gw, "sup", "supervisor", None)
        gw.api.headers["Authorization"] = f"Bearer {token}"
        phone = await start_phone(gw, "alice", tone=1000, answer_after=0.3)
        b = Board(gw, phone, token)

        async def available() -> bool:
            return await gw.agent_state("alice") == "available"

        await gw.wait_for("alice available", available, timeout=15)
        yield b
    finally:
        if phone is not None:
            await phone.stop()
        if b is None or not b.stopped:
            rc = await gw.stop()
            assert rc == 0, gw.log()


async def level(page: Page) -> str:
    return str(await page.get_attribute(TILE, "data-level"))


async def wait_level(page: Page, wanted: str, timeout: float) -> float:
    """Until the tile shows `wanted`; the wall-clock instant it did."""
    await page.wait_for_function(
        f"document.querySelector('{TILE}')?.dataset.level === '{wanted}'",
        timeout=timeout * 1000,
        polling=50,
    )
    return time.time()


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def test_a_waiting_call_turns_the_tile_critical_and_the_answer_back_to_normal(
    board: Board, browser: Browser
) -> None:
    gw = board.gw
    await board.post("/api/v1/agents/alice/pause")  # nobody to answer
    page = await new_page(browser, TV)
    await page.add_init_script(COUNTERS)
    await ui_login(page, board.url, board.token)
    await page.goto(f"{board.url}/ui/wallboard")
    await page.wait_for_selector('#wb-status[data-state="live"]')
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    assert await level(page) == "normal"
    alice = page.locator('#wb-agents tr[data-agent="alice"]')
    await alice.locator("text=paused").wait_for()
    await shot(page, "wallboard-normal")

    # the gateway answers the caller at once (queue music); it hangs up `hold_ms` later
    sipp = await gw.call(DID, hold_ms=15000, caller="+15551230009")
    critical_at = await wait_level(page, "critical", timeout=CRITICAL + 6)
    snap = await board.snapshot()
    (queue,) = snap["queues"]
    crossed = epoch(queue["oldest_waiting_since"]) + CRITICAL
    late = critical_at - crossed
    assert 0 <= late < 2.0, f"critical {late:.2f} s after the wait passed {CRITICAL} s"
    print(f"wallboard: critical {late:.2f} s after the wait passed {CRITICAL} s")
    tile = page.locator(TILE)
    assert "Critical" in await tile.inner_text()  # said in text, not only in colour
    assert "critical" in (await page.locator("#wb-announce").inner_text()).lower()
    animation = await tile.evaluate("e => getComputedStyle(e).animationName")
    assert animation == "wb-pulse"
    assert await gw.metric("contactgw_queue_alert_level", queue="sales", kpi="longest_wait") == 2
    await shot(page, "wallboard-critical")  # the one copied to docs/img/ui-wallboard.png

    await board.post("/api/v1/agents/alice/unpause")  # the phone answers after 0.3 s
    normal_at = await wait_level(page, "normal", timeout=8)
    agent = next(a for a in (await board.snapshot())["agents"] if a["id"] == "alice")
    assert agent["state"] == "on-call" and agent["call_answered_at"], agent
    late = normal_at - epoch(agent["call_answered_at"])
    assert 0 <= late < 2.0, f"normal {late:.2f} s after the answer"
    print(f"wallboard: normal {late:.2f} s after the answer")
    await alice.locator("text=on-call").wait_for()
    await shot(page, "wallboard-answered")

    assert navigations == [], navigations  # no reload, no navigation
    assert await page.evaluate("window.__eventSources") == 1
    requests = await page.evaluate(
        "performance.getEntriesByType('resource')"
        ".filter(e => ['fetch', 'xmlhttprequest'].includes(e.initiatorType)).length"
    )
    assert requests == 0  # no polling
    assert await sipp.wait(40) == 0, sipp.errors()
    await page.context.close()


async def test_reduced_motion_stops_the_pulse_but_keeps_the_level(
    board: Board, browser: Browser
) -> None:
    """The critical tile's pulse respects prefers-reduced-motion (the level stays said)."""
    page = await new_page(browser, TV)
    await page.emulate_media(reduced_motion="reduce")
    await ui_login(page, board.url, board.token)
    await page.goto(f"{board.url}/ui/wallboard")
    await page.wait_for_selector('#wb-status[data-state="live"]')
    await page.evaluate(f"document.querySelector('{TILE}').className = 'tile level-critical'")
    animation = await page.locator(TILE).evaluate("e => getComputedStyle(e).animationName")
    assert animation == "none"
    hold = page.locator('section[data-queue="sales"] li[data-kpi="avg_hold_today"]')
    assert await hold.locator("h3").inner_text() == "Avg hold today"  # nothing held: a dash
    assert await hold.locator(".tile-value").inner_text() == "–"
    await page.context.close()


async def test_a_threshold_edited_through_the_routing_api_applies_live(
    board: Board, browser: Browser
) -> None:
    """An admin sets `waiting: {warning: 0}` on the running queue: the open page's
    calls-waiting tile turns amber by itself (no reload), and back when it is removed."""
    gw = board.gw
    admin = {"Authorization": f"Bearer {await add_user(gw, 'root', 'admin', None)}"}
    page = await new_page(browser, TV)
    await ui_login(page, board.url, board.token)
    await page.goto(f"{board.url}/ui/wallboard")
    await page.wait_for_selector('#wb-status[data-state="live"]')
    waiting = 'section[data-queue="sales"] li[data-kpi="waiting"]'

    async def put_alerts(alerts: dict[str, Any]) -> None:
        r = await gw.api.get("/api/v1/config/queues/sales", headers=admin)
        assert r.status_code == 200, r.text
        body = {k: v for k, v in r.json().items() if k != "name"}
        body["alerts"] = alerts
        headers = {**admin, "If-Match": r.headers["etag"]}
        r = await gw.api.put("/api/v1/config/queues/sales", json=body, headers=headers)
        assert r.status_code == 200, r.text

    assert await page.get_attribute(waiting, "data-level") == "normal"
    await put_alerts({**ROUTING["queues"]["sales"]["alerts"], "waiting": {"warning": 0}})
    await page.wait_for_function(
        f"document.querySelector('{waiting}').dataset.level === 'warning'", timeout=8000
    )
    assert "Warning (at or above 0)" in await page.locator(waiting).inner_text()
    await put_alerts(ROUTING["queues"]["sales"]["alerts"])
    await page.wait_for_function(
        f"document.querySelector('{waiting}').dataset.level === 'normal'", timeout=8000
    )
    await page.context.close()


async def test_stopping_the_gateway_ends_an_open_stream_without_holding_the_shutdown(
    board: Board,
) -> None:
    """Last in this module: it stops the gateway while a client is still listening."""
    gw = board.gw
    lines: list[str] = []

    async def listen() -> None:
        async with (
            httpx.AsyncClient(base_url=board.url, timeout=30) as client,
            client.stream("GET", "/api/v1/wallboard/stream", headers=board.headers) as r,
        ):
            assert r.headers["content-type"].startswith("text/event-stream")
            async for line in r.aiter_lines():
                lines.append(line)

    reader = asyncio.get_running_loop().create_task(listen())
    while "event: wallboard" not in lines:
        await asyncio.sleep(0.05)
        assert not reader.done(), reader
    started = time.monotonic()
    board.stopped = True
    assert await gw.stop() == 0, gw.log()
    took = time.monotonic() - started
    await asyncio.wait_for(reader, 5)  # the server ended it: no error, no timeout
    assert "did not finish" not in gw.log(tail=100_000), gw.log()
    print(f"wallboard: gateway stopped in {took:.1f} s with a stream open")
