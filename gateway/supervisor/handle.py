"""One worker as the supervisor sees it: process, connection, pending commands, state.

The handle is the only place that turns a worker's wire traffic into futures and
bookkeeping: which legs and open recordings live on the worker (so that, when it
dies, the pool can report the lost legs and repair the recordings), and its last
capacity report.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import time
from dataclasses import dataclass
from typing import Any

from gateway.ipc import protocol as p
from gateway.ipc.codec import Request
from gateway.ipc.transport import Connection


class WorkerState(enum.Enum):
    STARTING = "starting"
    UP = "up"
    DRAINING = "draining"
    DOWN = "down"


class CommandFailed(Exception):
    """A command returned ok=false (``code`` is one of the protocol's ``E_*`` strings)."""

    def __init__(self, worker_id: str, code: str, message: str) -> None:
        super().__init__(f"{worker_id}: {code}: {message}")
        self.worker_id = worker_id
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """How to start a local worker (``sip_port`` and the RTP range are disjoint per worker)."""

    worker_id: str
    sip_port: int
    rtp_port: int
    rtp_range: int


class WorkerHandle:
    def __init__(self, worker_id: str, spec: WorkerSpec | None) -> None:
        self.worker_id = worker_id
        self.spec = spec  # None for a remote worker that connected by itself
        self.state = WorkerState.DOWN
        self.proc: asyncio.subprocess.Process | None = None
        self.conn: Connection | None = None
        self.hello: p.Hello | None = None
        self.pending: dict[int, asyncio.Future[p.Result]] = {}
        self._ids = itertools.count(1)
        self.legs: set[str] = set()
        self.recordings: dict[str, str] = {}  # leg -> path of the open recording
        self.capacity = p.Capacity(0, 4, False)
        self.restarts = 0
        self.failures = 0  # consecutive short-lived runs, for the backoff
        self.health_misses = 0
        self.started_at = 0.0  # last hello
        self.spawned_at = 0.0  # last process start
        self.up_event = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return self.hello.pid if self.hello else (self.proc.pid if self.proc else None)

    def attach(self, conn: Connection, hello: p.Hello) -> None:
        self.conn, self.hello = conn, hello
        self.state = WorkerState.UP
        self.capacity = p.Capacity(0, hello.max_legs, False)
        self.started_at = time.monotonic()
        self.up_event.set()

    async def command(self, cmd: Any, timeout: float) -> dict[str, Any]:
        if self.conn is None or self.state in (WorkerState.DOWN, WorkerState.STARTING):
            raise CommandFailed(self.worker_id, p.E_WORKER_GONE, "worker is not up")
        rid = next(self._ids)
        fut: asyncio.Future[p.Result] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        try:
            await self.conn.send(Request(rid, cmd))
            res = await asyncio.wait_for(fut, timeout)
        except (ConnectionError, OSError):
            raise CommandFailed(self.worker_id, p.E_WORKER_GONE, "connection lost") from None
        except TimeoutError:
            raise CommandFailed(self.worker_id, p.E_WORKER_GONE, "command timed out") from None
        finally:
            self.pending.pop(rid, None)
        if not res.ok:
            raise CommandFailed(self.worker_id, res.error_code, res.error_message)
        self._track_command(cmd, res.data)
        return res.data

    def on_result(self, res: p.Result) -> None:
        fut = self.pending.get(res.id)
        if fut is not None and not fut.done():
            fut.set_result(res)

    def _track_command(self, cmd: Any, data: dict[str, Any]) -> None:
        if isinstance(cmd, p.RecordStart):
            self.recordings[cmd.leg] = cmd.path
        elif isinstance(cmd, p.Dial) and isinstance(data.get("leg"), str):
            self.legs.add(data["leg"])

    def track_event(self, event: Any) -> None:
        """Keep the bookkeeping the pool needs when the worker dies."""
        if isinstance(event, p.IncomingCall):
            self.legs.add(event.leg)
        elif isinstance(event, p.LegState):
            if event.state == "disconnected":
                self.legs.discard(event.leg)
            else:
                self.legs.add(event.leg)
        elif isinstance(event, p.RecordingClosed):
            if self.recordings.get(event.leg) == event.path:
                del self.recordings[event.leg]
        elif isinstance(event, p.Capacity):
            self.capacity = event

    def lost(self) -> tuple[list[str], dict[str, str]]:
        """Mark down; fail pending commands; return (legs, open recordings) lost."""
        self.state = WorkerState.DOWN
        self.up_event.clear()
        self.conn = None
        for fut in self.pending.values():
            if not fut.done():
                fut.set_result(p.Result(0, False, {}, p.E_WORKER_GONE, "worker died"))
        self.pending.clear()
        legs, recs = sorted(self.legs), dict(self.recordings)
        self.legs.clear()
        self.recordings.clear()
        self.capacity = p.Capacity(0, self.capacity.max_legs, False)
        return legs, recs
