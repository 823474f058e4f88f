"""After an adoption, an agent the old control plane had logged out by API while its phone
stayed registered stays logged out; registered agents without that row are logged in."""

from __future__ import annotations

from acd import events as ev
from acd.model import AgentConfig
from gateway.control.presence import Presence
from tests.unit.control.conftest import Rig


async def test_an_api_logout_before_the_restart_survives_auto_login(rig: Rig) -> None:
    async def nobody(_users: list[str]) -> set[str]:
        return set()

    rig.driver.feed(ev.AddAgent(AgentConfig("bob", queues=("sales",))))
    presence = Presence(rig.driver, {"alice": True, "bob": True}, nobody)
    both = {"alice", "bob"}
    assert presence.keep_logged_out({"alice", "carol"}, registered=both) == {"alice"}
    await presence.sync(both)  # the first registration poll after the restart
    assert rig.engine.agent("alice").state.value == "logged-out"
    assert rig.engine.agent("bob").state.value == "available"
    await presence.sync({"bob"})  # alice's phone goes, then comes back: auto-login again
    await presence.sync(both)
    assert rig.engine.agent("alice").state.value == "available"
