"""Fixtures for worker/supervisor integration tests (real pjsua2 workers and sipp).

``harness`` starts a ``WorkerPool`` on free ports of this suite's ranges and records
every ``PoolEvent``; ``harness.wait(pred, timeout)`` waits for an event matching
``pred`` (bounded), and ``harness.history`` keeps all of them for assertions.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.ipc import protocol as p
from gateway.supervisor import PoolConfig, PoolEvent, WorkerDown, WorkerPool
from tests.support import ports
from tests.support.rtp_pcap import dtmf_packets, tone_packets, write_pcap
from tests.support.sipp import Sipp, render_scenario, uac_dtmf

REPO = Path(__file__).resolve().parents[3]
MUSIC = str(REPO / "config" / "prompts" / "music.wav")
GREETING = str(REPO / "config" / "prompts" / "greeting.wav")

pytestmark = pytest.mark.integration

if shutil.which("sipp") is None:  # pragma: no cover
    pytest.skip("sipp not installed", allow_module_level=True)


@pytest.fixture(scope="session")
def pcaps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("pcap")
    out = {}
    for name, packets in {
        "tone440": tone_packets(440, 6.0),
        "tone1000": tone_packets(1000, 6.0),
        "tone440_long": tone_packets(440, 20.0),
        "tone1000_long": tone_packets(1000, 20.0),
        "dtmf": dtmf_packets("12#"),
    }.items():
        path = d / f"{name}.pcap"
        write_pcap(path, packets)
        out[name] = str(path)
    return out


class Harness:
    def __init__(self, pool: WorkerPool, tmp: Path) -> None:
        self.pool = pool
        self.tmp = tmp
        self.history: list[PoolEvent] = []
        self.expected_deaths = 0  # tests that kill workers say how many
        self.listeners: list[Callable[[PoolEvent], None]] = []  # a test's "control plane"
        self._cond = asyncio.Condition()

    def on_event(self, ev: PoolEvent) -> None:
        self.history.append(ev)
        for listener in self.listeners:
            listener(ev)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    def find(self, pred: Callable[[PoolEvent], bool]) -> list[PoolEvent]:
        return [ev for ev in self.history if pred(ev)]

    async def wait(
        self,
        pred: Callable[[PoolEvent], bool],
        timeout: float = 10.0,
        start: int = 0,
        why: Callable[[], object] | None = None,
    ) -> PoolEvent:
        """First event of ``history[start:]`` matching ``pred``; on timeout, fail with the
        recent events (and ``why()``, e.g. a softphone's events)."""
        deadline = time.monotonic() + timeout
        async with self._cond:
            while True:
                for ev in self.history[start:]:
                    if pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    extra = f"; also: {why()}" if why else ""
                    raise AssertionError(f"timed out; events: {self.history[-30:]}{extra}")
                try:
                    await asyncio.wait_for(self._cond.wait(), left)
                except TimeoutError:
                    pass

    async def cmd(self, worker_id: str, command: Any) -> dict[str, Any]:
        return await self.pool.command(worker_id, command)


def is_event(kind: type, **fields: Any) -> Callable[[PoolEvent], bool]:
    def pred(ev: PoolEvent) -> bool:
        return isinstance(ev.event, kind) and all(
            getattr(ev.event, k) == v for k, v in fields.items()
        )

    return pred


def leg_state(leg: str, state: str) -> Callable[[PoolEvent], bool]:
    return is_event(p.LegStateChanged, leg=leg, state=p.LegState(state))


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    pools: list[WorkerPool] = []
    harnesses: list[Harness] = []

    async def factory(workers: int = 1, start: bool = True, **overrides: Any) -> Harness:
        sip = ports.sip_block(workers)
        rtp = ports.rtp_block(workers * 20)
        settings: dict[str, Any] = {
            "workers": workers,
            "sip_port_base": sip,
            "rtp_port_base": rtp,
            "rtp_ports_per_worker": 20,
            "health_interval": 1.0,
            "backoff_initial": 0.2,
            "drain_grace": 5.0,
            "log_dir": str(tmp_path / "logs"),
            "cwd": str(REPO),
        }
        cfg = PoolConfig(**{**settings, **overrides})
        harness: Harness
        pool = WorkerPool(cfg, on_event=lambda ev: harness.on_event(ev))
        harness = Harness(pool, tmp_path)
        pools.append(pool)
        harnesses.append(harness)
        if start:
            await pool.start()
        return harness

    yield factory
    for pool in pools:
        await pool.stop()
    # No worker may abort: every exit but the ones a test caused is a clean 0, and no
    # worker log shows a pjlib assertion or a fatal Python error.
    for harness in harnesses:
        codes = [ev.event.exit_code for ev in harness.history if isinstance(ev.event, WorkerDown)]
        expected = harness.expected_deaths
        if expected < 0:  # the test counted them itself
            continue
        assert len([c for c in codes if c != 0]) == expected, codes
    for log in (tmp_path / "logs").glob("*.log"):
        text = log.read_text(errors="replace")
        assert "Assertion" not in text and "Fatal Python error" not in text, text[-2000:]


# --------------------------------------------------------------------------- sipp helpers
async def start_agent(
    tmp: Path, tone_pcap: str, *, end: str, answer_delay_ms: int = 300, calls: int = 1
) -> tuple[Sipp, int]:
    """A sipp UAS that answers and sends a tone; returns (sipp, its SIP port)."""
    scen = render_scenario(
        "uas_tone.xml", tmp, tone_pcap=tone_pcap, end=end, answer_delay_ms=answer_delay_ms
    )
    port = ports.sip_block(1)
    agent = Sipp(scen, sip_port=port, media_port=ports.rtp_block(4), calls=calls, log_dir=tmp)
    await agent.start()
    return agent, port


async def start_caller(
    tmp: Path,
    worker_port: int,
    tone_pcap: str,
    dtmf_pcap: str | None,
    *,
    end: str,
    dtmf_after_ms: int = 3000,
    service: str = "1000",
    from_user: str = "15550001111",
    calls: int = 1,
) -> Sipp:
    """A sipp caller sending a tone; with ``dtmf_pcap``, DTMF after ``dtmf_after_ms``
    (which ends the tone: sipp plays one pcap at a time)."""
    dtmf = uac_dtmf(dtmf_pcap, dtmf_after_ms) if dtmf_pcap else ""
    scen = render_scenario(
        "uac_pcap.xml", tmp, tone_pcap=tone_pcap, dtmf=dtmf, end=end, from_user=from_user
    )
    caller = Sipp(
        scen,
        sip_port=ports.sip_block(1),
        media_port=ports.rtp_block(4),
        target=("127.0.0.1", worker_port),
        service=service,
        log_dir=tmp,
        calls=calls,
    )
    await caller.start()
    return caller


async def expect_refusal(tmp: Path, worker_port: int, code: int, timeout: float = 15) -> None:
    """One INVITE to the worker that must be answered with ``code`` (sipp exits 0)."""
    scen = render_scenario("uac_reject.xml", tmp, code=code)
    sipp = Sipp(
        scen,
        sip_port=ports.sip_block(1),
        media_port=ports.rtp_block(4),
        target=("127.0.0.1", worker_port),
        log_dir=tmp,
        timeout_s=10,
    )
    await sipp.start()
    try:
        assert await sipp.wait(timeout) == 0, sipp.errors()
    finally:
        sipp.kill()


async def start_registrar(
    tmp: Path,
    *,
    user: str,
    password: str,
    contact_re: str,
    calls: int = 1,
    realm: str = "test.local",
) -> tuple[Sipp, int]:
    """A sipp registrar (digest challenge, credential and Contact check) for ``calls``
    registrations; returns (sipp, its port)."""
    scen = render_scenario(
        "uas_registrar.xml", tmp, user=user, password=password, contact_re=contact_re, realm=realm
    )
    port = ports.sip_block(1)
    sipp = Sipp(scen, sip_port=port, media_port=ports.rtp_block(4), calls=calls, log_dir=tmp)
    await sipp.start()
    return sipp, port
