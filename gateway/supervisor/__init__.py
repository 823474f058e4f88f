"""Control-plane side of the worker pool: spawn, health-check, restart, drain.

pool = WorkerPool(PoolConfig(workers=4, sip_port_base=5080, rtp_port_base=20000))
await pool.start()
async for ev in pool.events(): ...            # PoolEvent(worker_id, event)
await pool.command("w1", Answer(leg="w1-in-1"))
"""

from gateway.supervisor.config import (
    PoolCapacity,
    PoolConfig,
    PoolEvent,
    WorkerDown,
    WorkerInfo,
    WorkerUp,
)
from gateway.supervisor.handle import CommandFailed
from gateway.supervisor.pool import WorkerPool

__all__ = [
    "CommandFailed",
    "PoolCapacity",
    "PoolConfig",
    "PoolEvent",
    "WorkerDown",
    "WorkerInfo",
    "WorkerPool",
    "WorkerUp",
]
