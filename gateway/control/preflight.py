"""Refuse to start over another process's ports, before anything is spawned.

Theory of operation
-------------------
Kamailio binds a UDP port another process already holds (port sharing), so a second
`contactgw run` on the same ports would "start" and take part of the first one's
traffic (ARCHITECTURE §7). `check_ports(settings)` is the first step of
`ControlPlane.start`: before a directory is made, a migration runs or a pid file is
read (the same config means the same data directory, database and run directory as
the running instance), every port the gateway will listen on is bound once and closed:

- edge SIP (UDP; the rendered Kamailio config disables TCP) on ``sip.listen_address``,
- each worker's SIP port (UDP) on ``sip.worker_address``,
- the API port (TCP) on ``api.host``,
- the embedded MQTT broker's port (TCP), only when ``mqtt.enabled`` and no ``mqtt.url``,
- a sample of the workers' RTP range (UDP): first, last and a few in between.

UDP is bound with neither SO_REUSEADDR nor SO_REUSEPORT, so a holder is seen even if
it shares its port. A failed bind never receives anything, and a successful one is
closed at once without a read, so the check cannot take a datagram from anyone.

TCP is bound with SO_REUSEADDR (not SO_REUSEPORT): on Linux that still fails against
any listening socket, shared or not, but ignores the TIME_WAIT leftovers of a gateway
that just stopped (uvicorn and mosquitto bind that way too, so a restart must pass).

Any failure (in use, address not on this host, no permission) is one line, and
`PortsUnavailable` carries them all: `contactgw run` prints them and exits 2.

Ports held by what this start will adopt from a dead control plane are not checked:
`skip` names their labels (`EDGE_SIP` when the edge will be adopted, docs/edge.md; the
workers' labels when they will be, gateway/control/adoption.py).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from gateway.settings import Settings

Proto = Literal["udp", "tcp"]
RTP_SAMPLES = 5  # first, last and three in between
EDGE_SIP = "edge SIP"


@dataclass(frozen=True, slots=True)
class PortUse:
    what: str  # "edge SIP", "worker w1 SIP", "API", "MQTT broker", "RTP"
    host: str
    port: int
    proto: Proto

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class PortsUnavailable(Exception):
    """One or more ports the gateway needs cannot be bound; `lines` says which."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def rtp_sample(first: int, last: int, count: int = RTP_SAMPLES) -> list[int]:
    """`count` ports spread over [first, last], both ends included, in order."""
    if last <= first or count < 2:
        return [first]
    step = (last - first) / (count - 1)
    return sorted({first + round(i * step) for i in range(count)})


def planned_ports(settings: Settings) -> list[PortUse]:
    """Every port `contactgw run` with these settings listens on (RTP: a sample)."""
    sip, w = settings.sip, settings.workers
    uses = [PortUse(EDGE_SIP, sip.listen_address, sip.listen_port, "udp")]
    uses += [
        PortUse(f"worker w{i + 1} SIP", sip.worker_address, w.first_sip_port + i, "udp")
        for i in range(w.count)
    ]
    uses.append(PortUse("API", settings.api.host, settings.api.port, "tcp"))
    if settings.mqtt.enabled and settings.mqtt.url is None:
        uses.append(PortUse("MQTT broker", settings.mqtt.host, settings.mqtt.port, "tcp"))
    # the ports the pool hands out: rtp_ports_per_worker from rtp_port_min per worker
    last = min(sip.rtp_port_min + w.count * w.rtp_ports_per_worker - 1, sip.rtp_port_max)
    uses += [
        PortUse("RTP", sip.worker_address, port, "udp")
        for port in rtp_sample(sip.rtp_port_min, last)
    ]
    return uses


def problem(use: PortUse) -> str | None:
    """Bind `use` once and close it: None if that worked, else the line to print."""
    family = socket.AF_INET6 if ":" in use.host else socket.AF_INET
    kind = socket.SOCK_DGRAM if use.proto == "udp" else socket.SOCK_STREAM
    try:
        with socket.socket(family, kind) as s:
            if use.proto == "tcp":  # TIME_WAIT is no holder; a listener still is
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((use.host, use.port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return f"address in use: {use.what} {use.address} ({use.proto})"
        reason = exc.strerror or str(exc)
        return f"cannot bind: {use.what} {use.address} ({use.proto}): {reason}"
    return None


def check(uses: Iterable[PortUse]) -> list[str]:
    """The problem lines for `uses`, in order; each address is tried once."""
    lines: list[str] = []
    seen: set[tuple[str, int, Proto]] = set()
    for use in uses:
        key = (use.host, use.port, use.proto)
        if key in seen:
            continue
        seen.add(key)
        line = problem(use)
        if line is not None:
            lines.append(line)
    return lines


def adopted_workers(worker_ids: Iterable[str]) -> set[str]:
    """The labels `skip` needs for workers that will be adopted: their SIP ports, and RTP
    (the sample may fall in their ranges; their calls hold them)."""
    labels = {f"worker {w} SIP" for w in worker_ids}
    return labels | {"RTP"} if labels else labels


def check_ports(settings: Settings, *, skip: Collection[str] = ()) -> None:
    """Raise `PortsUnavailable` unless every planned port can be bound right now; the
    ports labelled in `skip` (held by what will be adopted) are not tried."""
    lines = check(use for use in planned_ports(settings) if use.what not in skip)
    if lines:
        raise PortsUnavailable(lines)
