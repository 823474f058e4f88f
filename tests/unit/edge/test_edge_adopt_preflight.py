"""The preflight does not try the ports of what will be adopted (`skip`)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gateway.control import preflight
from gateway.control.preflight import PortsUnavailable
from gateway.settings import load_settings

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "contactgw.yaml"


def test_an_adopted_edges_port_is_skipped_and_only_that(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as edge:
        edge.bind(("127.0.0.1", 0))  # the running edge we will adopt
        port = edge.getsockname()[1]
        monkeypatch.setenv("CONTACTGW_DATA_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("CONTACTGW_SIP__LISTEN_PORT", str(port))
        settings = load_settings(EXAMPLE)
        with pytest.raises(PortsUnavailable) as raised:
            preflight.check_ports(settings)
        assert raised.value.lines == [f"address in use: edge SIP 127.0.0.1:{port} (udp)"]
        preflight.check_ports(settings, skip={preflight.EDGE_SIP})  # no error
        monkeypatch.setenv("CONTACTGW_API__PORT", str(port))  # a TCP port: still checked
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as api:
            api.bind(("127.0.0.1", port))
            api.listen()
            with pytest.raises(PortsUnavailable) as raised:
                preflight.check_ports(load_settings(EXAMPLE), skip={preflight.EDGE_SIP})
        assert raised.value.lines == [f"address in use: API 127.0.0.1:{port} (tcp)"]
