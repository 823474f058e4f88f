"""Every route of the calls and reports pages, per role: what each user gets, and
without credentials a 401 for a script and a 303 to the login form for a browser."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from gateway.auth.permissions import ROUTES
from gateway.store import CdrStore
from tests.unit.api.rows import add_call, at
from tests.unit.recordings.wavgen import write_wav
from tests.unit.ui.conftest import USERS, Ui

MINE = ("/ui/", "/ui/calls", "/ui/calls/{call_id}", "/ui/calls/{call_id}/waveform",
        "/ui/reports", "/ui/reports.csv", "/ui/reports/agents.csv")  # fmt: skip
DAY = "?from=2026-03-02&to=2026-03-02"


@pytest.fixture
async def calls(ui: Ui, tmp_path: Path) -> dict[str, uuid.UUID]:
    wav = write_wav(tmp_path / "s.wav", np.zeros(1600, dtype=np.int16), channels=2)
    cdr = CdrStore(ui.db)
    made = {
        a: await add_call(cdr, at(9), answered=1, ended=9, agent=a, recordings={"stereo": str(wav)})
        for a in ("alice", "bob")
    }
    for call_id in made.values():
        ui.control.recordings[str(call_id)] = wav
    return made


def urls(calls: dict[str, uuid.UUID]) -> list[tuple[str, str, str]]:
    """(template, url, whose call): one url per route, the player twice."""
    out = []
    for template in MINE:
        for owner in ("alice", "bob") if "{call_id}" in template else ("",):
            url = template.replace("{call_id}", str(calls[owner])) if owner else template
            out.append((template, url + (DAY if "reports" in template else ""), owner))
    return out


def test_every_route_here_is_in_the_table() -> None:
    assert {p for m, p in ROUTES if p.startswith("/ui/") and m == "GET"} >= set(MINE)


async def test_each_role_on_each_route(ui: Ui, calls: dict[str, uuid.UUID]) -> None:
    for user, role, agent in USERS:
        async with ui.login(user) as c:
            for template, url, owner in urls(calls):
                r = await c.get(url, headers={"Accept": "text/html"})
                if template == "/ui/":
                    expected = 303
                elif agent is not None and owner not in ("", agent):
                    expected = 404  # another agent's call: as if it did not exist
                else:
                    expected = 200
                assert r.status_code == expected, (user, url, r.text[:200])


async def test_without_credentials(ui: Ui, calls: dict[str, uuid.UUID]) -> None:
    async with ui.client() as c:
        for _template, url, _owner in urls(calls):
            r = await c.get(url)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", url
            r = await c.get(url, headers={"Accept": "text/html"})
            assert r.status_code == 303 and r.headers["location"].startswith(
                "/ui/login?next=/ui/"
            ), url
