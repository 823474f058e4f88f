"""In Chromium: the agent desktop. The sales queue gets wrap-up codes and a long wrap-up
through the routing API (live, restored after). ana (alice's agent user) opens
/ui/agent; a first call from a new number is answered and its wrap-up ended with the
page's Ready button; the same number calls again and the screen-pop (caller, name, DID,
queue, the previous call in the history with its recording link) is on the page within
1 s of the phone ringing; the Hold / Resume buttons hold the call; after the call ana
picks a code and writes a note, and the call record and the `call.completed` a real MQTT
subscriber receives carry them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.browser.conftest import Login, Site
from tests.integration.e2e.test_events_e2e import Subscriber
from tests.support.browser import shot

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CALLER = "+15551230077"  # a number no other browser test calls from
QUEUE = "/api/v1/config/queues/sales"


async def put_queue(site: Site, change: dict[str, Any]) -> dict[str, Any]:
    """Change the sales queue through the routing API and wait until the gateway runs it;
    returns the queue as it was."""
    auth = {"Authorization": f"Bearer {site.tokens['root']}"}
    got = await site.gw.api.get(QUEUE, headers=auth)
    got.raise_for_status()
    before = {k: v for k, v in got.json().items() if k != "name"}
    put = await site.gw.api.put(
        QUEUE, json={**before, **change}, headers={**auth, "If-Match": got.headers["ETag"]}
    )
    assert put.status_code == 200, put.text
    version = int(put.headers["ETag"].strip('"v'))

    async def running() -> bool:
        return await site.gw.metric("contactgw_config_version") == version

    await site.gw.wait_for("the new routing version", running, timeout=10)
    return before


@pytest_asyncio.fixture(loop_scope="session")
async def coded(site: Site) -> AsyncIterator[None]:
    before = await put_queue(site, {"wrapup": 30, "wrapup_codes": ["sale", "no-sale"]})
    yield
    await put_queue(site, before)


async def state_is(site: Site, state: str) -> None:
    async def probe() -> bool:
        return await site.gw.agent_state("alice") == state

    await site.gw.wait_for(f"alice {state}", probe, timeout=15)


async def test_screen_pop_and_wrapup_from_the_agent_desktop(
    site: Site, login: Login, coded: None
) -> None:
    gw, phone = site.gw, site.phones["alice"]
    sub = Subscriber(gw.mqtt_port)
    sub.start()
    try:
        await asyncio.wait_for(sub.subscribed.wait(), 10)
        await state_is(site, "available")
        page = await login("ana")
        await page.goto(site.url("/ui/agent"))
        await page.wait_for_selector("#ad-status[data-state='live']")
        assert await page.locator("#ad-state").inner_text() == "available"

        # a first call from the number; its wrap-up ended with the page's Ready button
        rung = len(phone.find("incoming"))
        first = await gw.call("+15550100100", hold_ms=1000, caller=CALLER)
        assert await first.wait(30) == 0, first.errors()
        await page.wait_for_selector("#ad-state:text('wrap-up')")
        previous = await page.evaluate("window.desktop.current().call_id")
        await page.get_by_role("button", name="Ready").click()
        await page.wait_for_selector("#ad-state:text('available')")

        # the same number again: the pop, with that call in the history, within 1 s
        second = await gw.call("+15550100100", hold_ms=4000, caller=CALLER)

        async def rang_again() -> bool:
            return len(phone.find("incoming")) >= rung + 2

        await gw.wait_for("the second offer", rang_again, timeout=15)
        offered = time.monotonic()
        row = page.locator(f"#pop-history tbody tr:has(a[href='/ui/calls/{previous}'])")
        await row.wait_for(timeout=5000)
        popped = time.monotonic() - offered
        print(f"screen-pop on the page {popped * 1000:.0f} ms after the phone rang")
        assert popped < 1.0
        assert await page.locator("#pop-caller").inner_text() == CALLER
        assert await page.locator("#pop-name").inner_text() == "Caller"
        assert await page.locator("#pop-did").inner_text() == "+15550100100"
        assert await page.locator("#pop-queue").inner_text() == "sales"
        call_id = await page.evaluate("window.desktop.current().call_id")
        assert call_id != previous
        await shot(page, "agent-desktop-pop")

        # in-call buttons: hold and resume through the in-call API
        await page.wait_for_selector("#pop-state:text('talking')")
        for button, held in (("Hold", True), ("Resume", False)):
            await page.get_by_role("button", name=button, exact=True).click()

            async def in_call(held: bool = held) -> bool:
                state = await site.api("root", f"/api/v1/calls/{call_id}/in-call")
                return bool(state["held"] is held)

            await gw.wait_for(f"held is {held}", in_call, timeout=5)

        # after the call: pick a code, write a note
        assert await second.wait(30) == 0, second.errors()
        await page.wait_for_selector("#pop-state:text('wrap-up')")
        await page.get_by_label("Wrap-up code").select_option("sale")
        await page.get_by_label("Notes").fill("asked for a quote by e-mail")
        await page.get_by_role("button", name="Save wrap-up").click()
        await page.wait_for_selector("#wrapup-result:text('Saved (sale).')")
        await page.wait_for_selector("#ad-state:text('available')")  # saving ended wrap-up
        await shot(page, "agent-desktop-wrapup")

        async def completed() -> dict[str, Any] | None:
            done = [e for e in sub.of(call_id) if e["type"].endswith("call.completed")]
            return done[0]["data"] if done else None

        data = await gw.wait_for("call.completed", completed, timeout=20)
    finally:
        await sub.stop()
    assert (data["wrapup_code"], data["wrapup_notes"]) == ("sale", "asked for a quote by e-mail")
    record = await site.api("root", f"/api/v1/calls/{call_id}")
    assert (record["wrapup_code"], record["wrapup_notes"], record["agent"]) == (
        "sale", "asked for a quote by e-mail", "alice")  # fmt: skip
