"""WorkerPool: starts, watches, restarts and drains the pjsua2 workers.

Theory of operation
-------------------
The pool listens on a TCP port (``control_port``, 0 = ephemeral); each worker it
spawns connects back and says ``Hello`` (with the shared token). A worker is *up*
from its hello until its connection drops or its process exits, whichever comes
first; then the pool, in this order:

1. fails the worker's pending commands with ``worker_gone``,
2. repairs the WAV headers of the recordings it had open and reports them as
   ``RecordingClosed``, reports each lost leg as ``LegState(disconnected, 0,
   "worker lost")``, then ``WorkerDown``,
3. re-homes the trunk registrations it held to another up worker,
4. restarts it after a backoff (0.5 s doubling to 30 s; reset after a stable run).

Adoption (issue 14): with ``fleet_file``, the pool writes which workers it runs
(fleet.py) and, at start, adopts the workers of a dead control plane named there: it
listens on their control port with their token and waits up to ``adopt_timeout`` for
their resumed hellos instead of spawning them (one that does not come is killed and
spawned anew). An adopted worker is up once its snapshot (``LegSnapshot``...
``SnapshotDone``, passed on like any event) is through; it is no child of ours, so it is
watched through its pidfd (adopted.py) and otherwise supervised like the others.

Health: a ``ping`` every ``health_interval``; ``health_failures`` misses in a row
and the worker is killed (then restarted as above). Nothing a worker does can raise
into the control plane: every failure is a ``WorkerError`` (``gateway/ipc/errors.py``)
or an event.

Events reach the control plane as ``PoolEvent(worker_id, event)`` through the
``on_event`` callback, the one way out: the pool keeps no event (a queue nobody read
grew without bound). A worker's messages are sorted in one place,
``WorkerHandle.receive``, which also keeps the handle's bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import IO, Any

from gateway.ipc import protocol as p
from gateway.ipc.codec import ProtocolError
from gateway.ipc.errors import WorkerError, WorkerGone
from gateway.ipc.transport import Connection, serve
from gateway.logsafe import printable
from gateway.supervisor import fleet
from gateway.supervisor.adopted import AdoptedWorker
from gateway.supervisor.children import watch_children
from gateway.supervisor.config import (
    PoolCapacity,
    PoolConfig,
    PoolEvent,
    PoolEventKind,
    WorkerDown,
    WorkerInfo,
    WorkerUp,
)
from gateway.supervisor.handle import WorkerHandle, WorkerSpec, WorkerState
from gateway.supervisor.priority import renice
from recordings.wav_repair import repair_wav_header

log = logging.getLogger(__name__)


def due_for_ping(
    handles: Iterable[WorkerHandle], now: float, interval: float
) -> list[WorkerHandle]:
    """The workers a health round pings at `now`: those up and not heard from within the
    last `interval` (a result or an event comes from the owner thread a ping checks)."""
    return [h for h in handles if h.state == WorkerState.UP and now - h.heard_at >= interval]


class WorkerPool:
    def __init__(
        self, config: PoolConfig, on_event: Callable[[PoolEvent], None] | None = None
    ) -> None:
        self.config = config
        self._on_event = on_event
        self._token = config.token or secrets.token_hex(16)
        self._server: asyncio.Server | None = None
        self._handles: dict[str, WorkerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._registrations: dict[str, tuple[p.Register, str | None]] = {}
        self._stopping = False
        self._started = False  # the fleet file is written from then on
        self.adopted: set[str] = set()  # the workers that resumed with us at start
        self.control_port = 0
        for i in range(config.workers):
            spec = WorkerSpec(
                worker_id=f"{config.id_prefix}{i + 1}",
                sip_port=config.sip_port_base + i,
                rtp_port=config.rtp_port_base + i * config.rtp_ports_per_worker,
                rtp_range=config.rtp_ports_per_worker,
            )
            self._handles[spec.worker_id] = WorkerHandle(spec.worker_id, spec)

    # ----------------------------------------------------------------- public API
    async def start(self) -> None:
        """Listen, adopt or spawn every worker, and return once all said hello (or raise)."""
        previous, adopt = self._adoptable()
        port = self.config.control_port
        if previous is not None and adopt:  # its port and token are the orphans'
            port, self._token = previous.control_port, previous.token
        self._server = await serve(self._on_connection, self.config.control_host, port)
        self.control_port = self._server.sockets[0].getsockname()[1]
        for h in self._handles.values():
            if h.worker_id not in adopt or not self._adopt(h, adopt[h.worker_id]):
                await self._spawn(h)
        self._spawn_task(self._health_loop())
        await self._await_adopted()
        waits = [
            asyncio.wait_for(h.up_event.wait(), self.config.start_timeout)
            for h in self._handles.values()
        ]
        try:
            await asyncio.gather(*waits)
        except TimeoutError:
            down = [h.worker_id for h in self._handles.values() if h.state != WorkerState.UP]
            raise RuntimeError(f"workers did not start: {down}") from None
        self._started = True
        self._write_fleet()

    # ----------------------------------------------------------------- adoption
    def _fleet_path(self) -> Path | None:
        return Path(self.config.fleet_file) if self.config.fleet_file else None

    def _adoptable(self) -> tuple[fleet.Fleet | None, dict[str, int]]:
        """The previous fleet file and the workers of it to adopt (worker id -> pid)."""
        path = self._fleet_path()
        previous = fleet.read(path) if path is not None else None
        found = fleet.adoptable(previous, os.getpid())
        return previous, {w: pid for w, pid in found.items() if w in self._handles}

    def _adopt(self, h: WorkerHandle, pid: int) -> bool:
        """Wait for orphaned worker `pid`'s resumed hello; False if it is gone already."""
        try:
            h.proc = AdoptedWorker(pid)
        except ProcessLookupError:
            return False
        log.info("adopting worker %s (pid %d)", h.worker_id, pid)
        h.state, h.adopting, h.spawned_at = WorkerState.STARTING, True, time.monotonic()
        self._spawn_task(self._watch(h, h.proc))
        return True

    async def _await_adopted(self) -> None:
        """Bounded: a worker that does not resume in time is killed (then spawned anew)."""
        waiting = [h for h in self._handles.values() if h.adopting]
        if not waiting:
            return
        await asyncio.wait(
            [asyncio.ensure_future(h.up_event.wait()) for h in waiting],
            timeout=self.config.adopt_timeout,
        )
        for h in waiting:
            if not h.up_event.is_set() and h.proc is not None:
                log.warning("worker %s did not resume within %.0f s: killing it",
                            h.worker_id, self.config.adopt_timeout)  # fmt: skip
                h.adopting = False
                with contextlib.suppress(ProcessLookupError):
                    h.proc.kill()  # its watch reports it down and spawns a new one

    def _write_fleet(self) -> None:
        path = self._fleet_path()
        if path is None or not self._started or self._stopping:
            return
        pids = {h.worker_id: h.pid for h in self._handles.values() if h.spec is not None}
        record = fleet.Fleet(os.getpid(), self.control_port, self._token,
                             {w: pid for w, pid in pids.items() if pid is not None})  # fmt: skip
        try:
            fleet.write(path, record)
        except OSError as exc:  # a restart could not adopt: worth a line, not a failure
            log.error("cannot write the fleet file %s: %s", path, exc)

    async def command(
        self, worker_id: str, cmd: p.Command, timeout: float | None = None
    ) -> dict[str, object]:
        """Run ``cmd`` on a worker; returns the result data or raises a ``WorkerError``."""
        h = self._handles.get(worker_id)
        if h is None:
            raise WorkerGone(worker_id, "no such worker")
        return await h.command(cmd, timeout or self.config.command_timeout)

    def capacity(self) -> PoolCapacity:
        per = {h.worker_id: h.capacity for h in self._handles.values() if h.state == WorkerState.UP}
        legs = sum(c.legs for c in per.values())
        max_legs = sum(c.max_legs for c in per.values() if not c.draining)
        return PoolCapacity(
            len(per),
            legs,
            max_legs,
            sum(max(0, c.max_legs - c.legs) for c in per.values() if not c.draining),
            per,
        )

    def workers(self) -> list[WorkerInfo]:
        return [
            WorkerInfo(
                h.worker_id,
                h.state.value,
                h.hello.sip_address if h.hello else "",
                h.hello.sip_port if h.hello else (h.spec.sip_port if h.spec else 0),
                h.pid,
                h.restarts,
                h.capacity.legs,
                h.capacity.max_legs,
            )
            for h in self._handles.values()
        ]

    async def register(self, reg: p.Register, worker_id: str | None = None) -> str:
        """Place a registering account (trunk) on a worker; re-homed if that worker dies."""
        target = worker_id or self._pick_home()
        if target is None:
            self._registrations[reg.account] = (reg, None)
            raise WorkerGone("", "no worker up; will register when one is")
        await self.command(target, reg)
        self._registrations[reg.account] = (reg, target)
        return target

    async def unregister(self, account: str) -> None:
        _, home = self._registrations.pop(account, (None, None))
        if home is not None:
            with contextlib.suppress(WorkerError):
                await self.command(home, p.Unregister(account))

    def registration_home(self, account: str) -> str | None:
        return self._registrations.get(account, (None, None))[1]

    async def drain(self, grace: float | None = None) -> None:
        """Stop taking calls, wait up to ``grace`` for legs to end, then shut workers down."""
        self._stopping = True
        grace = self.config.drain_grace if grace is None else grace
        up = [h for h in self._handles.values() if h.state == WorkerState.UP]
        await asyncio.gather(*(self._quiet(h, p.Drain()) for h in up))
        for h in up:
            h.state = WorkerState.DRAINING
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(h.legs for h in up if h.conn):
            await asyncio.sleep(0.1)
        await asyncio.gather(*(self._quiet(h, p.Shutdown(grace=0)) for h in up))
        await self._wait_exit(15.0)

    async def stop(self) -> None:
        """Drain with no grace, stop listening, and reap every worker."""
        if not self._stopping:
            await self.drain(0)
        await self._wait_exit(5.0)
        for h in self._handles.values():  # remote workers: they hang up on EOF
            if h.conn is not None:
                await h.conn.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def kill(self, worker_id: str, sig: int = signal.SIGKILL) -> None:
        """Send a signal to a local worker (operators, tests)."""
        h = self._handles[worker_id]
        if h.proc is not None and h.proc.returncode is None:
            h.proc.send_signal(sig)

    # ----------------------------------------------------------------- processes
    async def _spawn(self, h: WorkerHandle) -> None:
        assert h.spec is not None
        cfg = self.config
        args = [
            cfg.python,
            "-m",
            "gateway.sip.worker",
            "--id",
            h.worker_id,
            "--control",
            f"{cfg.control_host}:{self.control_port}",
            "--sip-port",
            str(h.spec.sip_port),
            "--rtp-port",
            str(h.spec.rtp_port),
            "--rtp-range",
            str(h.spec.rtp_range),
            "--address",
            cfg.address,
            "--codecs",
            ",".join(cfg.codecs),
            "--grace",
            str(cfg.drain_grace),
            "--orphan-timeout",
            str(cfg.orphan_timeout),
            "--log-level",
            str(cfg.log_level),
        ]
        if cfg.public_address:
            args += ["--public-address", cfg.public_address]
        env = dict(os.environ, CONTACTGW_WORKER_TOKEN=self._token)
        stderr: IO[bytes] | None = None
        if cfg.log_dir:
            os.makedirs(cfg.log_dir, exist_ok=True)
            # A log file opened once per spawn; blocking for microseconds is fine here.
            stderr = open(os.path.join(cfg.log_dir, f"{h.worker_id}.log"), "ab")  # noqa: ASYNC230, SIM115
        h.state = WorkerState.STARTING
        h.spawned_at = time.monotonic()
        watch_children()  # reaped by the loop (pidfd), not by a thread per worker
        h.proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            cwd=cfg.cwd,
            env=env,
            start_new_session=True,
        )
        renice(h.proc.pid, cfg.nice)  # before it has any thread: they all inherit it
        if stderr is not None:
            stderr.close()
        self._spawn_task(self._watch(h, h.proc))

    async def _watch(
        self, h: WorkerHandle, proc: asyncio.subprocess.Process | AdoptedWorker
    ) -> None:
        code = await proc.wait()
        self._worker_lost(h, code)
        if self._stopping or h.spec is None:
            return
        while not self._stopping:
            # Backoff from the spawn time: a worker that cannot even start (port taken,
            # broken install) must not be respawned in a tight loop.
            ran = time.monotonic() - h.spawned_at
            h.failures = 0 if ran >= self.config.stable_after else h.failures + 1
            delay = min(
                self.config.backoff_max,
                self.config.backoff_initial * (2 ** max(0, h.failures - 1)),
            )
            log.warning("worker %s exited (%s); restarting in %.1fs", h.worker_id, code, delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            h.restarts += 1
            try:
                await self._spawn(h)
                return
            except OSError as exc:  # e.g. the interpreter vanished: keep trying, slower
                log.error("cannot spawn worker %s: %s", h.worker_id, exc)
                h.spawned_at = time.monotonic()

    def _worker_lost(self, h: WorkerHandle, code: int | None) -> None:
        if h.state == WorkerState.DOWN:
            return
        legs, recs = h.lost()
        for leg, path in recs.items():
            repaired = repair_wav_header(path)
            size = os.path.getsize(path) if os.path.exists(path) else 0
            log.info("worker %s: recording %s repaired=%s", h.worker_id, path, repaired)
            self._publish(
                h.worker_id, p.RecordingClosed(leg, path, round(max(0, size - 44) / 16000, 3), size)
            )
        for leg in legs:
            self._publish(
                h.worker_id, p.LegStateChanged(leg, p.LegState.DISCONNECTED, 0, "worker lost")
            )
        self._publish(h.worker_id, WorkerDown(h.worker_id, code, tuple(legs)))
        self._spawn_task(self._rehome(h.worker_id))

    async def _wait_exit(self, timeout: float) -> None:
        procs = [
            h.proc
            for h in self._handles.values()
            if h.proc is not None and h.proc.returncode is None
        ]
        if not procs:
            return
        _, pending = await asyncio.wait(
            [asyncio.ensure_future(pr.wait()) for pr in procs], timeout=timeout
        )
        for pr in procs:
            if pr.returncode is None:
                pr.kill()
        if pending:
            await asyncio.wait(pending, timeout=5)

    # ----------------------------------------------------------------- connections
    async def _on_connection(self, conn: Connection) -> None:
        try:
            hello = await asyncio.wait_for(conn.recv(), 10)
        except (TimeoutError, ProtocolError):
            hello = None
        if (
            not isinstance(hello, p.Hello)
            or hello.version != p.PROTOCOL_VERSION
            or not secrets.compare_digest(hello.token, self._token)
        ):
            log.warning("refused worker connection from %s: %s", conn.peer, printable(repr(hello)))
            await conn.close()
            return
        h = self._handles.get(hello.worker_id)
        if h is None:  # a remote worker joining by itself: supervised, never spawned
            h = self._handles[hello.worker_id] = WorkerHandle(hello.worker_id, None)
        if h.conn is not None:
            log.warning("duplicate worker id %s from %s", printable(hello.worker_id), conn.peer)
            await conn.close()
            return
        if hello.resumed != h.adopting:  # only the orphans we wait for resume; no others
            log.warning("refused worker %s: %s", h.worker_id,
                        "resumed unasked" if hello.resumed else "new while adopting")  # fmt: skip
            await conn.close()
            return
        if hello.resumed:
            self.adopted.add(h.worker_id)
        h.adopting = False
        await conn.send(p.Welcome(p.PROTOCOL_VERSION))
        h.attach(conn, hello)
        self._write_fleet()
        self._publish(
            h.worker_id,
            WorkerUp(h.worker_id, hello.sip_address, hello.sip_port, hello.pid, hello.max_legs),
        )
        self._spawn_task(self._rehome(None))
        await self._read(h, conn)

    async def _read(self, h: WorkerHandle, conn: Connection) -> None:
        while True:
            try:
                msg = await conn.recv()
            except ProtocolError as exc:
                log.warning("worker %s sent a bad line: %s", h.worker_id, printable(exc))
                continue
            if msg is None:
                break
            event = h.receive(msg)
            if event is not None:
                self._publish(h.worker_id, event)
        await conn.close()
        if h.conn is conn:
            if h.proc is None:  # a remote worker: its connection is all we have
                self._worker_lost(h, None)
            elif h.proc.returncode is None and not self._stopping:
                # A worker closes its connection just before it exits (SIGTERM, shutdown);
                # one that stays alive without a connection is of no use: kill it.
                try:
                    await asyncio.wait_for(asyncio.shield(h.proc.wait()), 3.0)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        h.proc.kill()
            # A local worker is reported by _watch, with its exit status.

    def _publish(self, worker_id: str, event: PoolEventKind) -> None:
        if self._on_event is not None:
            try:
                self._on_event(PoolEvent(worker_id, event))
            except Exception:
                log.exception("on_event callback failed")

    # ----------------------------------------------------------------- health, re-homing
    async def _health_loop(self) -> None:
        """A round of pings every ``health_interval``, all at once (one loop turn sends
        them and one reads most answers: spread over the interval they cost the control
        plane 5x the CPU, measured), and none to a worker heard from within the interval:
        its results and events come from its owner thread, the one a ping checks."""
        interval = self.config.health_interval
        while True:
            await asyncio.sleep(interval)
            due = due_for_ping(self._handles.values(), time.monotonic(), interval)
            await asyncio.gather(*(self._health(h) for h in due))

    async def _health(self, h: WorkerHandle) -> None:
        try:
            await h.command(p.Ping(), self.config.health_timeout)
            h.health_misses = 0
        except WorkerError:
            h.health_misses += 1
            if h.health_misses >= self.config.health_failures and h.proc is not None:
                log.warning(
                    "worker %s failed %d health checks: killing", h.worker_id, h.health_misses
                )
                h.health_misses = 0
                with contextlib.suppress(ProcessLookupError):
                    h.proc.kill()

    def _pick_home(self) -> str | None:
        up = [h for h in self._handles.values() if h.state == WorkerState.UP]
        if not up:
            return None
        load = {h.worker_id: 0 for h in up}
        for _, home in self._registrations.values():
            if home in load:
                load[home] += 1
        return min(load, key=lambda w: (load[w], w))

    async def _rehome(self, dead: str | None) -> None:
        """Move registrations off ``dead`` (or place homeless ones) onto an up worker."""
        if self._stopping:
            return
        for account, (reg, home) in list(self._registrations.items()):
            if home != dead:
                continue
            self._registrations[account] = (reg, None)
            target = self._pick_home()
            if target is None:
                return  # the next WorkerUp calls us again
            try:
                await self.command(target, reg)
                self._registrations[account] = (reg, target)
                log.info("registration %s re-homed to %s", account, target)
            except WorkerError as exc:
                log.warning("re-homing %s failed: %s", account, exc)

    async def _quiet(self, h: WorkerHandle, cmd: p.Command) -> None:
        """Best effort (drain/shutdown): a worker that does not answer in 3 s is not
        waited for; it is killed or disconnected afterwards."""
        with contextlib.suppress(WorkerError):
            await h.command(cmd, min(self.config.command_timeout, 3.0))

    def _spawn_task(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
