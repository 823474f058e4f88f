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
4. Leave cleanly: on ``Shutdown``, on SIGTERM/SIGINT (drain, then hang up after
   ``--grace`` seconds) or when the control plane connection is lost (hang up now:
   a worker without a control plane can make no decision). The owner thread frees
   everything and calls ``libDestroy``; the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import logging
import os
import signal
import sys

from gateway.ipc import protocol as p
from gateway.ipc.codec import Notification, ProtocolError, Request
from gateway.ipc.errors import WorkerError, WorkerInternal
from gateway.ipc.transport import Connection, connect
from gateway.logsafe import printable
from gateway.sip.endpoint import WorkerConfig
from gateway.sip.loop import OwnerThread
from gateway.sip.state import SipState

log = logging.getLogger("gateway.worker")

EXIT_INIT = 2
EXIT_HANDSHAKE = 3


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
        if self.conn is None:
            self._early.append(event)
        else:
            self.conn.send_nowait(Notification(event))

    async def run(self) -> int:
        self.loop = asyncio.get_running_loop()
        self.owner = OwnerThread(self.cfg.worker_id, (self.cfg.address, self.cfg.sip_port))
        state = SipState(self.cfg, self._on_event, self.owner)
        try:
            await asyncio.to_thread(self.owner.start, state)
        except Exception as exc:  # noqa: BLE001 - any init failure means exit status 2
            print(f"worker {self.cfg.worker_id}: cannot start pjsua2: {exc}", file=sys.stderr)
            return EXIT_INIT
        host, _, port = self.args.control.rpartition(":")
        try:
            conn = await connect(host, int(port))
            await conn.send(
                p.Hello(
                    p.PROTOCOL_VERSION,
                    self.cfg.worker_id,
                    os.getpid(),
                    self.cfg.advertised,
                    self.cfg.sip_port,
                    self.cfg.max_legs,
                    self.args.token,
                )
            )
            welcome = await asyncio.wait_for(conn.recv(), 10)
        except (TimeoutError, OSError, ProtocolError) as exc:
            print(f"worker {self.cfg.worker_id}: handshake failed: {exc}", file=sys.stderr)
            await self._finish(0)
            return EXIT_HANDSHAKE
        if not isinstance(welcome, p.Welcome) or welcome.version != p.PROTOCOL_VERSION:
            print(f"worker {self.cfg.worker_id}: bad welcome {welcome!r}", file=sys.stderr)
            await self._finish(0)
            return EXIT_HANDSHAKE
        self.conn = conn
        for event in self._early:
            conn.send_nowait(Notification(event))
        self._early.clear()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, self._on_signal)
        await self._serve(conn)
        await self._finish(0)
        await conn.close()
        return 0

    def _on_signal(self) -> None:
        assert self.owner is not None
        self.owner.submit(p.Drain())
        self.owner.submit(p.Shutdown(grace=self.args.grace))

    async def _serve(self, conn: Connection) -> None:
        assert self.owner is not None
        finished = asyncio.ensure_future(asyncio.to_thread(self.owner.finished.wait))
        while True:
            recv = asyncio.ensure_future(conn.recv())
            done, _ = await asyncio.wait({recv, finished}, return_when=asyncio.FIRST_COMPLETED)
            if recv not in done:  # owner finished (shutdown): stop reading
                recv.cancel()
                return
            try:
                msg = recv.result()
            except ProtocolError as exc:
                log.warning("bad line from control plane: %s", printable(exc))
                continue
            if msg is None:
                log.warning("control plane connection lost: hanging up")
                self.owner.submit(p.Shutdown(grace=0))
                await finished
                return
            if isinstance(msg, Request):
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
