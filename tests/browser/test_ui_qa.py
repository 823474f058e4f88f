"""The issue's QA scenario in Chromium against a running gateway with real recorded
calls: an admin builds a form in the builder (a single-choice question with an
auto-fail option); QA finds alice's call, plays it (`playing`, `currentTime`
advances), adds a remark at the player's time and jumps back to it, fills the form
with the auto-fail answer and submits: the server's score 0 is shown; alice's agent
user sees it and acknowledges it (bob's sees nothing); a second reviewer scores the
same call and the calibration page shows both with their agreement. Screenshots:
var/test-artifacts/screenshots/qa-*.png (a run never rewrites docs/img/)."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page

from tests.browser.conftest import CALLS, Login, Site, add_user
from tests.support.browser import shot

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
FORM = "call-quality"


async def build_form(page: Page, site: Site) -> None:
    await page.goto(site.url("/ui/qa/forms"))
    await page.get_by_role("link", name="New form").click()
    await page.get_by_label("Form name").fill(FORM)
    await page.get_by_label("Section 1 title").fill("Opening")
    await page.get_by_label("Question 1.1 text").fill("Greeted the caller?")
    await page.get_by_role("button", name="Add question to section 1").click()
    await page.get_by_label("Question 1.2 text").fill("Tone")
    await page.get_by_label("Question 1.2 type").select_option("single")
    await page.get_by_label("Question 1.2 text").fill("Tone")  # re-rendered: still there
    await page.get_by_label("Question 1.2 weight").fill("3")
    await page.get_by_label("Option 1.2.1 label").fill("Friendly")
    await page.get_by_label("Option 1.2.2 label").fill("Rude")
    await page.get_by_label("Option 1.2.2 auto-fail").check()
    await page.get_by_role("button", name="Save the form").click()
    await page.wait_for_url(f"**/ui/qa/forms/{FORM}/versions/1")
    assert "auto-fail" in await page.locator("main").inner_text()
    await shot(page, "qa-form-version")


async def play(page: Page) -> None:
    await page.wait_for_selector("#player[data-waveform='ready']")
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


async def answer(page: Page, tone: str, comment: str) -> None:
    await page.locator("fieldset[data-qid='q1']").get_by_label("Yes").check()
    await page.locator("fieldset[data-qid='q2']").get_by_label(tone).check()
    await page.get_by_label("Comment on “Tone”").fill(comment)


async def test_qa_scores_a_call_the_agent_acknowledges_and_reviewers_calibrate(
    site: Site, login: Login
) -> None:
    build_form_page = await login("root")
    await build_form(build_form_page, site)

    # QA finds the call, plays it, remarks at the player's time, evaluates it
    page = await login("qa")
    await page.get_by_label("Caller").fill(CALLS["alice"][1])
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**/ui/calls?*")
    await page.locator("table tbody tr").first.get_by_role("link", name="Listen").click()
    await page.get_by_role("link", name="Evaluate this call").click()
    call = site.calls["alice"]
    await page.wait_for_url(f"**/ui/calls/{call}/evaluate")
    await play(page)
    await page.get_by_role("button", name="Pause").click()
    at = await page.evaluate("window.player.currentTime()")
    await page.get_by_label("Remark at the current time").fill("did not give her name")
    await page.get_by_role("button", name="Add remark").click()
    remark = page.locator("#remarks li", has_text="did not give her name")
    await remark.wait_for()
    jump = remark.get_by_role("button")
    offset = float(await jump.get_attribute("data-seek") or "nan")
    assert abs(offset - at) < 0.2, (offset, at)
    await page.evaluate("window.player.seekTo(0)")
    await jump.click()
    now = await page.evaluate("document.getElementById('audio').currentTime")
    assert abs(now - offset) < 0.3, (now, offset)

    await answer(page, "Rude", "raised her voice")
    await page.get_by_role("button", name="Save draft").click()
    await page.get_by_text("Draft saved").wait_for()
    await page.get_by_role("button", name="Submit").click()
    score = page.locator("#score-value")
    await score.wait_for()
    assert await score.inner_text() == "0 %"
    assert "q2: 'Rude' fails the evaluation" in await page.locator("#score").inner_text()
    assert await page.locator("fieldset.question[disabled]").count() == 2
    await shot(page, "qa-evaluate")  # docs/img/ui-evaluate.png is a copy, made by hand
    remarks = await site.api("qa", f"/api/v1/calls/{call}/remarks")
    assert [r["text"] for r in remarks] == ["did not give her name"]

    # alice's agent user sees it and acknowledges it; bob's sees nothing
    agent = await login("ana")
    await agent.goto(site.url("/ui/evaluations"))
    cards = agent.locator("article.evaluation")
    assert await cards.count() == 1
    card = cards.first
    assert "0 %" in await card.locator("h2").inner_text()
    assert "raised her voice" in await card.inner_text()
    await card.get_by_role("button", name="Acknowledge").click()
    await card.locator("p.ack[data-ack='acknowledged']").wait_for()
    await shot(agent, "qa-agent-evaluations")
    other = await login("ben")
    await other.goto(site.url("/ui/evaluations"))
    assert await other.locator("article.evaluation").count() == 0

    # a second reviewer scores the same call; calibration compares them
    site.tokens["qa2"] = await add_user(site.gw, "qa2", "qa", None)
    second = await login("qa2")
    await second.goto(site.url(f"/ui/calls/{call}/evaluate"))
    await answer(second, "Friendly", "polite")
    await second.get_by_role("button", name="Submit").click()
    await second.locator("#score-value").wait_for()
    assert await second.locator("#score-value").inner_text() == "100 %"
    await second.get_by_role("link", name="Calibration of this call").click()
    table = second.locator("#calibration")
    await table.wait_for()
    headers = await table.locator("thead th").all_inner_texts()
    assert headers[1:3] == ["qa", "qa2"]
    greet = table.locator("tr[data-question='q1']")
    tone = table.locator("tr[data-question='q2']")
    assert await tone.locator("td").all_inner_texts() == ["Rude", "Friendly", "50 %"]
    assert await greet.locator("td").all_inner_texts() == ["Yes", "Yes", "100 %"]
    assert await table.locator("td.total").all_inner_texts() == ["0 %", "100 %"]
    spread = await second.locator("#spread").inner_text()
    assert "Min\n0 %" in spread and "Max\n100 %" in spread and "Mean\n50 %" in spread
    await shot(second, "qa-calibration")

    # the admin changes the form: version 2; version 1 stays readable with its evaluations
    await build_form_page.goto(site.url(f"/ui/qa/forms/{FORM}/edit"))
    await build_form_page.get_by_label("Section 1 title").fill("Greeting")
    await build_form_page.get_by_role("button", name="Save a new version").click()
    await build_form_page.wait_for_url(f"**/ui/qa/forms/{FORM}/versions/2")
    assert "Greeting" in await build_form_page.locator("main").inner_text()
    await build_form_page.get_by_role("link", name="v1", exact=True).click()
    await build_form_page.wait_for_url(f"**/ui/qa/forms/{FORM}/versions/1")
    assert "Opening" in await build_form_page.locator("main").inner_text()
    await shot(build_form_page, "qa-form-version")
    evaluations = await site.api("sup", "/api/v1/qa/evaluations", call_id=call)
    assert {e["form"]["version"] for e in evaluations} == {1}


async def test_qa_hears_each_segment_of_a_transferred_call_in_its_own_player(
    site: Site, login: Login
) -> None:
    """A call alice blind-transfers to bob has two segments: the QA page shows a player
    for each (segment 2's audio through `?segment=2`); evaluations stay on the call."""
    gw = site.gw

    async def alice_talks() -> str | None:
        calls = await gw.get("/calls")
        return next((c["id"] for c in calls if c["agent"] == "alice"
                     and c["state"] == "connected"), None)  # fmt: skip

    async def alice_free() -> bool:
        return await gw.agent_state("alice") == "available"

    await gw.wait_for("alice available", alice_free, timeout=15)
    sipp = await gw.call(CALLS["alice"][0], hold_ms=4000, caller="+15551230009")
    call_id = await gw.wait_for("alice's call", alice_talks, timeout=15, interval=0.05)
    r = await gw.api.post(f"/api/v1/calls/{call_id}/transfers",
                          json={"flow": "blind", "target": {"agent": "bob"}})  # fmt: skip
    assert r.status_code == 201, r.text
    assert await sipp.wait(40) == 0, sipp.errors()

    async def finished() -> bool:
        found = (await site.api("qa", f"/api/v1/calls/{call_id}"))["segments"]
        return len(found) == 2 and all(s["sha256"] for s in found)

    await gw.wait_for("both segments finished", finished, timeout=20)
    page = await login("qa")
    await page.goto(site.url(f"/ui/calls/{call_id}"))
    players = page.locator("#segments audio.segment-player")
    assert await players.count() == 2
    assert await players.nth(1).get_attribute("src") == (
        f"/api/v1/calls/{call_id}/recording?segment=2")  # fmt: skip
    # each player loads its own file: the length its WAV header gives, the segment's
    await page.wait_for_function(
        "[...document.querySelectorAll('#segments audio')].every(a => a.duration > 0)",
        timeout=10_000,
    )
    shown = await players.evaluate_all("els => els.map(a => a.duration)")
    segs = (await site.api("qa", f"/api/v1/calls/{call_id}"))["segments"]
    for seconds, seg in zip(shown, segs, strict=True):
        assert abs(seconds - seg["duration_seconds"]) < 0.05, (shown, segs)
    text = await page.locator("#segments").inner_text()
    assert "Segment 1" in text and "agent alice" in text
    assert "Segment 2" in text and "agent bob" in text and "sha256" in text
    await shot(page, "qa-segments")
