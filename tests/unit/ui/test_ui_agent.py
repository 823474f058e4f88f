"""The agent desktop page in process: an agent user gets its desktop (painted from the
HTML, the stream's first state), a user bound to no agent a page saying why, another
role a 403, an unknown call's pop a 404 page."""

from __future__ import annotations

import json
import re
import uuid

from gateway.api.v1.desktop import DesktopState
from gateway.api.views import AgentStatus
from gateway.store.wrapup import WrapupStore
from tests.unit.ui.conftest import Ui


def status(agent: str) -> AgentStatus:
    return AgentStatus(agent, agent, "paused", "lunch", ["sales"], True, None)


async def test_the_desktop_page_by_role(ui: Ui) -> None:
    ui.control.agent = status  # type: ignore[attr-defined]
    ui.app.state.desktop = DesktopState(None, WrapupStore(ui.db))
    async with ui.login("ana") as client:
        page = await client.get("/ui/agent")
        assert page.status_code == 200, page.text
        assert '<a href="/ui/agent" aria-current="page">Desktop</a>' in page.text
        found = re.search(r'<script type="application/json" id="ad-initial">(.*?)</script>',
                          page.text, re.DOTALL)  # fmt: skip
        assert found is not None
        initial = json.loads(found.group(1))
        assert initial["pop"] is None
        assert initial["desktop"]["agent"]["id"] == "alice"
        assert initial["desktop"]["agent"]["pause_reason"] == "lunch"
        assert "lunch" in initial["desktop"]["pause_reasons"]
        assert 'id="ic-hold"' in page.text and 'id="wrapup-code"' in page.text
        missing = await client.get(f"/ui/agent/calls/{uuid.uuid4()}")
        assert missing.status_code == 404 and "no call" in missing.text
    async with ui.login("root") as client:
        page = await client.get("/ui/agent")
        assert page.status_code == 404 and "bound to an agent" in page.text
    async with ui.login("sup") as client:
        assert (await client.get("/ui/agent")).status_code == 403
        nav = (await client.get("/ui/calls")).text
        assert 'href="/ui/agent"' not in nav
