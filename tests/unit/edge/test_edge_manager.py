"""EdgeManager's bookkeeping, with the RPC replaced by a recorder (no Kamailio)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.edge import EdgeConfigError, EdgeManager, EdgeSettings, WorkerDestination
from gateway.edge.errors import EdgeRpcError, EdgeUnavailable
from gateway.edge.render import digest_ha1


class RecordingRpc:
    """Stands in for EdgeRpc: records calls; can pretend Kamailio is gone."""

    def __init__(self, *, down: bool = False) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.down = down

    def __getattr__(self, name: str) -> Any:
        async def method(*args: Any) -> None:
            if self.down:
                raise EdgeUnavailable(f"{name}: no answer")
            self.calls.append((name, args))

        return method


def manager(rpc: RecordingRpc, *, ready: bool) -> EdgeManager:
    edge = EdgeManager(
        EdgeSettings(
            rundir=Path("/run/cgw-test"),
            sip_domain="cc.example.com",
            workers=(WorkerDestination("w1", "127.0.0.1", 23010, 2),),
        ),
        template="",
    )
    edge.rpc = rpc  # type: ignore[assignment]
    if ready:
        edge.process.ready.set()
    return edge


async def test_changes_go_over_rpc_when_running() -> None:
    rpc = RecordingRpc()
    edge = manager(rpc, ready=True)
    await edge.set_agent_credentials("agent1", "pw")
    await edge.add_worker("w2", "127.0.0.1", 23011, 2)
    await edge.set_worker_state("w2", "draining")
    await edge.remove_agent("agent1")
    await edge.remove_worker("w1")
    assert rpc.calls == [
        ("htable_sets", ("agents", "agent1", digest_ha1("agent1", "cc.example.com", "pw"))),
        ("dispatcher_add", (1, "sip:127.0.0.1:23011", "duid=w2;maxload=2")),
        ("dispatcher_set_state", ("d", 1, "sip:127.0.0.1:23011")),
        ("htable_delete", ("agents", "agent1")),
        ("ul_rm", ("agent1",)),
        ("dispatcher_remove", (1, "sip:127.0.0.1:23010")),
    ]
    assert [w.id for w in edge.settings.workers] == ["w2"]


async def test_changing_a_worker_address_replaces_it() -> None:
    rpc = RecordingRpc()
    edge = manager(rpc, ready=True)
    await edge.add_worker("w1", "127.0.0.1", 23010, 2)  # unchanged: nothing to do
    await edge.add_worker("w1", "127.0.0.1", 23020, 3)
    assert rpc.calls == [
        ("dispatcher_remove", (1, "sip:127.0.0.1:23010")),
        ("dispatcher_add", (1, "sip:127.0.0.1:23020", "duid=w1;maxload=3")),
    ]


async def test_changes_while_down_are_kept_and_pushed_at_start() -> None:
    rpc = RecordingRpc(down=True)
    edge = manager(rpc, ready=False)
    await edge.set_agent_credentials("agent1", "pw")  # does not raise
    await edge.add_worker("w2", "127.0.0.1", 23011, 1)
    await edge.set_worker_state("w2", "draining")
    assert [w.id for w in edge.settings.workers] == ["w1", "w2"]  # rendered at (re)start

    rpc.down = False
    await edge._push_state()  # what the supervisor calls once RPC answers
    assert rpc.calls == [
        ("htable_sets", ("agents", "agent1", digest_ha1("agent1", "cc.example.com", "pw"))),
        ("dispatcher_set_state", ("d", 1, "sip:127.0.0.1:23011")),
    ]
    assert edge.process.ready.is_set()


async def test_bad_input_is_refused() -> None:
    edge = manager(RecordingRpc(), ready=True)
    with pytest.raises(EdgeConfigError, match="user"):
        await edge.set_agent_credentials("bad user", "pw")
    with pytest.raises(EdgeConfigError, match="password"):
        await edge.set_agent_credentials("agent1", "")
    with pytest.raises(EdgeConfigError, match="unknown worker"):
        await edge.set_worker_state("nope", "draining")
    with pytest.raises(EdgeConfigError, match="not one of"):
        await edge.set_worker_state("w1", "sleeping")
    with pytest.raises(EdgeConfigError, match="w1's"):
        await edge.add_worker("w9", "127.0.0.1", 23010, 1)


async def test_health_when_not_running() -> None:
    health = await manager(RecordingRpc(), ready=False).health()
    assert not health.running and health.pid is None and health.workers_total == 1


class DialogRpc:
    """Stands in for EdgeRpc's dialog commands."""

    def __init__(self, dialogs: list[dict[str, Any]], *, fail: dict[int, Exception]) -> None:
        self.dialogs = dialogs
        self.fail = fail  # h_id -> error raised by dlg_end
        self.listed: list[tuple[str, str]] = []
        self.ended: list[tuple[int, int]] = []

    async def dlg_profile_list(self, profile: str, value: str) -> list[dict[str, Any]]:
        self.listed.append((profile, value))
        if isinstance(self.fail.get(-1), Exception):
            raise self.fail[-1]
        return self.dialogs

    async def dlg_end(self, h_entry: int, h_id: int) -> None:
        if h_id in self.fail:
            raise self.fail[h_id]
        self.ended.append((h_entry, h_id))


def dlg(h_id: int, state: int = 4) -> dict[str, Any]:
    return {"h_entry": 10, "h_id": h_id, "state": state, "call-id": f"c{h_id}"}


async def test_end_worker_dialogs_ends_confirmed_ones() -> None:
    edge = manager(RecordingRpc(), ready=True)
    rpc = DialogRpc(
        [dlg(1), dlg(2, state=3), dlg(3, state=2), dlg(4), dlg(5)],
        fail={4: EdgeRpcError("dlg.end_dlg", 404, "Dialog not found")},
    )
    edge.rpc = rpc  # type: ignore[assignment]
    # 3 is still ringing (skipped), 4 ended by itself meanwhile (not counted)
    assert await edge.end_worker_dialogs("w1") == 3
    assert rpc.listed == [("worker", "w1")]
    assert rpc.ended == [(10, 1), (10, 2), (10, 5)]


async def test_end_worker_dialogs_when_none_or_edge_unavailable() -> None:
    edge = manager(RecordingRpc(), ready=True)
    edge.rpc = DialogRpc([], fail={})  # type: ignore[assignment]
    assert await edge.end_worker_dialogs("w1") == 0

    edge.rpc = DialogRpc([dlg(1)], fail={-1: EdgeUnavailable("no answer")})  # type: ignore[assignment]
    assert await edge.end_worker_dialogs("w1") == 0

    # the edge dies half-way: what was ended is reported, the rest is lost with it
    edge.rpc = DialogRpc([dlg(1), dlg(2), dlg(3)], fail={2: EdgeUnavailable("gone")})  # type: ignore[assignment]
    assert await edge.end_worker_dialogs("w1") == 1

    restarting = manager(RecordingRpc(down=True), ready=False)
    assert await restarting.end_worker_dialogs("w1") == 0
    with pytest.raises(EdgeConfigError, match="worker_id"):
        await restarting.end_worker_dialogs("w 1")
