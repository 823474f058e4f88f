"""The Kamailio edge outlives a SIGKILLed control plane and the next one adopts it
(issue 14, docs/edge.md "Control-plane loss"): registrations stay, a changed config
replaces it, a stale pid file never touches a stranger, and the orphan guard ends an
edge nobody adopted."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.control import preflight
from gateway.edge import EdgeManager
from gateway.edge.orphan import is_guard_of
from gateway.edge.rpc import EdgeRpc, JsonRpcClient
from gateway.edge.state import parse_ul_lookup
from tests.integration.edge_adopt.conftest import SIP_DOMAIN, Owners, alive
from tests.support.agent_ua_client import AgentProcess
from tests.support.edge_env import RTP_PORTS, sip_port
from tests.support.polling import wait_for
from tests.support.ports import block

pytestmark = pytest.mark.integration


async def contacts(owners: Owners, user: str) -> list[str]:
    client = JsonRpcClient(owners.edge_settings().rpc_socket, timeout=1.0)
    try:
        return [c.uri for c in parse_ul_lookup(await EdgeRpc(client).ul_lookup(user))]
    finally:
        client.close()


async def agent(port: int) -> AgentProcess:
    edge_uri = f"sip:127.0.0.1:{port}"
    return await AgentProcess.start([
        "--user", "alice", "--password", "alice-pw", "--domain", SIP_DOMAIN,
        "--registrar", edge_uri, "--proxy", f"{edge_uri};lr", "--sip-port", str(sip_port()),
        "--rtp-port", str(block(RTP_PORTS, 8)), "--expires", "60",
    ])  # fmt: skip


def guard_pid(owners: Owners) -> int:
    return int((owners.workdir / "edge" / "guard.pid").read_text())


async def test_the_edge_survives_its_owner_and_is_adopted_or_replaced(
    owners: Owners, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.edge")
    first = await owners.start()
    kamailio = first.said["pid"]
    assert first.said == {"pid": kamailio, "adopted": False, "inherited": None}
    guard = guard_pid(owners)
    assert is_guard_of(guard, kamailio)
    phone = await agent(owners.port)
    try:
        await phone.wait_event("registration", registered=True)
        registered = await wait_for(lambda: contacts(owners, "alice"), 5)
        assert len(registered) == 1

        first.kill()
        await first.proc.wait()
        # the edge and its guard run on, the registration with them
        assert alive(kamailio) and alive(guard)
        assert await contacts(owners, "alice") == registered
        # its SIP port is held (a preflight must skip it), and it is ours to adopt
        edge = owners.edge_settings()
        held = preflight.PortUse(preflight.EDGE_SIP, "127.0.0.1", owners.port, "udp")
        assert preflight.check([held]) == [
            f"address in use: edge SIP 127.0.0.1:{owners.port} (udp)"
        ]
        assert EdgeManager(edge).inherited() == kamailio

        second = await owners.start()
        assert second.said == {"pid": kamailio, "adopted": True, "inherited": kamailio}
        assert f"Kamailio adopted (pid {kamailio})" in second.log()
        assert "address in use" not in second.log() and "stopping Kamailio" not in second.log()
        assert await contacts(owners, "alice") == registered  # not wiped: no re-REGISTER
        assert len(phone.find("registration", registered=True)) == 1
        assert guard_pid(owners) == guard and alive(guard)  # the first guard goes on
        # a second control plane while this one lives: nothing to adopt (preflight fails)
        assert EdgeManager(edge).inherited() is None
        assert f"control plane (pid {second.proc.pid}) is alive" in caplog.text

        second.kill()
        await second.proc.wait()
        # a changed rendered config: the running edge is stopped and a fresh one started
        third = await owners.start(log_level="debug", orphan_timeout_s=2)
        assert third.said["inherited"] == kamailio  # its port is ours: it will be replaced
        assert third.said["adopted"] is False and third.said["pid"] != kamailio
        assert not alive(kamailio)
        assert (
            f"stopping Kamailio {kamailio} left by a previous run: "
            "its config differs from the one rendered now" in third.log()
        )
        assert await wait_for(lambda: not alive(guard), 10), "the old guard outlived its edge"
        assert is_guard_of(guard_pid(owners), third.said["pid"])

        # nobody adopts this one: its guard ends it 2 s after the last heartbeat, then exits
        fresh, fresh_guard = third.said["pid"], guard_pid(owners)
        third.kill()
        await third.proc.wait()
        assert alive(fresh)
        # bounded: 2 s after the later of the last heartbeat and the guard's own start
        assert await wait_for(lambda: not alive(fresh) and not alive(fresh_guard), 30)
        guard_log = (owners.workdir / "edge" / "guard.log").read_text()
        assert f"ending the orphaned edge {fresh}" in guard_log
        assert f"edge {fresh} ended" in guard_log
    finally:
        await phone.stop()


async def test_a_stale_pid_file_of_a_dead_or_foreign_process_starts_afresh(
    owners: Owners,
) -> None:
    settings = owners.edge_settings()
    settings.rundir.mkdir(parents=True)
    stranger = await asyncio.create_subprocess_exec("sleep", "30")
    try:
        dead = await asyncio.create_subprocess_exec("true")
        await dead.wait()
        for pid in (dead.pid, stranger.pid):
            settings.pid_path.write_text(f"{pid}\n")
            edge = EdgeManager(settings)
            assert edge.inherited() is None
            await edge.start()
            try:
                assert edge.process.pid not in (None, pid) and not edge.process.adopted
                assert await edge.rpc.version()
            finally:
                await edge.stop()
        assert stranger.returncode is None and alive(stranger.pid)  # never touched
    finally:
        stranger.kill()
        await stranger.wait()
