"""The QA pages in process (SQLite): each renders for the roles that may open it and
refuses the others; the evaluate page extends the player and shows a saved score; the
agent's page lists its own submitted evaluations only; calibration compares reviewers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.store import CdrStore
from gateway.store.evaluations import EvaluationStore
from tests.unit.api.rows import add_call, at
from tests.unit.ui.conftest import Ui

HTML = {"Accept": "text/html"}
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
FORM = {"sections": [{"title": "Opening", "questions": [
    {"id": "greet", "text": "Greeted the caller?", "type": "yes_no", "weight": 1},
    {"id": "tone", "text": "Tone", "type": "single", "weight": 2, "options": [
        {"id": "good", "label": "Good", "score": 1},
        {"id": "rude", "label": "Rude", "score": 0, "auto_fail": True}]}],
    "sections": [{"title": "Hold", "questions": [
        {"id": "hold", "text": "Hold (s)", "type": "number", "weight": 1, "min": 0, "max": 60,
         "na_allowed": True}]}]}]}  # fmt: skip


@pytest.fixture
async def seeded(ui: Ui, tmp_path: Path) -> dict[str, uuid.UUID]:
    cdr, store = CdrStore(ui.db), EvaluationStore(ui.db)
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"RIFF")
    calls = {
        who: await add_call(cdr, at(9 + i), answered=5, ended=60, agent=who,
                            recordings={"stereo": str(wav)})
        for i, who in enumerate(["alice", "bob"])
    }  # fmt: skip
    form = await store.save_form("basic", FORM, by="root", now=T0, new=True)
    for who, tone in (("alice", "rude"), ("bob", "good")):
        e = await store.create(calls[who], form.id, reviewer="qa", answers={}, score=None,
                               auto_failed=False, now=T0)  # fmt: skip
        answers = {"greet": {"value": True}, "tone": {"value": tone, "comment": "c-" + who},
                   "hold": {"na": True}}  # fmt: skip
        await store.update(e.id, reviewer="qa", answers=answers, score=0.0 if tone == "rude"
                           else 100.0, auto_failed=tone == "rude", submit=True, now=T0)  # fmt: skip
    return calls


async def test_each_page_per_role(ui: Ui, seeded: dict[str, uuid.UUID]) -> None:
    alice = seeded["alice"]
    pages = {
        f"/ui/calls/{alice}/evaluate": {"root", "qa"},
        f"/ui/calls/{alice}/calibration": {"root", "sup", "qa"},
        "/ui/evaluations": {"root", "sup", "qa", "ana"},
        "/ui/qa/forms": {"root", "sup", "qa"},
        "/ui/qa/forms/new": {"root"},
        "/ui/qa/forms/basic/edit": {"root"},
        "/ui/qa/forms/basic/versions/1": {"root", "sup", "qa"},
    }
    for user in ("root", "sup", "qa", "ana"):
        async with ui.login(user) as client:
            for url, allowed in pages.items():
                r = await client.get(url, headers=HTML)
                assert r.status_code == (200 if user in allowed else 403), (user, url, r.text)


async def test_the_evaluate_page_is_the_player_with_the_form(
    ui: Ui, seeded: dict[str, uuid.UUID]
) -> None:
    async with ui.login("qa") as client:
        html = (await client.get(f"/ui/calls/{seeded['alice']}/evaluate", headers=HTML)).text
    assert 'id="audio"' in html and 'id="timeline"' in html  # the player's template
    assert 'id="qa-form"' in html and "Greeted the caller?" in html
    assert 'Score: <strong id="score-value">0 %</strong>' in html
    assert "auto-fail: tone: &#39;Rude&#39; fails the evaluation" in html
    assert 'id="submit"' not in html  # submitted: read-only
    async with ui.login("root") as client:  # no evaluation of its own yet: a fresh form
        html = (await client.get(f"/ui/calls/{seeded['alice']}/evaluate", headers=HTML)).text
    assert 'id="submit"' in html and 'data-state="new"' in html


async def test_an_agent_lists_its_own_submitted_evaluations(
    ui: Ui, seeded: dict[str, uuid.UUID]
) -> None:
    async with ui.login("ana") as client:
        html = (await client.get("/ui/evaluations", headers=HTML)).text
    assert html.count('class="card evaluation"') == 1
    assert "c-alice" in html and "c-bob" not in html
    assert "Acknowledge" in html and "Dispute" in html
    async with ui.login("sup") as client:
        html = (await client.get("/ui/evaluations", headers=HTML)).text
    assert html.count('class="card evaluation"') == 2 and "Acknowledge</button>" not in html


async def test_calibration_and_the_version_view(ui: Ui, seeded: dict[str, uuid.UUID]) -> None:
    async with ui.login("sup") as client:
        html = (await client.get(f"/ui/calls/{seeded['alice']}/calibration", headers=HTML)).text
        assert 'id="calibration"' in html and '<th scope="col">qa</th>' in html
        view = (await client.get("/ui/qa/forms/basic/versions/1", headers=HTML)).text
        assert "auto-fail" in view and "Hold (s)" in view and "0..60" in view
        missing = await client.get("/ui/qa/forms/basic/versions/9", headers=HTML)
        assert missing.status_code == 404
