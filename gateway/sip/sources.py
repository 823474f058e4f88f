"""Who may send SIP requests to a worker: the edge, and what ``workers.sip_allow`` adds.

A worker is reachable on its SIP port by anything that can route to it, but in the
architecture only the edge (Kamailio) talks to it: the edge forwards from its one UDP
listening socket, so on a single host the edge is told apart from any other sender on
127.0.0.1 by address *and* port. An entry is ``ADDR[/PREFIX][:PORT]`` (IPv6 in
brackets: ``[2001:db8::]/32:5060``); no port means any port. An empty list means no
check (a bare worker pool without an edge, as in the worker test suites).

Pure functions over strings, so they are tested without pjsua2; the worker calls
``Sources.allows`` with ``SipRxData.srcAddress`` ("ip:port", "[v6]:port").
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class AllowedSource:
    network: IPNetwork
    port: int | None = None

    def matches(self, address: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        return address.version == self.network.version and address in self.network

    def __str__(self) -> str:
        if self.port is None:
            return str(self.network)
        if self.network.version == 6:
            return f"[{self.network}]:{self.port}"
        return f"{self.network}:{self.port}"


def _split(text: str) -> tuple[str, str | None]:
    """``addr[/prefix][:port]`` -> (``addr[/prefix]``, port text or None)."""
    text = text.strip()
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        prefix, _, port = rest.partition(":")
        return address + prefix, port or None
    if text.count(":") == 1:
        address, port = text.split(":")
        return address, port
    return text, None


def parse_entry(text: str) -> AllowedSource:
    """One allow-list entry; ``ValueError`` naming it when it is not one."""
    net_text, port_text = _split(text)
    try:
        network = ipaddress.ip_network(net_text, strict=False)
        port = None if port_text is None else int(port_text)
    except ValueError:
        raise ValueError(f"{text!r} is not an address, CIDR network or addr:port") from None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{text!r}: port {port} is out of range 1-65535")
    return AllowedSource(network, port)


def parse_list(text: str) -> tuple[AllowedSource, ...]:
    """A comma-separated list (the worker's ``--sip-allow``)."""
    return tuple(parse_entry(item) for item in text.split(",") if item.strip())


def parse_source(src: str) -> tuple[IPAddress, int] | None:
    """pjsua2's ``srcAddress`` ("127.0.0.1:5060", "[::1]:5060") or None if unreadable."""
    host, _, port = src.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(host), int(port)
    except ValueError:
        return None


def edge_entry(listen_address: str, listen_port: int) -> str:
    """The edge as an entry: its listening socket, the source of all it forwards. An edge
    listening on every address (0.0.0.0, ::) sends from whichever the route picks: any
    address then, but still only from its port."""
    address = ipaddress.ip_address(listen_address)
    if address.is_unspecified:
        return f"[::]/0:{listen_port}" if address.version == 6 else f"0.0.0.0/0:{listen_port}"
    return f"[{address}]:{listen_port}" if address.version == 6 else f"{address}:{listen_port}"


@dataclass(frozen=True, slots=True)
class Sources:
    allow: tuple[AllowedSource, ...] = ()

    @property
    def checked(self) -> bool:
        return bool(self.allow)

    def allows(self, src: str) -> bool:
        """True if ``src`` may send requests; an unreadable source is refused."""
        if not self.allow:
            return True
        parsed = parse_source(src)
        if parsed is None:
            return False
        address, port = parsed
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket reports v4 peers so
        return any(entry.matches(address, port) for entry in self.allow)


@dataclass(slots=True)
class RefusalPacer:
    """When to answer the next refused INVITE: at most ``rate`` a second. pjsua has opened
    an RTP and an RTCP socket for each incoming call before ``onIncomingCall``, and pjlib's
    select ioqueue (64 handles, compiled in) takes a closed socket's handle back only
    500 ms later: answering a flood at once ran it dry in ~0.3 s and aborted the worker
    (``pj_ioqueue_register_sock2: Assertion `!pj_list_empty(&ioqueue->free_list)'``).
    Paced, a refused call holds its slot a little longer and the INVITEs beyond the 4
    slots get pjsua's stateless 486, which opens nothing."""

    rate: float = 20.0
    _next: float = float("-inf")

    def delay(self, now: float) -> float:
        """Seconds from ``now`` until this refusal may be answered (and book it)."""
        at = max(now, self._next)
        self._next = at + 1.0 / self.rate
        return at - now


@dataclass(slots=True)
class RefusalLog:
    """Counts refused requests and says when to log: the first one, then at most once per
    ``every`` seconds with how many there were (a scanner must not flood the log)."""

    every: float = 60.0
    total: int = 0
    unreported: int = 0  # refused since the last counter report
    unlogged: int = 0  # refused since the last log line
    last_source: str = ""
    _next_log: float = float("-inf")

    def refused(self, source: str, now: float) -> str | None:
        """Note one refusal; returns the log line to write now, or None."""
        self.total += 1
        self.unreported += 1
        self.unlogged += 1
        self.last_source = source
        if now < self._next_log:
            return None
        self._next_log = now + self.every
        line = (
            f"refused {self.unlogged} SIP request(s) from sources other than the edge "
            f"(last from {source}); allowed: workers.sip_allow"
        )
        self.unlogged = 0
        return line

    def take_unreported(self) -> int:
        """The refusals not yet counted by the control plane (and reset)."""
        n, self.unreported = self.unreported, 0
        return n
