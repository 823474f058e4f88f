"""Pool configuration and the pool-level event/report dataclasses."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from gateway.ipc import protocol as p


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """Worker ``i`` (0-based) gets SIP port ``sip_port_base + i`` and RTP ports
    ``rtp_port_base + i * rtp_ports_per_worker`` onwards (each leg uses 2)."""

    workers: int = 2
    sip_port_base: int = 5080
    rtp_port_base: int = 20000
    rtp_ports_per_worker: int = 20
    address: str = "127.0.0.1"
    public_address: str = ""
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    id_prefix: str = "w"
    control_host: str = "127.0.0.1"
    control_port: int = 0  # 0: an ephemeral port (read pool.control_port)
    token: str = ""  # shared secret in Hello; random when empty (local workers only)
    health_interval: float = 2.0
    health_timeout: float = 2.0
    health_failures: int = 2
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    stable_after: float = 30.0
    command_timeout: float = 10.0
    start_timeout: float = 20.0
    # <run_dir>/fleet.json (fleet.py): workers of a dead control plane named there are
    # waited for (adopted) up to adopt_timeout instead of spawned; None: never adopt
    fleet_file: str | None = None
    adopt_timeout: float = 10.0
    drain_grace: float = 30.0
    # A worker that loses its control plane keeps its calls this long, waiting to be
    # adopted (gateway/sip/orphan.py); 0: it hangs up at once
    orphan_timeout: float = 60.0
    log_level: int = 0  # pjsua2 log level inside workers
    log_dir: str | None = None  # worker stderr goes to <log_dir>/<id>.log (else inherited)
    python: str = sys.executable
    cwd: str | None = None
    # Workers' nice value (gateway/supervisor/priority.py): their media threads go before
    # the control plane, the edge and the rest of the box; 0 leaves it alone.
    nice: int = -10


@dataclass(frozen=True, slots=True)
class WorkerUp:
    worker_id: str
    sip_address: str
    sip_port: int
    pid: int
    max_legs: int


@dataclass(frozen=True, slots=True)
class WorkerDown:
    """The worker is gone; ``legs`` were reported disconnected just before this."""

    worker_id: str
    exit_code: int | None
    legs: tuple[str, ...]


PoolEventKind = p.Event | WorkerUp | WorkerDown


@dataclass(frozen=True, slots=True)
class PoolEvent:
    """Everything the pool reports: a protocol event from a worker, or WorkerUp/Down."""

    worker_id: str
    event: PoolEventKind


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    worker_id: str
    state: str
    sip_address: str
    sip_port: int
    pid: int | None
    restarts: int
    legs: int
    max_legs: int


@dataclass(frozen=True, slots=True)
class PoolCapacity:
    workers_up: int
    legs: int
    max_legs: int  # of workers not draining
    free_legs: int
    per_worker: dict[str, p.Capacity] = field(default_factory=dict)
