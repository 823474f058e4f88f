"""Voicemail in the browser (real gateway, sipp as the carrier, Chromium): its own
gateway (the suite's `site` has no voicemail route) whose closed queue sends callers to
`{voicemail: sales-box}`; a supervisor opens /ui/voicemail, sees the message as `new`,
plays it (the `<audio>` element reaches `playing`), which makes it `listened`, and marks
it handled with a note from the keyboard; the API then says `handled`, by sup, with the
note. An agent sees only the boxes of its queues: bob's agent user sees no message."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.browser.conftest import BrowserGateway, add_user
from tests.support.browser import new_page, shot, ui_login

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TODAY = dt.datetime.now(dt.UTC).date()
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": "+15550100500", "queue": "closedq"}],
    "queues": {
        "closedq": {
            "schedule": {
                "timezone": "UTC",
                "hours": {"mon-sun": ["00:00-24:00"]},
                "holidays": [str(TODAY), str(TODAY + dt.timedelta(days=1))],
            },
            "closed_action": {"voicemail": "sales-box"},
        },
        "other": {},
    },
    "agents": {"bob": {"password": "bob-pw", "queues": ["other"]}},
}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def vm_site(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[BrowserGateway, dict[str, str], str]]:
    gw = BrowserGateway(tmp_path_factory.mktemp("browser-voicemail"), ROUTING, workers=1)
    await gw.start()
    try:
        tokens = {"sup": await add_user(gw, "sup", "supervisor", None),
                  "ben": await add_user(gw, "ben", "agent", "bob")}  # fmt: skip
        gw.api.headers["Authorization"] = f"Bearer {tokens['sup']}"
        sipp = await gw.call("+15550100500", hold_ms=9000, caller="+15557654321")
        rc = await sipp.wait(40)
        assert rc == 0, f"sipp exit {rc}\n{sipp.errors()}\n{gw.log()}"

        async def left() -> str | None:
            items = (await gw.get("/api/v1/voicemail"))["items"]
            return str(items[0]["call_id"]) if items else None

        call_id: str = await gw.wait_for("the voicemail message", left, timeout=30)
        yield gw, tokens, call_id
    finally:
        rc = await gw.stop()
        assert rc == 0, gw.log()


async def test_a_supervisor_plays_a_message_and_marks_it_handled(
    vm_site: tuple[BrowserGateway, dict[str, str], str], browser: Browser
) -> None:
    gw, tokens, call_id = vm_site
    base = f"http://127.0.0.1:{gw.api_port}"
    page = await new_page(browser)
    try:
        await ui_login(page, base, tokens["sup"])
        await page.goto(base + "/ui/voicemail")
        await expect(page.get_by_role("link", name="Voicemail")).to_be_visible()
        row = page.locator(f'tr[data-message="{call_id}"]')
        await expect(row).to_have_attribute("data-state", "new")
        await expect(row).to_contain_text("sales-box")
        await expect(row).to_contain_text("+15557654321")
        audio = row.locator("audio")
        label = await audio.get_attribute("aria-label")
        assert label is not None and label.startswith("Message from +15557654321")
        playing = await audio.evaluate(
            """a => new Promise((ok, fail) => {
                 a.addEventListener("playing", () => ok(true), {once: true});
                 a.addEventListener("error", () => fail(String(a.error && a.error.code)));
                 a.muted = true; a.play().catch(e => fail(String(e)));
               })"""
        )
        assert playing is True

        async def listened() -> bool:
            return (await gw.get(f"/api/v1/voicemail/{call_id}"))["state"] == "listened"

        await gw.wait_for("listened", listened, timeout=10)
        await shot(page, "ui-voicemail")
        note = row.get_by_label("Note")
        await note.focus()
        await note.fill("called back")
        await page.keyboard.press("Tab")  # the Mark handled button, from the keyboard
        button = row.get_by_role("button", name="Mark handled")
        await expect(button).to_be_focused()
        await page.keyboard.press("Enter")
        row = page.locator(f'tr[data-message="{call_id}"]')
        await expect(row).to_have_attribute("data-state", "handled", timeout=10_000)
        await expect(row.get_by_role("button", name="Reopen")).to_be_visible()
        m = await gw.get(f"/api/v1/voicemail/{call_id}")
        assert (m["state"], m["handled_by"], m["note"], m["listened_by"]) == (
            "handled", "sup", "called back", "sup")  # fmt: skip
    finally:
        await page.context.close()


async def test_an_agent_of_another_queue_sees_no_message(
    vm_site: tuple[BrowserGateway, dict[str, str], str], browser: Browser
) -> None:
    gw, tokens, call_id = vm_site
    base = f"http://127.0.0.1:{gw.api_port}"
    page = await new_page(browser)
    try:
        await ui_login(page, base, tokens["ben"])
        await page.goto(base + "/ui/voicemail")
        await expect(page.locator("main p[role=status]")).to_have_text("No messages.")
        assert await page.locator(f'tr[data-message="{call_id}"]').count() == 0
    finally:
        await page.context.close()
