"""A real pjsua2 worker process and a control plane played by the test.

``ControlPlane`` listens on a fixed port with ``gateway.ipc.transport.serve``, welcomes
one worker, records every message it sends (``messages``, in order) and sends commands
(``cmd``); ``close()`` drops the listener and the connection, as a dead control plane
would. A new ``ControlPlane`` on the same port is the restarted one. ``spawn_worker``
starts ``python -m gateway.sip.worker`` against it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.ipc import protocol as p
from gateway.ipc.codec import Notification, Request
from gateway.ipc.transport import Connection, serve
from tests.support import ports
from tests.support.rtp_pcap import tone_packets, write_pcap
from tests.support.sipp import Sipp, render_scenario

REPO = Path(__file__).resolve().parents[3]
MUSIC = str(REPO / "config" / "prompts" / "music.wav")
TOKEN = "orphan-test-token"

pytestmark = pytest.mark.integration

if shutil.which("sipp") is None:  # pragma: no cover
    pytest.skip("sipp not installed", allow_module_level=True)


class ControlPlane:
    def __init__(self, port: int) -> None:
        self.port = port
        self.hello: p.Hello | None = None
        self.received: list[p.Event] = []  # every event, in the order it came
        self.conn: Connection | None = None
        self._server: asyncio.Server | None = None
        self._ids = itertools.count(1)
        self._results: dict[int, asyncio.Future[p.Result]] = {}
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> ControlPlane:
        self._server = await serve(self._on_connection, "127.0.0.1", self.port)
        return self

    async def _on_connection(self, conn: Connection) -> None:
        hello = await conn.recv()
        assert isinstance(hello, p.Hello) and hello.token == TOKEN, hello
        self.hello = hello
        await conn.send(p.Welcome(p.PROTOCOL_VERSION))
        self.conn = conn
        self._changed.set()
        while (msg := await conn.recv()) is not None:
            if isinstance(msg, p.Result):
                self._results.pop(msg.id).set_result(msg)
            elif isinstance(msg, Notification):
                self.received.append(msg.event)
                self._changed.set()

    def events(self) -> list[p.Event]:
        return list(self.received)

    async def wait(self, pred: Callable[[list[p.Event]], Any], timeout: float = 10.0) -> Any:
        """Poll (bounded) until ``pred(events)`` is truthy; fail with the events if not."""
        deadline = time.monotonic() + timeout
        while not (found := pred(self.events())):
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; events: {self.events()[-20:]}"
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass
        return found

    async def connected(self, timeout: float = 10.0) -> p.Hello:
        deadline = time.monotonic() + timeout
        while self.conn is None:
            assert time.monotonic() < deadline, "the worker did not connect"
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.2)
            except TimeoutError:
                pass
        assert self.hello is not None
        return self.hello

    async def cmd(self, command: p.Command, timeout: float = 5.0) -> dict[str, object]:
        assert self.conn is not None
        req = Request(next(self._ids), command)
        fut = self._results[req.id] = asyncio.get_running_loop().create_future()
        await self.conn.send(req)
        res = await asyncio.wait_for(fut, timeout)
        assert res.ok, (command, res)
        return res.data

    async def close(self) -> None:
        """Die: stop listening, drop the worker's connection."""
        assert self._server is not None
        self._server.close()
        if self.conn is not None:
            await self.conn.close()
        await self._server.wait_closed()


def event_of(kind: type, **fields: Any) -> Callable[[list[p.Event]], Any]:
    def pred(events: list[p.Event]) -> Any:
        return next(
            (
                e
                for e in events
                if isinstance(e, kind) and all(getattr(e, k) == v for k, v in fields.items())
            ),
            None,
        )

    return pred


class Worker:
    def __init__(self, proc: asyncio.subprocess.Process, sip_port: int, log: Path) -> None:
        self.proc = proc
        self.sip_port = sip_port
        self.log = log

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
async def spawn_worker(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    started: list[Worker] = []

    async def spawn(control_port: int, orphan_timeout: float) -> Worker:
        sip = ports.sip_block(1)
        log = tmp_path / f"worker-{len(started) + 1}.log"
        with open(log, "ab") as err:  # noqa: ASYNC230 - a local file, once per worker
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.sip.worker", "--id", "w1",
                "--control", f"127.0.0.1:{control_port}", "--sip-port", str(sip),
                "--rtp-port", str(ports.rtp_block(20)), "--rtp-range", "20",
                "--orphan-timeout", str(orphan_timeout),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=err, cwd=REPO, env=dict(os.environ, CONTACTGW_WORKER_TOKEN=TOKEN),
                start_new_session=True,
            )  # fmt: skip
        worker = Worker(proc, sip, log)
        started.append(worker)
        return worker

    yield spawn
    for worker in started:
        if worker.proc.returncode is None:
            worker.proc.kill()
            await worker.proc.wait()
        text = worker.text()
        assert "Assertion" not in text and "Fatal Python error" not in text, text[-2000:]


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[int, str]:
    """Tone pcaps that outlast each test's call (sipp plays a pcap once)."""
    d = tmp_path_factory.mktemp("pcap")
    out = {}
    for freq in (440, 1000):
        path = d / f"tone{freq}.pcap"
        write_pcap(path, tone_packets(freq, 12.0))
        out[freq] = str(path)
    return out


async def start_sipp(
    tmp: Path, scenario: str, *, target: int | None = None, **values: object
) -> tuple[Sipp, int]:
    """A sipp process for a scenario of tests/support/sipp; returns (sipp, its SIP port)."""
    port = ports.sip_block(1)
    sipp = Sipp(
        render_scenario(scenario, tmp, **values),
        sip_port=port,
        media_port=ports.rtp_block(4),
        target=("127.0.0.1", target) if target else None,
        log_dir=tmp,
        timeout_s=30,
    )
    await sipp.start()
    return sipp, port
