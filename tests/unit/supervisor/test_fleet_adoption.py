"""A pool adopts the workers of a dead one (fleet file, resumed hellos, pidfd watch).

The workers are real processes started by the first pool's spawn path, running a small
resumable stand-in (no pjsua2): like a real worker it keeps its leg when its control
connection drops, reconnects every 0.1 s and resumes with a snapshot. The first pool
"dies" without a word to them (its tasks cancelled, its sockets closed: what SIGKILL
does to them), and the fleet file is made to name a dead control-plane pid."""

from __future__ import annotations

import asyncio
import signal
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gateway.ipc import protocol as p
from gateway.supervisor import PoolConfig, PoolEvent, WorkerDown, WorkerPool, WorkerUp, fleet

REPO = Path(__file__).resolve().parents[3]
WORKER = """
import asyncio, os, sys
from gateway.ipc import protocol as p
from gateway.ipc.codec import Notification, Request
from gateway.ipc.transport import connect

async def main(argv):
    args = dict(zip(argv[::2], argv[1::2]))
    host, port = args["--control"].rsplit(":", 1)
    wid, resumed = args["--id"], False
    while True:
        try:
            conn = await connect(host, int(port))
        except OSError:
            await asyncio.sleep(0.1)
            continue
        await conn.send(p.Hello(p.PROTOCOL_VERSION, wid, os.getpid(), "127.0.0.1",
                                int(args["--sip-port"]), 4, os.environ["CONTACTGW_WORKER_TOKEN"],
                                resumed=resumed))
        if resumed:
            note = {"call": "c-" + wid}
            await conn.send(Notification(p.LegSnapshot(
                wid + "-in-1", "sip-1", "in", p.LegState.CONFIRMED, "sip:caller@x", note,
                recording=args["--rec"])))
            await conn.send(Notification(p.SnapshotDone(1, 0.5, 0)))
        while (msg := await conn.recv()) is not None:
            if isinstance(msg, Request):
                await conn.send(p.Result(msg.id, True, {}))
                if isinstance(msg.command, p.Shutdown):
                    return
        resumed = True  # orphaned: keep the call, come back

asyncio.run(main(sys.argv[3:]))
"""


@pytest.fixture
def fake_python(tmp_path: Path) -> str:
    """An "interpreter" that runs the stand-in with the pool's arguments (plus a recording
    path the snapshot reports open)."""
    (tmp_path / "worker.py").write_text(WORKER)
    script = tmp_path / "python"
    rec = tmp_path / "caller.wav"
    script.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} {tmp_path}/worker.py'
                      f' "$@" --rec {rec}\n')  # fmt: skip
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    rec.write_bytes(b"RIFF" + b"\0" * 40 + b"\1" * 16000)  # length 0 in its header: killed
    return str(script)


def config(tmp_path: Path, python: str, **kw: object) -> PoolConfig:
    return PoolConfig(workers=2, sip_port_base=15380, python=python, health_interval=60,
                      start_timeout=20, fleet_file=str(tmp_path / "fleet.json"), backoff_initial=0.1,
                      **kw)  # type: ignore[arg-type]  # fmt: skip


def crash(pool: WorkerPool) -> None:
    """As SIGKILL leaves it: nothing said to the workers, every socket closed."""
    for task in list(pool._tasks):
        task.cancel()
    assert pool._server is not None
    pool._server.close()
    for h in pool._handles.values():
        if h.conn is not None:
            h.conn._writer.transport.abort()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def make_orphaned(path: Path) -> fleet.Fleet:
    record = fleet.read(path)
    assert record is not None
    orphaned = fleet.Fleet(dead_pid(), record.control_port, record.token, record.workers)
    fleet.write(path, orphaned)
    return orphaned


async def until(pred: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "condition not met"
        await asyncio.sleep(0.02)


@pytest.fixture
async def pools() -> AsyncIterator[list[WorkerPool]]:
    running: list[WorkerPool] = []
    yield running
    for pool in running:
        await pool.stop()


@pytest.mark.timeout(60)
async def test_a_new_pool_adopts_the_orphans_and_supervises_them(
    tmp_path: Path, fake_python: str, pools: list[WorkerPool]
) -> None:
    first = WorkerPool(config(tmp_path, fake_python))
    await first.start()
    pids = {w.worker_id: w.pid for w in first.workers()}
    written = fleet.read(tmp_path / "fleet.json")
    assert written is not None and written.workers == pids
    assert written.control_port == first.control_port
    crash(first)
    orphaned = make_orphaned(tmp_path / "fleet.json")

    seen: list[PoolEvent] = []
    second = WorkerPool(config(tmp_path, fake_python), seen.append)
    pools.append(second)
    await second.start()  # returns once both snapshots are through
    assert second.control_port == orphaned.control_port and second.adopted == {"w1", "w2"}
    assert {w.worker_id: (w.pid, w.state) for w in second.workers()} == {
        w: (pid, "up") for w, pid in pids.items()}  # fmt: skip
    kinds = [(e.worker_id, type(e.event).__name__) for e in seen if e.worker_id == "w1"]
    assert kinds == [("w1", "WorkerUp"), ("w1", "LegSnapshot"), ("w1", "SnapshotDone")]
    rewritten = fleet.read(tmp_path / "fleet.json")
    assert rewritten is not None and rewritten.pid != orphaned.pid and rewritten.workers == pids
    assert await second.command("w1", p.Ping()) == {}

    # not our child, still watched: killed, its leg and open recording are reported, and
    # it is spawned anew (a fresh hello, not a resumed one)
    seen.clear()
    second.kill("w1", signal.SIGKILL)
    await until(lambda: any(isinstance(e.event, WorkerUp) for e in seen))
    lost = [e.event for e in seen if e.worker_id == "w1"]
    assert isinstance(lost[0], p.RecordingClosed) and lost[0].leg == "w1-in-1"
    assert lost[1] == p.LegStateChanged("w1-in-1", p.LegState.DISCONNECTED, 0, "worker lost")
    assert isinstance(lost[2], WorkerDown) and lost[2].legs == ("w1-in-1",)
    assert lost[2].exit_code == -1  # the status is its new parent's
    new_pid = next(w.pid for w in second.workers() if w.worker_id == "w1")
    assert new_pid != pids["w1"]
    await until(lambda: (f := fleet.read(tmp_path / "fleet.json")) and f.workers["w1"] == new_pid)


@pytest.mark.timeout(60)
async def test_an_orphan_that_does_not_resume_in_time_is_killed_and_replaced(
    tmp_path: Path, fake_python: str, pools: list[WorkerPool]
) -> None:
    mute = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(60)", "-m", "gateway.sip.worker",
        "--id", "w1",
    )  # fmt: skip
    try:
        fleet.write(tmp_path / "fleet.json", fleet.Fleet(dead_pid(), 0, "t0ken", {"w1": mute.pid}))
        pool = WorkerPool(config(tmp_path, fake_python, adopt_timeout=0.5))
        pools.append(pool)
        await pool.start()
        assert await asyncio.wait_for(mute.wait(), 5) == -signal.SIGKILL
        assert {w.worker_id: w.state for w in pool.workers()} == {"w1": "up", "w2": "up"}
        assert next(w.pid for w in pool.workers() if w.worker_id == "w1") != mute.pid
    finally:
        if mute.returncode is None:
            mute.kill()
            await mute.wait()
