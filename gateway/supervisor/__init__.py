"""Control-plane side of the worker pool: spawn, health-check, restart, drain.

pool = WorkerPool(PoolConfig(workers=4, sip_port_base=5080), on_event=handle)
await pool.start()                            # handle(PoolEvent(worker_id, event))
await pool.command("w1", Answer(leg="w1-in-1"))  # result data, or raises WorkerError
"""

from gateway.supervisor.config import (
    PoolCapacity,
    PoolConfig,
    PoolEvent,
    PoolEventKind,
    WorkerDown,
    WorkerInfo,
    WorkerUp,
)
from gateway.supervisor.pool import WorkerPool

__all__ = [
    "PoolCapacity",
    "PoolConfig",
    "PoolEvent",
    "PoolEventKind",
    "WorkerDown",
    "WorkerInfo",
    "WorkerPool",
    "WorkerUp",
]
