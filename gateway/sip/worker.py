"""Worker process entry point: ``python -m gateway.sip.worker --id w1 --control HOST:PORT ...``

Theory of operation
-------------------
1. Start the owner thread (``loop.OwnerThread``), which creates the pjsua2 endpoint
   and the worker's state (``state.SipState``); a busy SIP port fails here, exit
   status 2.
2. Connect to the control plane, send ``Hello`` (version, id, SIP port, capacity),
   expect ``Welcome`` with the same protocol version (else exit status 3).
3. Relay: each command line becomes ``owner.submit(cmd)``; its result (or its
   ``WorkerError``'s code) goes back with the command's id. Events from the owner
   thread are written as they come.
4. Leave cleanly: on ``Shutdown`` or on SIGTERM/SIGINT (drain, then hang up after
   ``--grace`` seconds). The owner thread frees everything and calls ``libDestroy``;
   the process exits 0.
5. Outlive a lost control plane (EOF or error, not a Shutdown): keep every call and
   recording, refuse new INVITEs (503), buffer events, and reconnect to the same
   ``--control`` address every 0.5 s with ``Hello(resumed=True)``; once welcomed,
   send the legs as they were at the loss (``LegSnapshot``), ``SnapshotDone``, then the
   buffered events. Past ``--orphan-timeout`` seconds (or 10,000 buffered events) hang
   up every leg, close the recordings and exit 0; ``--orphan-timeout 0`` hangs up at
   once (the policy: ``orphan.py``; the snapshot: ``snapshot.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import logging
import os
import signal
import sys
import time
from typing import Any

from gateway.ipc import protocol as p
from gateway.ipc.codec import Notification, ProtocolError, Request
from gateway.ipc.errors import WorkerError, WorkerInternal
from gateway.ipc.transport import Connection, connect
from gateway.logsafe import printable
from gateway.sip.endpoint import WorkerConfig
from gateway.sip.loop import OwnerThread
from gateway.sip.orphan import Orphanage
from gateway.sip.state import SipState

log = logging.getLogger("gateway.worker")

EXIT_INIT = 2
EXIT_HANDSHAKE = 3
HANDSHAKE_S = 10.0
SNAPSHOT_WAIT_S = 5.0  # the owner thread takes it on its next turn (<= 200 ms)


class HandshakeFailed(Exception):
    pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m gateway.sip.worker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--id", required=True, help="worker id, e.g. w1")
    ap.add_argument("--control", required=True, help="control plane HOST:PORT to connect to")
    ap.add_argument(
        "--token",
        default=os.environ.get("CONTACTGW_WORKER_TOKEN", ""),
        help="shared secret sent in hello (default: $CONTACTGW_WORKER_TOKEN)",
    )
    ap.add_argument("--sip-port", type=int, required=True)
    ap.add_argument("--rtp-port", type=int, required=True, help="first RTP port")
    ap.add_argument("--rtp-range", type=int, default=20, help="number of RTP ports")
    ap.add_argument("--address", default="127.0.0.1", help="address to bind SIP and RTP to")
    ap.add_argument("--public-address", default="", help="address to advertise (SDP/Via)")
    ap.add_argument("--codecs", default="PCMU,PCMA")
    ap.add_argument("--max-legs", type=int, default=4)
    ap.add_argument("--grace", type=float, default=30.0, help="SIGTERM: seconds before hang-up")
    ap.add_argument(
        "--orphan-timeout",
        type=float,
        default=60.0,
        help="control plane lost: seconds to keep the calls and wait for one (0: hang up)",
    )
    ap.add_argument("--log-level", type=int, default=0, help="pjsua2 log level (0-6)")
    return ap.parse_args(argv)


class WorkerProcess:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cfg = WorkerConfig(
            worker_id=args.id,
            sip_port=args.sip_port,
            rtp_port=args.rtp_port,
            rtp_port_range=args.rtp_range,
            address=args.address,
            public_address=args.public_address,
            codecs=tuple(c.strip() for c in args.codecs.split(",") if c.strip()),
            max_legs=args.max_legs,
            log_level=args.log_level,
        )
        self.conn: Connection | None = None
        self.owner: OwnerThread | None = None
        self.state: SipState | None = None
        self.orphanage = Orphanage(max(0.0, args.orphan_timeout))
        self._snapshot_ready = asyncio.Event()
        self._stopping = False  # Shutdown or a signal: a lost connection is no orphaning
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._early: list[p.Event] = []  # events before the handshake completed

    def _on_event(self, event: p.Event) -> None:
        """Owner thread -> loop thread."""
        assert self.loop is not None
        try:
            self.loop.call_soon_threadsafe(self._send_event, event)
        except RuntimeError:
            pass  # loop closed during exit

    def _send_event(self, event: p.Event) -> None:
        if self.conn is not None:
            self.conn.send_nowait(Notification(event))
        elif self.orphanage.orphaned:
            self.orphanage.accept(event)
            if self.orphanage.snapshot_taken:
                self._snapshot_ready.set()
        else:
            self._early.append(event)

    async def run(self) -> int:
        self.loop = asyncio.get_running_loop()
        self.owner = OwnerThread(self.cfg.worker_id, (self.cfg.address, self.cfg.sip_port))
        self.state = SipState(self.cfg, self._on_event, self.owner)
        try:
            await asyncio.to_thread(self.owner.start, self.state)
        except Exception as exc:  # noqa: BLE001 - any init failure means exit status 2
            print(f"worker {self.cfg.worker_id}: cannot start pjsua2: {exc}", file=sys.stderr)
            return EXIT_INIT
        try:
            conn = await self._handshake(resumed=False, timeout=HANDSHAKE_S)
        except HandshakeFailed as exc:
            print(f"worker {self.cfg.worker_id}: {exc}", file=sys.stderr)
            await self._finish(0)
            return EXIT_HANDSHAKE
        self.conn = conn
        for event in self._early:
            conn.send_nowait(Notification(event))
        self._early.clear()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, self._on_signal)
        finished = asyncio.ensure_future(asyncio.to_thread(self.owner.finished.wait))
        resumed: Connection | None = conn
        while resumed is not None:
            lost = await self._serve(resumed, finished)
            self.conn = None
            if lost:
                self._lose()  # before any await: every event from now on is the orphan's
            await resumed.close()
            resumed = await self._orphaned(finished) if lost else None
        await self._finish(0)
        return 0

    async def _handshake(self, resumed: bool, timeout: float) -> Connection:
        """Connect, say Hello, expect Welcome; HandshakeFailed says why not."""
        host, _, port = self.args.control.rpartition(":")
        hello = p.Hello(
            p.PROTOCOL_VERSION,
            self.cfg.worker_id,
            os.getpid(),
            self.cfg.advertised,
            self.cfg.sip_port,
            self.cfg.max_legs,
            self.args.token,
            resumed,
        )
        conn: Connection | None = None
        try:
            async with asyncio.timeout(timeout):
                conn = await connect(host, int(port))
                await conn.send(hello)
                welcome = await conn.recv()
        except (TimeoutError, OSError, ProtocolError) as exc:
            if conn is not None:
                await conn.close()
            raise HandshakeFailed(f"handshake failed: {exc!r}") from None
        if not isinstance(welcome, p.Welcome) or welcome.version != p.PROTOCOL_VERSION:
            await conn.close()
            raise HandshakeFailed(f"bad welcome {welcome!r}")
        return conn

    def _on_signal(self) -> None:
        assert self.owner is not None
        self._stopping = True
        self.owner.submit(p.Drain())
        self.owner.submit(p.Shutdown(grace=self.args.grace))

    async def _serve(self, conn: Connection, finished: asyncio.Future[bool]) -> bool:
        """Relay until the owner finishes (False) or the connection is lost (True: the
        caller orphans the worker; with orphaning off or a shutdown under way, the
        worker ends here as it always did)."""
        assert self.owner is not None
        while True:
            recv = asyncio.ensure_future(conn.recv())
            waits: set[asyncio.Future[Any]] = {recv, finished}
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if recv not in done:  # owner finished (shutdown): stop reading
                recv.cancel()
                return False
            try:
                msg = recv.result()
            except ProtocolError as exc:
                log.warning("bad line from control plane: %s", printable(exc))
                continue
            if msg is None:
                if self.orphanage.enabled and not self._stopping:
                    return True
                if not self._stopping:
                    log.warning("control plane connection lost: hanging up")
                    self.owner.submit(p.Shutdown(grace=0))
                await finished
                return False
            if isinstance(msg, Request):
                if isinstance(msg.command, p.Shutdown):
                    self._stopping = True
                task = asyncio.create_task(self._execute(conn, msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _execute(self, conn: Connection, req: Request) -> None:
        assert self.owner is not None
        try:
            data = await asyncio.wrap_future(self.owner.submit(req.command))
            res = p.Result(req.id, True, data)
        except WorkerError as exc:
            res = p.Result(req.id, False, {}, exc.code, exc.message)
        except Exception as exc:  # a bug in a handler must not kill the worker
            log.exception("command %s failed", printable(repr(req.command)))
            res = p.Result(req.id, False, {}, WorkerInternal.code, repr(exc))
        try:
            await conn.send(res)
        except (ConnectionError, OSError):
            pass

    def _lose(self) -> None:
        assert self.owner is not None and self.state is not None
        self.orphanage.lose(time.monotonic())
        self._snapshot_ready.clear()
        self.state.lose_control()
        self.owner.wake()
        log.warning(
            "control plane connection lost: keeping the calls, reconnecting to %s for %g s",
            printable(self.args.control),
            self.orphanage.timeout,
        )

    async def _orphaned(self, finished: asyncio.Future[bool]) -> Connection | None:
        """Keep the calls and reconnect (bounded): the resumed connection, or None once
        the worker has ended its calls (timeout, overflow, a signal meanwhile)."""
        orphans = self.orphanage
        while not finished.done():
            now = time.monotonic()
            why = orphans.give_up(now)
            if why is not None:
                await self._give_up(why)
                return None
            if orphans.snapshot_taken:
                conn = await self._resume(orphans.deadline - now)
                if conn is not None:
                    return conn
            else:  # the owner thread takes it on its next turn
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._snapshot_ready.wait(), SNAPSHOT_WAIT_S)
                continue
            await asyncio.wait({finished}, timeout=orphans.retry_in(time.monotonic()))
        return None

    async def _resume(self, left: float) -> Connection | None:
        assert self.state is not None
        try:
            conn = await self._handshake(resumed=True, timeout=max(0.1, min(HANDSHAKE_S, left)))
        except HandshakeFailed:
            return None
        # From here to self.conn, nothing awaits: no event can slip between the
        # snapshot, the buffered events and the live ones.
        resume = self.orphanage.resume(time.monotonic())
        self.state.regain_control()
        for event in resume.messages():
            conn.send_nowait(Notification(event))
        self.conn = conn
        log.info(
            "resumed after %.1f s without a control plane: %d legs, %d buffered events",
            resume.done.orphaned_s,
            resume.done.legs,
            resume.done.events,
        )
        return conn

    async def _give_up(self, why: str) -> None:
        assert self.owner is not None
        try:
            res = await asyncio.wrap_future(self.owner.submit(p.Shutdown(grace=0)))
            legs = res.get("legs", 0)
        except WorkerError:
            legs = 0  # already shutting down
        log.info("%s: ending %s legs and exiting", why, legs)

    async def _finish(self, grace: float) -> None:
        assert self.owner is not None
        if not self.owner.finished.is_set():
            self.owner.submit(p.Shutdown(grace=grace))
        await asyncio.to_thread(self.owner.join, 15)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        await asyncio.sleep(0)  # let the last events be written


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # A crash inside pjsua2 (SIGSEGV/SIGABRT) leaves every thread's Python stack in the
    # worker's log: the only trace of what it was doing.
    faulthandler.enable(all_threads=True)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {args.id} %(message)s")
    code = asyncio.run(WorkerProcess(args).run())
    sys.stdout.flush()
    sys.stderr.flush()
    # Exit without tearing down the interpreter: pjsua2 objects are already freed on
    # the owner thread, and Python's finalisers must not touch the destroyed library.
    os._exit(code)


if __name__ == "__main__":
    main()
