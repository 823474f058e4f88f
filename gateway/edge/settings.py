"""Settings of the managed Kamailio edge, and their validation.

`EdgeSettings` is what the edge package needs and nothing more; the gateway's YAML config
maps into it. Construction validates every field (`EdgeConfigError` names the field), so
`render.py` can put values into the Kamailio config without further checks: a value that
reaches the template is a plain IP, a hostname, an integer in range, or a regex built by us.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.edge.errors import EdgeConfigError

WORKER_SET = 1  # dispatcher set id of the pjsua2 workers
TRUNK_GROUP = 1  # permissions address group of the trunk allow-list
WORKER_PROFILE = "worker"  # dialog profile (value: worker id) of dialogs involving a worker

DEFAULT_SCANNER_USER_AGENTS: tuple[str, ...] = (
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "sipsak",
    "sundayddr",
    "iwar",
    "vaxsipuseragent",
    "vaxipuseragent",
    "pplsip",
    "smap",
    "sip-sip",
)

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A scanner pattern is a literal substring of the User-Agent: printable, no quotes/backslash.
_UA_PATTERN = re.compile(r"^[\x20-\x7e]{2,64}$")
_MAX_UNIX_PATH = 100  # sun_path is 108 bytes; leave room for the suffix

LogLevel = Literal["error", "warning", "notice", "info", "debug"]
LOG_LEVELS: dict[str, int] = {"error": -1, "warning": 0, "notice": 1, "info": 2, "debug": 3}


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_hostname(value: str) -> bool:
    if not value or len(value) > 253:
        return False
    return all(_HOST_LABEL.match(label) for label in value.rstrip(".").split("."))


def _check_port(name: str, port: int, *, allow_zero: bool = False) -> None:
    if isinstance(port, bool) or not isinstance(port, int):
        raise EdgeConfigError(f"{name}: port must be an integer, got {port!r}")
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise EdgeConfigError(f"{name}: port {port} out of range {low}..65535")


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EdgeConfigError(f"{name}: must be an integer, got {value!r}")
    if not low <= value <= high:
        raise EdgeConfigError(f"{name}: {value} out of range {low}..{high}")


def check_token(name: str, value: str) -> None:
    """Identifiers that end up unquoted in Kamailio files (worker ids, trunk tags, users)."""
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise EdgeConfigError(
            f"{name}: {value!r} must be 1-64 characters of letters, digits, '.', '_' or '-'"
        )


@dataclass(frozen=True, slots=True)
class TrunkSource:
    """One allow-list entry: an address or network, optionally one port (0 = any)."""

    network: str  # "203.0.113.7" or "203.0.113.0/24" or "2001:db8::/64"
    port: int = 0
    name: str = "trunk"

    def __post_init__(self) -> None:
        try:
            net = ipaddress.ip_network(self.network, strict=False)
        except ValueError as exc:
            raise EdgeConfigError(
                f"trunk_sources: {self.network!r} is not an IP address or CIDR network"
            ) from exc
        _check_port(f"trunk_sources[{self.network}]", self.port, allow_zero=True)
        check_token(f"trunk_sources[{self.network}].name", self.name)
        object.__setattr__(self, "network", str(net))

    @property
    def address(self) -> str:
        return str(ipaddress.ip_network(self.network).network_address)

    @property
    def prefix(self) -> int:
        return ipaddress.ip_network(self.network).prefixlen


@dataclass(frozen=True, slots=True)
class WorkerDestination:
    """A pjsua2 worker's SIP address as the dispatcher sees it."""

    id: str
    host: str
    port: int
    maxload: int = 1  # caller legs per worker (alg 10 maxload); 0 = unlimited

    def __post_init__(self) -> None:
        check_token("workers.id", self.id)
        if not is_ip(self.host):
            raise EdgeConfigError(f"workers[{self.id}].host: {self.host!r} must be an IP address")
        _check_port(f"workers[{self.id}].port", self.port)
        _check_int(f"workers[{self.id}].maxload", self.maxload, 0, 10000)

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sip:{host}:{self.port}"

    @property
    def attrs(self) -> str:
        return f"duid={self.id};maxload={self.maxload}"


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    rundir: Path
    listen_address: str = "127.0.0.1"
    listen_port: int = 5060
    advertised_address: str | None = None  # public address in Via/Record-Route, if NATed
    sip_domain: str = "127.0.0.1"
    realm: str | None = None  # digest realm; defaults to sip_domain
    trunk_sources: tuple[TrunkSource, ...] = ()
    workers: tuple[WorkerDestination, ...] = ()
    # pike: block a source IP above `pike_density` requests per `pike_sampling_s`.
    pike_sampling_s: int = 2
    pike_density: int = 30
    pike_remove_latency_s: int = 120
    scanner_user_agents: tuple[str, ...] = DEFAULT_SCANNER_USER_AGENTS
    scanner_action: Literal["drop", "reject"] = "drop"  # reject = 403
    # worker health and failover
    ping_interval_s: int = 1
    worker_timeout_ms: int = 2000  # fr_timer: no reply from a worker/ping -> failover
    invite_timeout_ms: int = 120000  # fr_inv_timer: ringing limit after a provisional reply
    peer_timeout_ms: int = 8000  # fr_timer towards agents and the trunk
    call_expire_s: int = 3600  # ds_hash_expire: load slot freed if a BYE is lost
    register_max_expires_s: int = 300
    # Larger requests are answered 513 by the edge (REQINIT) before any worker sees them:
    # topos must store the Via/Record-Route set (docs/edge.md, "Large messages").
    max_message_bytes: int = 9216
    # db_text schema of the topos tables (Debian's kamailio package), copied into the rundir
    topos_schema_dir: Path = Path("/usr/share/kamailio/dbtext/kamailio")
    children: int = 4
    shm_mb: int = 256
    pkg_mb: int = 8
    log_level: LogLevel = "notice"
    kamailio_binary: str = "/usr/sbin/kamailio"
    # > 0: Kamailio outlives its control plane (calls keep their signalling) and a new one
    # adopts it; the orphan guard ends it after this many seconds without a heartbeat.
    # 0: it dies with its control plane (PDEATHSIG). docs/edge.md, "Control-plane loss".
    orphan_timeout_s: float = 0.0
    heartbeat_path: Path | None = None  # the control plane's control.alive; default in rundir

    def __post_init__(self) -> None:
        object.__setattr__(self, "rundir", Path(self.rundir))
        if not self.rundir.is_absolute():
            raise EdgeConfigError(f"rundir: {str(self.rundir)!r} must be an absolute path")
        if len(str(self.rpc_socket)) > _MAX_UNIX_PATH:
            raise EdgeConfigError(
                f"rundir: {str(self.rundir)!r} is too long for a unix socket path "
                f"(keep it under {_MAX_UNIX_PATH - 30} characters)"
            )
        if any(c.isspace() or c in "\"'\\" for c in str(self.rundir)):
            raise EdgeConfigError(f"rundir: {str(self.rundir)!r} has spaces or quotes")
        if not is_ip(self.listen_address):
            raise EdgeConfigError(f"listen_address: {self.listen_address!r} is not an IP address")
        _check_port("listen_port", self.listen_port)
        if self.advertised_address is not None and not (
            is_ip(self.advertised_address) or is_hostname(self.advertised_address)
        ):
            raise EdgeConfigError(
                f"advertised_address: {self.advertised_address!r} is not an IP or hostname"
            )
        if not (is_ip(self.sip_domain) or is_hostname(self.sip_domain)):
            raise EdgeConfigError(f"sip_domain: {self.sip_domain!r} is not an IP or hostname")
        if self.realm is not None and not (is_ip(self.realm) or is_hostname(self.realm)):
            raise EdgeConfigError(f"realm: {self.realm!r} is not an IP or hostname")
        object.__setattr__(self, "trunk_sources", tuple(self.trunk_sources))
        object.__setattr__(self, "workers", tuple(self.workers))
        self._check_workers()
        _check_int("pike_sampling_s", self.pike_sampling_s, 1, 300)
        _check_int("pike_density", self.pike_density, 1, 100000)
        _check_int("pike_remove_latency_s", self.pike_remove_latency_s, 1, 86400)
        object.__setattr__(self, "scanner_user_agents", tuple(self.scanner_user_agents))
        for pattern in self.scanner_user_agents:
            if (
                not isinstance(pattern, str)
                or not _UA_PATTERN.match(pattern)
                or any(c in pattern for c in '"\\')
            ):
                raise EdgeConfigError(
                    f"scanner_user_agents: {pattern!r} must be 2-64 printable characters "
                    "without quotes or backslashes"
                )
        if self.scanner_action not in ("drop", "reject"):
            raise EdgeConfigError(f"scanner_action: {self.scanner_action!r} not drop|reject")
        _check_int("ping_interval_s", self.ping_interval_s, 1, 3600)
        _check_int("worker_timeout_ms", self.worker_timeout_ms, 100, 60000)
        _check_int("invite_timeout_ms", self.invite_timeout_ms, 1000, 3600000)
        _check_int("peer_timeout_ms", self.peer_timeout_ms, 100, 60000)
        _check_int("call_expire_s", self.call_expire_s, 60, 86400)
        _check_int("register_max_expires_s", self.register_max_expires_s, 60, 86400)
        _check_int("max_message_bytes", self.max_message_bytes, 4096, 60000)
        object.__setattr__(self, "topos_schema_dir", Path(self.topos_schema_dir))
        _check_int("children", self.children, 1, 64)
        _check_int("shm_mb", self.shm_mb, 64, 65536)
        _check_int("pkg_mb", self.pkg_mb, 4, 1024)
        if (
            isinstance(self.orphan_timeout_s, bool)
            or not isinstance(self.orphan_timeout_s, int | float)
            or not 0 <= self.orphan_timeout_s <= 86400
        ):
            raise EdgeConfigError(
                f"orphan_timeout_s: {self.orphan_timeout_s!r} must be seconds in 0..86400"
            )
        if self.heartbeat_path is not None:
            object.__setattr__(self, "heartbeat_path", Path(self.heartbeat_path))
        if self.log_level not in LOG_LEVELS:
            raise EdgeConfigError(f"log_level: {self.log_level!r} not one of {list(LOG_LEVELS)}")

    def _check_workers(self) -> None:
        ids: set[str] = set()
        addrs: set[tuple[str, int]] = set()
        for worker in self.workers:
            if worker.id in ids:
                raise EdgeConfigError(f"workers: duplicate id {worker.id!r}")
            if (worker.host, worker.port) in addrs:
                raise EdgeConfigError(f"workers: duplicate address {worker.uri}")
            if (worker.host, worker.port) == (self.listen_address, self.listen_port):
                raise EdgeConfigError(f"workers[{worker.id}]: address is the edge's own")
            ids.add(worker.id)
            addrs.add((worker.host, worker.port))

    @property
    def auth_realm(self) -> str:
        return self.realm or self.sip_domain

    @property
    def rpc_socket(self) -> Path:
        return self.rundir / "kamailio_rpc.sock"

    @property
    def config_path(self) -> Path:
        return self.rundir / "kamailio.cfg"

    @property
    def dispatcher_path(self) -> Path:
        return self.rundir / "dispatcher.list"

    @property
    def address_path(self) -> Path:
        return self.rundir / "address.list"

    @property
    def topos_dir(self) -> Path:
        """db_text database of topos (tables topos_d, topos_t), kept in memory by Kamailio."""
        return self.rundir / "topos"

    @property
    def pid_path(self) -> Path:
        return self.rundir / "kamailio.pid"

    @property
    def log_path(self) -> Path:
        """Kamailio's output, when it outlives its control plane (else a pipe)."""
        return self.rundir / "kamailio.log"

    @property
    def heartbeat_file(self) -> Path:
        return self.heartbeat_path or self.rundir / "control.alive"

    @property
    def edge_uri(self) -> str:
        host = self.advertised_address or self.listen_address
        host = f"[{host}]" if ":" in host else host
        return f"sip:{host}:{self.listen_port}"


def scanner_regex(patterns: tuple[str, ...]) -> str:
    """POSIX ERE matching any of the literal, lower-cased substrings."""
    escaped = [re.sub(r"([.^$*+?()\[\]{}|])", r"\\\1", p.lower()) for p in patterns]
    return "(" + "|".join(escaped) + ")" if escaped else ""
