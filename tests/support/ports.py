"""Free port blocks inside this suite's ranges (other suites run concurrently).

Worker tests own SIP ports 21000-22999 and RTP ports 40000-44999 on 127.0.0.1; event
tests own TCP ports 23000-23999 (brokers, APIs). A
block is handed out only if every port in it binds (UDP) right now; a per-process
cursor starting at a random offset keeps parallel runs from racing for the same.
Under pytest-xdist (./scripts/test runs two workers) worker i of n draws only from the
i-th n-th of each range: a block is checked free, then bound later by a gateway or sipp,
and two workers of one run must never pick the same block in between.
"""

from __future__ import annotations

import os
import random
import socket

SIP_RANGE = (21000, 22999)
RTP_RANGE = (40000, 44999)
TCP_RANGE = (23000, 23999)
E2E_TCP_RANGE = (27000, 27999)  # APIs and brokers of end-to-end gateways
BROWSER_TCP_RANGE = (28000, 28999)  # APIs and brokers of the browser suite's gateways
TCP_RANGES = frozenset({TCP_RANGE, E2E_TCP_RANGE, BROWSER_TCP_RANGE})
_cursor: dict[tuple[int, int], int] = {}


def udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def tcp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def worker_slice(rng: tuple[int, int]) -> tuple[int, int]:
    """This xdist worker's share of ``rng`` (all of it outside xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or count <= 1:
        return rng
    index, (lo, hi) = int(worker[2:]), rng
    share = (hi - lo + 1) // count
    return lo + index * share, lo + (index + 1) * share - 1


def block(rng: tuple[int, int], size: int, align: int = 2) -> int:
    """First port of ``size`` consecutive free UDP ports within ``rng``."""
    lo, hi = worker_slice(rng)
    span = hi - lo + 1
    start = _cursor.get(rng)
    if start is None:
        start = lo + random.randrange(0, span // align) * align
    for attempt in range(span // align):
        base = lo + ((start - lo + attempt * align) % span)
        base -= (base - lo) % align
        if base + size - 1 > hi:
            continue
        free = tcp_port_free if rng in TCP_RANGES else udp_port_free
        if all(free(base + i) for i in range(size)):
            _cursor[rng] = base + size + (-size % align)
            return base
    raise RuntimeError(f"no {size} free ports in {rng}")


def sip_block(size: int) -> int:
    return block(SIP_RANGE, size, align=1)


def rtp_block(size: int) -> int:
    return block(RTP_RANGE, size, align=2)


def tcp_port(rng: tuple[int, int] = TCP_RANGE) -> int:
    """A free TCP port on 127.0.0.1 for a broker or an API under test."""
    return block(rng, 1, align=1)
