"""One worker as the supervisor sees it: process, connection, pending commands, state.

The handle is the one place that turns a worker's wire traffic into futures and
bookkeeping (``receive``): the only mirror of worker state on the control plane is
what the pool needs when the worker dies -- which legs and open recordings live on
it (to report the lost legs and repair the recordings) -- and its last capacity
report. Everything else about a leg is the worker's (see docs/worker.md); the
control plane learns it from the events the pool passes on.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import time
from dataclasses import dataclass

from gateway.ipc import protocol as p
from gateway.ipc.codec import Message, Notification, Request
from gateway.ipc.errors import WorkerGone, worker_error
from gateway.ipc.transport import Connection
from gateway.supervisor.adopted import AdoptedWorker


class WorkerState(enum.Enum):
    STARTING = "starting"
    UP = "up"
    DRAINING = "draining"
    DOWN = "down"


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
        # an adopted worker (fleet.py) is no child of ours: watched through its pidfd
        self.proc: asyncio.subprocess.Process | AdoptedWorker | None = None
        self.adopting = False  # waiting for an orphaned worker's resumed hello
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
        self.heard_at = 0.0  # monotonic time of its last message (its owner thread lives)
        self.spawned_at = 0.0  # last process start
        self.up_event = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return self.hello.pid if self.hello else (self.proc.pid if self.proc else None)

    def attach(self, conn: Connection, hello: p.Hello) -> None:
        self.conn, self.hello = conn, hello
        self.state = WorkerState.UP
        self.capacity = p.Capacity(0, hello.max_legs, False)
        if not hello.resumed:  # a resumed worker is up once its snapshot is through
            self.up_event.set()

    async def command(self, cmd: p.Command, timeout: float) -> dict[str, object]:
        """Run ``cmd``; the result data, or a ``WorkerError`` (``WorkerGone`` when the
        worker is not up, the connection drops or no result comes within ``timeout``)."""
        if self.conn is None or self.state in (WorkerState.DOWN, WorkerState.STARTING):
            raise WorkerGone(self.worker_id, "worker is not up")
        rid = next(self._ids)
        fut: asyncio.Future[p.Result] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        try:
            await self.conn.send(Request(rid, cmd))
            res = await asyncio.wait_for(fut, timeout)
        except TimeoutError:  # first: TimeoutError is an OSError
            raise WorkerGone(self.worker_id, "command timed out") from None
        except (ConnectionError, OSError):
            raise WorkerGone(self.worker_id, "connection lost") from None
        finally:
            self.pending.pop(rid, None)
        if not res.ok:
            raise worker_error(res.error_code, self.worker_id, res.error_message)
        self._track_command(cmd, res.data)
        return res.data

    def receive(self, msg: Message) -> p.Event | None:
        """One message from the worker: resolve a result, or do the bookkeeping for an
        event and return it (for the pool to pass on). The one type switch on events
        on this side of the connection."""
        self.heard_at = time.monotonic()
        if isinstance(msg, p.Result):
            fut = self.pending.get(msg.id)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return None
        if not isinstance(msg, Notification):
            return None  # a second hello/welcome: nothing to do
        event = msg.event
        match event:
            case p.IncomingCall():
                self.legs.add(event.leg)
            case p.LegStateChanged(state=p.LegState.DISCONNECTED):
                self.legs.discard(event.leg)
            case p.LegStateChanged():
                self.legs.add(event.leg)
            case p.LegSnapshot():  # an adopted worker's legs and open recordings
                self.legs.add(event.leg)
                if event.recording:
                    self.recordings[event.leg] = event.recording
            case p.RecordingClosed():
                if self.recordings.get(event.leg) == event.path:
                    del self.recordings[event.leg]
            case p.Capacity():
                self.capacity = event
            case p.SnapshotDone():  # its load as the snapshot left it (Capacity follows)
                self.capacity = p.Capacity(len(self.legs), self.capacity.max_legs, False)
                self.up_event.set()
            case _:
                pass
        return event

    def _track_command(self, cmd: p.Command, data: dict[str, object]) -> None:
        match cmd:
            case p.RecordStart():
                self.recordings[cmd.leg] = cmd.path
            case p.Dial():
                leg = data.get("leg")
                if isinstance(leg, str):
                    self.legs.add(leg)
            case _:
                pass

    def lost(self) -> tuple[list[str], dict[str, str]]:
        """Mark down; fail pending commands; return (legs, open recordings) lost."""
        self.state = WorkerState.DOWN
        self.up_event.clear()
        self.conn = None
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(WorkerGone(self.worker_id, "worker died"))
        self.pending.clear()
        legs, recs = sorted(self.legs), dict(self.recordings)
        self.legs.clear()
        self.recordings.clear()
        self.capacity = p.Capacity(0, self.capacity.max_legs, False)
        return legs, recs
