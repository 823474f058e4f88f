"""The calls pages in process: search with every kind of filter and its errors, an agent
user's own rows, the player (timeline, remarks, audio source), the waveform JSON, the
audit of each recording request, and a gateway without a store."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np
import pytest

from gateway.auth import Authenticator
from gateway.store import CdrStore
from gateway.store.evaluations import EvaluationStore
from tests.unit.api.rows import add_call, at
from tests.unit.recordings.wavgen import write_wav
from tests.unit.ui.conftest import Ui, UiControl, make_app

HTML = {"Accept": "text/html"}


@pytest.fixture
async def calls(ui: Ui, tmp_path: Path) -> dict[str, uuid.UUID]:
    cdr = CdrStore(ui.db)
    wav = tmp_path / "stereo.wav"
    left = np.concatenate([np.full(4000, 8000), np.zeros(4000)])
    right = np.concatenate([np.zeros(4000), np.full(4000, -16000)])
    write_wav(wav, np.column_stack([left, right]).astype(np.int16).reshape(-1), channels=2)
    made = {
        "alice": await add_call(
            cdr, at(9), answered=12, ended=72, agent="alice", caller="+15551110001",
            offers=(("bob", "no_answer"),), recordings={"stereo": str(wav)},
        ),
        "bob": await add_call(
            cdr, at(10), answered=5, ended=305, agent="bob", caller="+15551110002",
            recordings={"stereo": str(wav)},
        ),
        "lost": await add_call(cdr, at(11), disposition="abandoned", ended=30, caller="+1999"),
    }  # fmt: skip
    for key in ("alice", "bob"):
        ui.control.recordings[str(made[key])] = wav
    return made


def listed(html: str) -> set[str]:
    return set(re.findall(r'href="/ui/calls/([0-9a-f-]{36})"', html))


async def test_qa_searches_by_each_filter(ui: Ui, calls: dict[str, uuid.UUID]) -> None:
    a, b, lost = (str(calls[k]) for k in ("alice", "bob", "lost"))
    async with ui.login("qa") as c:
        for params, expected in [
            ({}, {a, b, lost}),
            ({"caller": "+15551110002"}, {b}),
            ({"agent": "alice"}, {a}),
            ({"disposition": "abandoned"}, {lost}),
            ({"min_talk": "100"}, {b}),
            ({"max_talk": "60", "queue": "sales"}, {a}),
            ({"from": "2026-03-02T09:30", "to": "2026-03-02T10:30"}, {b}),
            ({"not_evaluated": "1"}, {a, b, lost}),
            ({"min_score": "50"}, set()),
        ]:
            r = await c.get("/ui/calls", params=params, headers=HTML)
            assert r.status_code == 200, (params, r.text)
            assert listed(r.text) == expected, params
        r = await c.get("/ui/calls", headers=HTML)
        assert 'href="/ui/calls" aria-current="page"' in r.text  # the nav marks the page
        assert "Listen" in r.text and ">none<" in r.text  # the abandoned call has no recording


async def test_bad_filters_are_named_and_nothing_is_searched(ui: Ui, calls: dict) -> None:
    async with ui.login("qa") as c:
        r = await c.get(
            "/ui/calls",
            params={"min_talk": "abc", "min_score": "140", "from": "yesterday", "disposition": "x"},
            headers=HTML,
        )
        assert r.status_code == 422
        for name in ("Duration from (s)", "Score from (%)", "From:", "Disposition: one of"):
            assert name in r.text, name
        assert listed(r.text) == set()
        assert 'value="abc"' in r.text  # the form keeps what was typed
        r = await c.get(
            "/ui/calls", params={"from": "2026-03-02T10:00", "to": "2026-03-02T09:00"}, headers=HTML
        )
        assert r.status_code == 422 and "`from` must be before `to`" in r.text


async def test_an_agent_sees_only_its_own_calls_and_players(ui: Ui, calls: dict) -> None:
    a, b = str(calls["alice"]), str(calls["bob"])
    async with ui.login("ana") as c:
        r = await c.get("/ui/calls", headers=HTML)
        assert listed(r.text) == {a} and "calls of agent alice only" in r.text
        assert (
            listed((await c.get("/ui/calls", params={"agent": "bob"}, headers=HTML)).text) == set()
        )
        assert (await c.get(f"/ui/calls/{a}", headers=HTML)).status_code == 200
        r = await c.get(f"/ui/calls/{b}", headers=HTML)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"]
        assert (await c.get(f"/ui/calls/{b}/waveform")).status_code == 404
        assert (await c.get(f"/api/v1/calls/{b}/recording")).status_code == 404


async def test_an_agent_that_may_hear_no_recording_gets_no_listen_link(ui: Ui, calls: dict) -> None:
    ui.app.state.qa.agent_recordings = "none"
    async with ui.login("ana") as c:
        r = await c.get("/ui/calls", headers=HTML)
        assert listed(r.text) == {str(calls["alice"])} and "Listen" not in r.text
        assert (await c.get(f"/ui/calls/{calls['alice']}", headers=HTML)).status_code == 404
    async with ui.login("qa") as c:
        assert "Listen" in (await c.get("/ui/calls", headers=HTML)).text


async def test_the_player_shows_the_timeline_remarks_and_streams_the_recording(
    ui: Ui, calls: dict
) -> None:
    a = calls["alice"]
    await EvaluationStore(ui.db).add_remark(
        a, author="qa", offset_seconds=75.5, text="greeting missing", evaluation_id=None, now=at(12)
    )
    async with ui.login("qa") as c:
        r = await c.get(f"/ui/calls/{a}", headers=HTML)
    assert r.status_code == 200
    assert f'<audio id="audio" preload="metadata" src="/api/v1/calls/{a}/recording">' in r.text
    kinds = re.findall(r'data-kind="(\w+)"', r.text)
    assert kinds == ["arrived", "queued", "offered", "offered", "answered", "ended"]
    assert "Offered to bob: not answered" in r.text and "Answered by alice after 12 s" in r.text
    assert 'data-seek="75.5"' in r.text and "greeting missing" in r.text and ">1:15<" in r.text
    for label in ("Caller only", "Agent only", "1.25×", "2×", "Play"):
        assert label in r.text


async def test_waveform_json_has_both_channels(ui: Ui, calls: dict) -> None:
    a = calls["alice"]
    async with ui.login("qa") as c:
        r = await c.get(f"/ui/calls/{a}/waveform", params={"buckets": "4"})
        assert r.status_code == 200
        body = r.json()
        assert body["duration_seconds"] == 1.0 and body["sample_rate"] == 8000
        caller, agent = body["channels"]
        assert caller["name"] == "caller" and caller["max"] == [0.2441, 0.2441, 0.0, 0.0]
        assert agent["name"] == "agent" and agent["min"] == [0.0, 0.0, -0.4883, -0.4883]
        for bad in ("0", "abc", "100000"):
            r = await c.get(f"/ui/calls/{a}/waveform", params={"buckets": bad})
            assert r.status_code == 422 and "`buckets`" in r.json()["detail"], bad
        assert (await c.get(f"/ui/calls/{calls['lost']}/waveform")).status_code == 404
        assert (await c.get("/ui/calls/not-a-uuid/waveform")).status_code == 404


async def test_each_recording_request_of_the_player_is_audited(ui: Ui, calls: dict) -> None:
    a = str(calls["alice"])
    async with ui.login("qa") as c:
        r = await c.get(f"/api/v1/calls/{a}/recording", headers={"Range": "bytes=0-99"})
        assert r.status_code == 206 and len(r.content) == 100
        r = await c.get(f"/api/v1/calls/{a}/recording", headers={"Range": "bytes=100-"})
        assert r.status_code == 206
    async with ui.login("root") as admin:
        items = (await admin.get("/api/v1/audit", params={"action": "recording.download"})).json()
    rows = [(i["user"], i["target"], i["details"].get("range")) for i in items["items"]]
    assert rows == [("qa", a, "bytes=0-99"), ("qa", a, "bytes=100-")]


async def test_the_nav_shows_what_the_role_may_open(ui: Ui) -> None:
    for name in ("root", "sup", "qa", "ana"):
        async with ui.login(name) as c:
            r = await c.get("/ui/", headers=HTML)
            assert r.status_code == 303 and r.headers["location"] == "/ui/calls", name
            page = (await c.get("/ui/calls", headers=HTML)).text
            assert '<a href="/ui/calls"' in page, name


async def test_without_a_store_the_pages_say_so(ui: Ui) -> None:
    app = make_app(None, Authenticator(ui.db), UiControl())
    ui.app = app
    async with ui.login("qa") as c:
        r = await c.get("/ui/calls", headers=HTML)
        assert r.status_code == 503 and "no call records store" in r.text
        r = await c.get(f"/ui/calls/{uuid.uuid4()}", headers=HTML)
        assert r.status_code == 503 and "no call records store" in r.text
        r = await c.get(f"/ui/calls/{uuid.uuid4()}/waveform")
        assert r.status_code == 503 and "no call records store" in r.json()["detail"]
        r = await c.get("/ui/reports", headers=HTML)
        assert r.status_code == 503 and "no call records store" in r.text
        r = await c.get("/ui/reports.csv")
        assert r.status_code == 503
