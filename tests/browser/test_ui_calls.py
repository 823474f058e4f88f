"""In Chromium against a running gateway with real recorded calls: QA finds a call by a
filter, plays it (the audio element reaches `playing`, `currentTime` advances), seeks
on the waveform, solos a channel and changes the speed, reads the timeline; each
recording request is audited. An agent user sees its own calls only and gets a 404 for
another agent's player. Screenshots: var/test-artifacts/screenshots/ (the README's docs/img/ are copies of
them made by hand: a run never rewrites tracked files)."""

from __future__ import annotations

import asyncio

import pytest

from tests.browser.conftest import CALLS, Login, Site
from tests.support.browser import shot

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_qa_finds_the_call_plays_it_and_uses_the_controls(site: Site, login: Login) -> None:
    page = await login("qa")
    assert page.url.endswith("/ui/calls")  # the start page: the first page QA may open
    await page.get_by_label("Caller").fill(CALLS["alice"][1])
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**/ui/calls?*")
    rows = page.locator("table tbody tr")
    assert await rows.count() == 1
    assert "alice" in await rows.first.inner_text()
    await shot(page, "qa-calls")

    await rows.first.get_by_role("link", name="Listen").click()
    await page.wait_for_url(f"**/ui/calls/{site.calls['alice']}")
    await page.wait_for_selector("#player[data-waveform='ready']")
    timeline = page.locator("#timeline")
    assert "Answered by alice" in await timeline.locator("li[data-kind='answered']").inner_text()
    kinds = await timeline.locator("li").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds[0] == "arrived" and "offered" in kinds and kinds[-1] == "ended"

    await page.evaluate(
        "() => { window.__playing = false; document.getElementById('audio')"
        ".addEventListener('playing', () => { window.__playing = true; }); }"
    )
    await page.get_by_role("button", name="Play").click()
    await page.wait_for_function("window.__playing === true", timeout=10_000)
    t0 = await page.evaluate("document.getElementById('audio').currentTime")
    await asyncio.sleep(1.0)
    t1 = await page.evaluate("document.getElementById('audio').currentTime")
    assert t1 > t0 + 0.5, (t0, t1)
    assert await page.get_by_role("button", name="Pause").get_attribute("aria-pressed") == "true"

    await page.get_by_role("button", name="Caller only").click()
    assert await page.evaluate("window.player.gains()") == [1, 0]
    await page.get_by_role("button", name="Agent only").click()
    assert await page.evaluate("window.player.gains()") == [0, 1]
    assert (
        await page.get_by_role("button", name="Agent only").get_attribute("aria-pressed") == "true"
    )
    await page.get_by_role("button", name="Both").click()
    assert await page.evaluate("window.player.gains()") == [1, 1]
    for label, rate in (("1.5×", 1.5), ("2×", 2.0), ("1.25×", 1.25)):
        await page.get_by_role("button", name=label, exact=True).click()
        assert await page.evaluate("document.getElementById('audio').playbackRate") == rate

    # seek: a click at 3/4 of the waveform's width lands at 3/4 of the recording
    await page.get_by_role("button", name="Pause").click()
    box = await page.locator("#wave").bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    duration = await page.evaluate("document.getElementById('audio').duration")
    now = await page.evaluate("document.getElementById('audio').currentTime")
    assert duration > 4 and abs(now - 0.75 * duration) < 0.25, (now, duration)
    await page.evaluate("window.seekTo(1.5)")  # the hook the remarks use
    assert abs(await page.evaluate("document.getElementById('audio').currentTime") - 1.5) < 0.05
    await shot(page, "qa-player")
    await page.locator("#wave").focus()  # the keyboard: arrows move 5 s, Home/End
    await page.keyboard.press("Home")
    assert await page.evaluate("document.getElementById('audio').currentTime") == 0
    await page.keyboard.press("ArrowRight")
    assert abs(await page.evaluate("document.getElementById('audio').currentTime") - 5) < 0.05
    await page.keyboard.press("ArrowLeft")
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowLeft")
    assert await page.evaluate("document.getElementById('audio').currentTime") == 0

    audit = await site.api("root", "/api/v1/audit", action="recording.download", user="qa")
    listened = [i for i in audit["items"] if i["target"] == site.calls["alice"]]
    assert listened and all(i["outcome"] == "ok" for i in listened)
    print(f"one listen: {len(listened)} audited recording requests")


async def test_an_agent_sees_its_own_calls_and_not_another_agents_player(
    site: Site, login: Login
) -> None:
    page = await login("ana")
    await page.goto(site.url("/ui/calls"))
    links = await page.locator("table tbody a[href^='/ui/calls/']").evaluate_all(
        "els => [...new Set(els.map(e => e.getAttribute('href')))]"
    )
    # other modules of the session's gateway add calls of their own: every row is alice's
    assert f"/ui/calls/{site.calls['alice']}" in links
    assert f"/ui/calls/{site.calls['bob']}" not in links
    agents = await page.locator("table tbody tr td:nth-child(5)").all_inner_texts()
    assert agents and set(agents) == {"alice"}
    assert await page.get_by_label("Agent").count() == 0  # no agent filter to try
    await shot(page, "agent-calls")
    response = await page.goto(site.url(f"/ui/calls/{site.calls['bob']}"))
    assert response is not None and response.status == 404
    assert "Not found" in await page.locator("h1").inner_text()
    response = await page.goto(site.url(f"/api/v1/calls/{site.calls['bob']}/recording"))
    assert response is not None and response.status == 404
    response = await page.goto(site.url(f"/ui/calls/{site.calls['alice']}"))
    assert response is not None and response.status == 200
    await page.wait_for_selector("#player[data-waveform='ready']")
    await shot(page, "agent-player")


async def test_a_browser_without_a_session_lands_on_the_login_form(
    site: Site, login: Login
) -> None:
    page = await login("sup")
    await page.context.clear_cookies()
    await page.goto(site.url("/ui/reports?interval=day"))
    assert "/ui/login?next=/ui/reports%3Finterval%3Dday" in page.url
    await shot(page, "login")
