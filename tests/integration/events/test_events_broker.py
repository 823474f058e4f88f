"""The embedded mosquitto: starts, restarts after a crash, refuses a taken port."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from gateway.events.broker import BrokerConfig, BrokerPortInUse, EmbeddedBroker
from tests.support.polling import wait_for
from tests.support.ports import tcp_port

pytestmark = pytest.mark.integration


def accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_the_broker_listens_only_on_loopback_and_is_restarted_after_a_crash(
    broker: EmbeddedBroker,
) -> None:
    port = broker.config.port
    assert accepts(port)
    assert broker.config.config_path.exists() and broker.pid is not None
    old_pid = broker.pid
    os.kill(old_pid, signal.SIGKILL)
    restarted = await wait_for(
        lambda: broker.ready.is_set() and broker.pid not in (None, old_pid), timeout=10
    )
    assert restarted, broker.tail_text()
    assert accepts(port) and broker.restarts == 1
    assert broker.last_error is not None and "exited with" in broker.last_error


async def test_a_port_held_by_another_process_is_refused_before_spawning(tmp_path: Path) -> None:
    port = tcp_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        broker = EmbeddedBroker(BrokerConfig(run_dir=tmp_path, port=port))
        with pytest.raises(BrokerPortInUse, match=f"127.0.0.1:{port} is already in use"):
            await broker.start()
        assert broker.pid is None


async def test_stop_ends_the_broker_and_frees_the_port(tmp_path: Path) -> None:
    broker = EmbeddedBroker(BrokerConfig(run_dir=tmp_path, port=tcp_port()))
    await broker.start()
    await broker.stop()
    assert broker.pid is None and not accepts(broker.config.port)
