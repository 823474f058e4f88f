"""Who may read and change the routing definitions: admin writes; supervisor and QA
read (never a secret); an agent user reads only its own agent entry."""

from __future__ import annotations

import pytest

from tests.integration.api_routing.conftest import Api

C = "/api/v1/config"
READS = [f"{C}/queues", f"{C}/queues/sales", f"{C}/dids", f"{C}/dids/+15550100100",
         f"{C}/agents", f"{C}/agents/bob", f"{C}/schedules", f"{C}/schedules/office",
         f"{C}/holidays", f"{C}/holidays/12-25", f"{C}/globals"]  # fmt: skip
WRITES = [("POST", f"{C}/queues", {"name": "vip"}), ("PUT", f"{C}/queues/spare", {}),
          ("DELETE", f"{C}/queues/spare", None),
          ("POST", f"{C}/dids", {"number": "+15550100999", "queue": "sales"}),
          ("PUT", f"{C}/agents/alice", {"queues": ["sales", "spare"]}),
          ("DELETE", f"{C}/agents/alice", None), ("PUT", f"{C}/globals", {}),
          ("POST", f"{C}/holidays", {"date": "01-01"}),
          ("DELETE", f"{C}/schedules/office", None)]  # fmt: skip


@pytest.mark.parametrize("url", READS)
async def test_admin_supervisor_and_qa_read_definitions_an_agent_does_not(
    api: Api, url: str
) -> None:
    for user in ("root", "sup", "qa"):
        response = await api.as_(user, "GET", url)
        assert response.status_code == 200, (user, response.text)
        assert "secret" not in response.text
    refused = await api.as_("ana", "GET", url)
    assert refused.status_code == 403
    assert refused.json()["missing_permission"] == "routing.read"


async def test_an_agent_user_reads_its_own_agent_entry_only(api: Api) -> None:
    own = await api.as_("ana", "GET", f"{C}/agents/alice")
    assert own.status_code == 200
    assert own.json() == {"id": "alice", "display_name": None, "queues": ["sales"],
                          "skills": {}, "rank": 0, "uri": None, "password_set": True}  # fmt: skip
    assert (await api.as_("ana", "GET", f"{C}/agents/bob")).status_code == 403


@pytest.mark.parametrize(("method", "url", "body"), WRITES, ids=[f"{m} {u}" for m, u, _ in WRITES])
async def test_only_admin_changes_routing(api: Api, method: str, url: str, body: object) -> None:
    for user in ("sup", "qa", "ana"):
        response = await api.write(method, url, body, user=user)
        assert response.status_code == 403, (user, response.text)
        assert response.json()["missing_permission"] == "routing.write"
    assert await api.repo.current_version() == 1
    response = await api.write(method, url, body)
    assert response.status_code in (200, 201, 204), response.text


async def test_no_token_no_access(api: Api) -> None:
    response = await api.client.get(f"{C}/queues")
    assert response.status_code == 401
