"""Per-queue login: agent state in the running ACD (an UpdateAgent with the new queue
set), not a routing version; an agent user on itself, a supervisor on anyone."""

from __future__ import annotations

from acd.model import AgentConfig
from tests.integration.api_routing.conftest import Api

URL = "/api/v1/agents/{}/queues/{}/{}"


async def test_an_agent_logs_itself_out_of_and_in_to_a_queue_without_a_version(api: Api) -> None:
    await api.write("PUT", "/api/v1/config/agents/alice",
                    {"queues": ["sales", "spare"], "skills": {"en": 3}, "rank": 2})  # fmt: skip
    api.membership.queues["alice"] = ("sales", "spare")  # LiveConfig applied it
    out = await api.as_("ana", "POST", URL.format("alice", "sales", "logout"))
    assert out.status_code == 200, out.text
    assert out.json() == {"agent": "alice", "queues": ["spare"], "configured": ["sales", "spare"]}
    back = await api.as_("ana", "POST", URL.format("alice", "sales", "login"))
    assert back.json()["queues"] == ["sales", "spare"]  # in the configured order
    again = await api.as_("ana", "POST", URL.format("alice", "sales", "login"))
    assert again.status_code == 200  # idempotent: nothing fed
    assert api.membership.fed == [
        AgentConfig("alice", ("spare",), {"en": 3}, 2),
        AgentConfig("alice", ("sales", "spare"), {"en": 3}, 2),
    ]
    assert await api.repo.current_version() == 2  # the PUT's; logins write none


async def test_who_may_log_whom_in(api: Api) -> None:
    for user, agent, code in [("ana", "bob", 403), ("qa", "bob", 403), ("sup", "bob", 200),
                              ("root", "bob", 200), ("ana", "alice", 200)]:  # fmt: skip
        response = await api.as_(user, "POST", URL.format(agent, "support" if agent == "bob"
                                                          else "sales", "logout"))  # fmt: skip
        assert response.status_code == code, (user, agent, response.text)
        if code == 403:
            assert response.json()["missing_permission"] == "agents.act"


async def test_only_configured_queues_and_known_names(api: Api) -> None:
    other = await api.as_("ana", "POST", URL.format("alice", "support", "login"))
    assert other.status_code == 409
    assert other.json()["detail"] == (
        "agent 'alice' may log in to its configured queues only (sales): add 'support' to "
        "its routing entry"
    )
    unknown = await api.as_("root", "POST", URL.format("alice", "nope", "login"))
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no queue 'nope' (known: sales, spare, support)"
    nobody = await api.as_("root", "POST", URL.format("carol", "sales", "login"))
    assert nobody.status_code == 404
    audit = await api.as_("root", "GET", "/api/v1/audit", params={"action": "agent.queue_login"})
    assert [(r["user"], r["outcome"], r["details"]) for r in audit.json()["items"]] == [
        ("ana", "Conflict", {"queue": "support"}),
        ("root", "NotFound", {"queue": "nope"}),
        ("root", "NotFound", {"queue": "sales"}),
    ]
