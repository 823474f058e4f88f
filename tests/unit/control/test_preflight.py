"""The port check before start: real sockets on 127.0.0.1, ephemeral ports only.

Each holder is a socket this test binds, with and without SO_REUSEADDR/SO_REUSEPORT
(the options that let Kamailio share a UDP port): the check must see every one of
them as taken, and leave it working.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.control import preflight
from gateway.control.daemon import ControlPlane
from gateway.control.preflight import PortsUnavailable, PortUse
from gateway.settings import Settings, load_settings
from gateway.subcommands import run

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "contactgw.yaml"
SHARING = [(), (socket.SO_REUSEADDR,), (socket.SO_REUSEADDR, socket.SO_REUSEPORT)]


def holder(kind: int, options: tuple[int, ...] = (), port: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, kind)
    for opt in options:
        s.setsockopt(socket.SOL_SOCKET, opt, 1)
    s.bind(("127.0.0.1", port))
    if kind == socket.SOCK_STREAM:
        s.listen()
    return s


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def held() -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for s in sockets:
        s.close()


def settings_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **ports: int) -> Settings:
    """The shipped example with its ports moved (the documented CONTACTGW_* overrides)."""
    monkeypatch.setenv("CONTACTGW_DATA_DIR", str(tmp_path / "var"))
    for key, value in ports.items():
        monkeypatch.setenv(f"CONTACTGW_{key.upper()}", str(value))
    return load_settings(EXAMPLE)


# ------------------------------------------------------------------ what is checked
def test_planned_ports_of_the_example_cover_edge_workers_api_mqtt_and_rtp() -> None:
    s = load_settings(EXAMPLE)
    uses = preflight.planned_ports(s)
    whats = [u.what for u in uses]
    assert whats[:6] == ["edge SIP", "worker w1 SIP", "worker w2 SIP", "worker w3 SIP",
                         "worker w4 SIP", "API"]  # fmt: skip
    assert PortUse("edge SIP", "127.0.0.1", s.sip.listen_port, "udp") in uses
    assert PortUse("API", s.api.host, s.api.port, "tcp") in uses
    assert PortUse("MQTT broker", s.mqtt.host, s.mqtt.port, "tcp") in uses
    rtp = [u.port for u in uses if u.what == "RTP"]
    last = s.sip.rtp_port_min + s.workers.count * s.workers.rtp_ports_per_worker - 1
    assert rtp[0] == s.sip.rtp_port_min and rtp[-1] == last and len(rtp) == 5
    assert {u.proto for u in uses if u.what == "RTP"} == {"udp"}


def test_an_external_or_disabled_broker_is_not_checked() -> None:
    s = load_settings(EXAMPLE)
    external = s.model_copy(update={"mqtt": s.mqtt.model_copy(update={"url": "mqtt://h:1"})})
    disabled = s.model_copy(update={"mqtt": s.mqtt.model_copy(update={"enabled": False})})
    for settings in (external, disabled):
        assert "MQTT broker" not in [u.what for u in preflight.planned_ports(settings)]


def test_rtp_sample_spans_the_range_in_order() -> None:
    assert preflight.rtp_sample(20000, 20063) == [20000, 20016, 20032, 20047, 20063]
    assert preflight.rtp_sample(20000, 20002) == [20000, 20001, 20002]
    assert preflight.rtp_sample(20000, 20000) == [20000]


# ------------------------------------------------------------------ the check itself
def test_free_ports_pass() -> None:
    port = free_udp_port()
    assert preflight.check([PortUse("edge SIP", "127.0.0.1", port, "udp")]) == []


@pytest.mark.parametrize("options", SHARING, ids=["plain", "reuseaddr", "reuseport"])
def test_a_udp_holder_is_seen_even_when_it_shares_and_keeps_its_traffic(
    options: tuple[int, ...], held: list[socket.socket]
) -> None:
    h = holder(socket.SOCK_DGRAM, options)
    held.append(h)
    port = h.getsockname()[1]
    lines = preflight.check([PortUse("edge SIP", "127.0.0.1", port, "udp")])
    assert lines == [f"address in use: edge SIP 127.0.0.1:{port} (udp)"]
    # undisturbed: every datagram sent after the check still reaches the holder
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        for i in range(20):
            peer.sendto(b"OPTIONS %d" % i, ("127.0.0.1", port))
    h.settimeout(1)
    assert [h.recv(100) for _ in range(20)] == [b"OPTIONS %d" % i for i in range(20)]


@pytest.mark.parametrize("options", SHARING, ids=["plain", "reuseaddr", "reuseport"])
def test_a_tcp_listener_is_seen_even_when_it_shares(
    options: tuple[int, ...], held: list[socket.socket]
) -> None:
    h = holder(socket.SOCK_STREAM, options)
    held.append(h)
    port = h.getsockname()[1]
    lines = preflight.check([PortUse("API", "127.0.0.1", port, "tcp")])
    assert lines == [f"address in use: API 127.0.0.1:{port} (tcp)"]
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # still accepting


def test_time_wait_leftovers_of_a_stopped_gateway_do_not_count() -> None:
    listener = holder(socket.SOCK_STREAM, (socket.SO_REUSEADDR,))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the server side closes first: its end stays in TIME_WAIT
    client.close()
    listener.close()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # what a bind without SO_REUSEADDR would say
    assert preflight.check([PortUse("API", "127.0.0.1", port, "tcp")]) == []


def test_one_line_per_port_and_each_address_once(held: list[socket.socket]) -> None:
    udp, tcp = holder(socket.SOCK_DGRAM), holder(socket.SOCK_STREAM)
    held += [udp, tcp]
    u, t, free = udp.getsockname()[1], tcp.getsockname()[1], free_udp_port()
    uses = [PortUse("worker w1 SIP", "127.0.0.1", u, "udp"),
            PortUse("RTP", "127.0.0.1", u, "udp"),  # the same address: tried once
            PortUse("worker w2 SIP", "127.0.0.1", free, "udp"),
            PortUse("MQTT broker", "127.0.0.1", t, "tcp")]  # fmt: skip
    assert preflight.check(uses) == [
        f"address in use: worker w1 SIP 127.0.0.1:{u} (udp)",
        f"address in use: MQTT broker 127.0.0.1:{t} (tcp)",
    ]


def test_an_address_not_on_this_host_is_reported_too() -> None:
    (line,) = preflight.check([PortUse("API", "192.0.2.1", 8080, "tcp")])
    assert line.startswith("cannot bind: API 192.0.2.1:8080 (tcp): ")


# ------------------------------------------------------------------ start and CLI
def test_control_plane_start_stops_before_touching_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, held: list[socket.socket]
) -> None:
    edge = holder(socket.SOCK_DGRAM, (socket.SO_REUSEADDR, socket.SO_REUSEPORT))
    held.append(edge)
    port = edge.getsockname()[1]
    settings = settings_on(monkeypatch, tmp_path, sip__listen_port=port)
    with pytest.raises(PortsUnavailable) as raised:
        asyncio.run(ControlPlane(settings).start())
    assert f"address in use: edge SIP 127.0.0.1:{port} (udp)" in raised.value.lines
    assert not (tmp_path / "var").exists()  # no directory, no database, no pid file read


def test_contactgw_run_exits_2_naming_each_taken_port(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    held: list[socket.socket],
    capsys: pytest.CaptureFixture[str],
) -> None:
    edge, api = holder(socket.SOCK_DGRAM), holder(socket.SOCK_STREAM)
    held += [edge, api]
    e, a = edge.getsockname()[1], api.getsockname()[1]
    monkeypatch.setenv("CONTACTGW_SIP__LISTEN_PORT", str(e))
    monkeypatch.setenv("CONTACTGW_API__PORT", str(a))
    monkeypatch.setenv("CONTACTGW_DATA_DIR", str(tmp_path / "var"))
    rc = run.main(argparse.Namespace(config=str(EXAMPLE), check=False))
    err = capsys.readouterr().err.splitlines()
    assert rc == 2
    assert f"address in use: edge SIP 127.0.0.1:{e} (udp)" in err
    assert f"address in use: API 127.0.0.1:{a} (tcp)" in err
