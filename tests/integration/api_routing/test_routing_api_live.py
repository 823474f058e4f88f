"""Routing changed through the API against a real `contactgw run` (sipp carrier,
pjsua2 agent): a queue and a DID created and an agent put into the queue with an admin
token are applied live (LiveConfig) and take the next call; a referenced queue cannot
be deleted; per-queue logout/login changes the running ACD and writes no version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.api_auth.test_users_cli_live import cli
from tests.support.gateway_env import Gateway, start_phone

pytestmark = pytest.mark.integration

SALES_DID, VIP_DID = "+15550100100", "+15550100300"
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": SALES_DID, "queue": "sales"}],
    "queues": {"sales": {"announcements": {"every": None}}},
    "agents": {"dave": {"password": "dave-pw"}},  # in no queue yet
}
C = "/api/v1/config"


async def write(api: httpx.AsyncClient, method: str, url: str, body: Any = None) -> httpx.Response:
    tag = (await api.get(f"{C}/globals")).headers["ETag"]
    return await api.request(method, url, json=body, headers={"If-Match": tag})


async def test_a_queue_did_and_agent_changed_through_the_api_take_the_next_call(
    tmp_path: Path,
) -> None:
    gw = Gateway(tmp_path, ROUTING, workers=1)
    await gw.start()
    phone = None
    try:
        rc, out, err = await cli(gw, "users", "add", "root", "--role", "admin")
        assert rc == 0, err
        gw.api.headers["Authorization"] = f"Bearer {out.strip()}"
        api = gw.api
        phone = await start_phone(gw, "dave", answer_after=0.3)

        async def dave(state: str, queues: list[str]) -> bool:
            view = await gw.get("/api/v1/agents/dave")
            return bool(view["state"] == state and view["queues"] == queues)

        await gw.wait_for("dave available, in no queue", lambda: dave("available", []))

        queue = await api.post(f"{C}/queues", json={"name": "vip", "ring_timeout": 10,
                                                    "wrapup": 1, "announcements": {"every": None}})  # fmt: skip
        assert queue.status_code == 201, queue.text
        did = await api.post(f"{C}/dids", json={"number": "(555) 010-0300", "queue": "vip"})
        assert did.status_code == 201, did.text
        assert did.json()["number"] == VIP_DID
        agent = await write(api, "PUT", f"{C}/agents/dave", {"queues": ["vip"]})
        assert agent.status_code == 200, agent.text
        assert agent.headers["ETag"] == '"v4"'

        async def running() -> bool:
            return await gw.metric("contactgw_config_version") == 4

        await gw.wait_for("version 4 running", running, timeout=5)
        await gw.wait_for("dave in vip", lambda: dave("available", ["vip"]))
        sipp = await gw.call(VIP_DID, hold_ms=2000)
        assert await sipp.wait(40) == 0, f"{sipp.errors()}\n{gw.log()}"
        (row,) = await gw.cdr(1)
        assert (row["did"], row["disposition"], row["queue"], row["agent"]) == (
            VIP_DID, "answered", "vip", "dave",
        ), row  # fmt: skip

        refused = await write(api, "DELETE", f"{C}/queues/vip")
        assert refused.status_code == 409
        assert refused.json()["detail"] == (
            f"queue 'vip' is referenced by did {VIP_DID}, agent dave: change those first"
        )

        await gw.wait_for("dave available", lambda: dave("available", ["vip"]))
        out_ = await api.post("/api/v1/agents/dave/queues/vip/logout")
        assert out_.status_code == 200, out_.text
        assert out_.json() == {"agent": "dave", "queues": [], "configured": ["vip"]}
        assert (await gw.get("/api/v1/agents/dave"))["queues"] == []
        in_ = await api.post("/api/v1/agents/dave/queues/vip/login")
        assert in_.json()["queues"] == ["vip"]
        assert await gw.metric("contactgw_config_version") == 4  # agent state, no version

        rc, history, err = await cli(gw, "config", "history")
        assert rc == 0, err
        rows = [line.split() for line in history.splitlines()[1:4]]
        assert all("api" in r and "root" in r for r in rows), history
    finally:
        if phone is not None:
            await phone.stop()
        assert await gw.stop() == 0, gw.log()
