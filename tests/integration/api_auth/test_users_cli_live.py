"""`contactgw users` against a running `contactgw run`: a user added from the CLI
while the gateway serves is let in at once, closes the open API, and its revoked
token is refused within a second."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway_env import REPO, Gateway

pytestmark = pytest.mark.integration

ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [{"number": "+15550100100", "queue": "sales"}],
    "queues": {"sales": {"announcements": {"every": None}}},
    "agents": {"alice": {"password": "alice-pw", "queues": ["sales"]}},
}


async def cli(gw: Gateway, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", *args, "--config", str(gw.config_path),
        cwd=str(REPO), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def status(gw: Gateway, url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return (await gw.api.get(url, headers=headers)).status_code


async def within(seconds: float, gw: Gateway, url: str, token: str | None, code: int) -> None:
    start = time.monotonic()
    while (got := await status(gw, url, token)) != code:
        assert time.monotonic() - start < seconds, f"{url}: still {got} after {seconds} s"
        await asyncio.sleep(0.05)


async def test_a_user_added_while_the_gateway_runs_works_at_once(tmp_path: Path) -> None:
    gw = Gateway(tmp_path, ROUTING, workers=1)
    await gw.start()
    try:
        assert "API authentication is off" in gw.log()
        assert await status(gw, "/agents") == 200  # open: no users, no admin_token

        rc, out, err = await cli(gw, "users", "add", "ana", "--role", "agent", "--agent", "alice")
        assert rc == 0, err
        token = out.strip()
        assert token.startswith("cgw_") and "shown once" in err
        assert await status(gw, "/agents/alice", token) == 200  # at once: never cached
        assert await status(gw, "/agents", token) == 403  # not the list of all agents
        await within(1.0, gw, "/agents", None, 401)  # the API closed itself

        rc, out, err = await cli(gw, "users", "list")
        assert rc == 0, err
        (line,) = [ln for ln in out.splitlines() if "active" in ln]
        token_id = line.split()[0]
        assert token.startswith(f"cgw_{token_id}_")

        rc, _, err = await cli(gw, "tokens", "revoke", token_id)
        assert rc == 0, err
        await within(1.0, gw, "/agents/alice", token, 401)

        rc, _, err = await cli(gw, "users", "remove", "ana")
        assert rc == 0, err
        await within(1.0, gw, "/agents", None, 200)  # no user left: open again
    finally:
        assert await gw.stop() == 0, gw.log()
