"""Full-stack benchmark against the bare-pjsua2 floor, in the same run (issue 13).

For each N tried, two runs of N concurrent recorded conversations with the same
codec (PCMU), the same recorders (caller and agent legs, a stereo file per call), the
same sipp carrier (440 Hz, one process) and the same sipp agents (1000 Hz, one process):

* **stack**: `contactgw run` (edge, N/2 workers, embedded broker, SQLite) with 2N
  agents registered at the edge (bench/sip_register.py: digest auth per agent, all
  Contacts at the one sipp UAS); the carrier calls the edge's DID.
* **floor**: the same N/2 pjsua2 workers in a `WorkerPool` driven by this script over
  IPC (answer with music, record, dial the agent directly, bridge, record), the
  carrier calling each worker directly (sipp `setdest` from an injection file), the
  stereo files made here after the calls.

A point is clean with 0 failed calls, RTP loss < 0.1 % and every stereo file holding
440 Hz left, 1000 Hz right and no 20 ms drop-out (bench/stereo_check.py). The knee is
the largest clean N (bench/knee.py climbs by --step, then bisects). Printed: a table
per point and JSON: knees and their ratio, CPU per process group, setup latency
(INVITE->200 at the carrier, queued->agent answered), control-plane CPU ms per call,
RSS and threads.

    heavy --exclusive .venv/bin/python bench/fullstack.py --start 64 --step 32 --limit 256
    heavy --exclusive .venv/bin/python bench/fullstack.py --quick
    heavy --exclusive .venv/bin/python bench/fullstack.py --rate 5 --rate-step 5

`--rate R` (second mode): the stack only, short calls (--short-hold-ms, 4 s) at R, R+step,
... calls/s for --rate-seconds each, until the carrier's setup p95 passes 50 ms or a call
fails; prints the largest clean rate and the busiest process group of the last step.

Loopback only; ports SIP 29000-29999, RTP 56000-63999. Every process started is stopped
on the way out. Exit status 0 when it ran (whatever the figures), 2 when it could not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import knee as kn
from bench import procstat
from bench.sip_register import register_all
from bench.stereo_check import check
from gateway.ipc import protocol as p
from gateway.supervisor import PoolConfig, PoolEvent, WorkerPool
from gateway.supervisor.priority import renice
from recordings.stereo import make_stereo
from tests.support.gateway_env import Gateway
from tests.support.ports import block
from tests.support.rtp_pcap import tone_packets, write_pcap
from tests.support.sipp import Sipp, render_scenario

SIP_RANGE, RTP_RANGE = (29000, 29999), (56000, 63999)
DID, QUEUE = "+15550109000", "bench"
SCENARIO = Path(__file__).parent / "sipp" / "carrier.xml"
AGENT = Path(__file__).parent / "sipp" / "agent.xml"
MUSIC = str(REPO / "config" / "prompts" / "music.wav")
SETDEST = '<nop><action><setdest host="127.0.0.1" port="[field0]" protocol="udp"/></action></nop>'


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Point:
    kind: str  # stack | floor
    n: int
    verdict: kn.Verdict
    seconds: float  # the measured window: first INVITE to the last file closed
    groups: dict[str, dict[str, Any]]
    invite_200_ms: dict[str, float | None]
    queued_answered_ms: dict[str, float | None]
    control_ms_per_call: float | None = None  # the control plane's CPU / N
    control_idle_core_pct: float | None = None  # before the calls, all agents idle
    control_ms_per_call_net: float | None = None  # minus the idle rate over the window
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- sipp
class Load:
    """The carrier and the agents' UAS of one point (sipp processes)."""

    def __init__(self, tmp: Path, n: int, hold_ms: int, rate: float, calls: int) -> None:
        self.tmp, self.n, self.hold_ms, self.rate, self.calls = tmp, n, hold_ms, rate, calls
        seconds = hold_ms / 1000 + calls / rate + 10
        for freq in (440, 1000):
            write_pcap(tmp / f"tone{freq}.pcap", tone_packets(freq, seconds))
        self.agent_port = block(SIP_RANGE, 1, align=1)
        self.budget = int(calls / rate + hold_ms / 1000 + 90)
        scen = render_scenario(str(AGENT), tmp, tone_pcap=tmp / "tone1000.pcap")
        self.agents = Sipp(
            scen, sip_port=self.agent_port, media_port=block(RTP_RANGE, 4), calls=calls,
            timeout_s=self.budget + 30, log_dir=tmp,
        )  # fmt: skip
        self.agents.args[self.agents.args.index("-l") + 1] = str(2 * calls)
        self.carrier: Sipp | None = None

    def carrier_for(
        self, target: tuple[str, int], worker_ports: list[int] | None, sip_port: int | None = None
    ) -> Sipp:
        dest = ""
        extra = ["-recv_timeout", "30000", "-trace_rtt", "-rtt_freq", "1"]
        if worker_ports is not None:  # the floor: two calls per worker, no edge
            dest = SETDEST
            inf = self.tmp / "workers.csv"
            inf.write_text("SEQUENTIAL\n" + "".join(f"{port};\n" for port in worker_ports))
            extra += ["-inf", str(inf)]
        scen = render_scenario(
            str(SCENARIO), self.tmp, dest=dest, pcap=self.tmp / "tone440.pcap",
            hold_ms=self.hold_ms,
        )  # fmt: skip
        sipp = Sipp(
            scen, sip_port=sip_port or block(SIP_RANGE, 1, align=1), media_port=block(RTP_RANGE, 4),
            target=target, service=DID, calls=self.calls, timeout_s=self.budget, log_dir=self.tmp,
            extra=extra,
        )  # fmt: skip
        sipp.args[sipp.args.index("-r") + 1] = f"{self.rate:g}"
        sipp.args[sipp.args.index("-l") + 1] = str(self.n)
        self.carrier = sipp
        return sipp

    def setup_ms(self) -> list[float]:
        """INVITE->200 per call from sipp's response-time trace."""
        assert self.carrier is not None
        out: list[float] = []
        # sipp writes its trace to its working directory (the bench's temp dir)
        for csv in Path.cwd().glob(f"{self.carrier.scenario.stem}_*_rtt.csv"):
            for line in csv.read_text().splitlines()[1:]:
                cells = line.split(";")
                with contextlib.suppress(ValueError, IndexError):
                    out.append(float(cells[1]))
        return out

    def counts(self) -> tuple[int, int]:
        """(successful, failed) calls of the carrier; calls the agents' sipp aborted count
        as failed too (its error file: it is killed, so it prints no summary)."""
        assert self.carrier is not None
        ok, failed = _sipp_counts(self.carrier.output.decode(errors="replace"))
        err = Path(self.agents.args[self.agents.args.index("-error_file") + 1])
        aborted = err.read_text(errors="replace").count("Aborting call") if err.exists() else 0
        return ok, failed + aborted

    async def stop(self) -> None:
        for s in (self.carrier, self.agents):
            if s is not None:
                s.kill()
                if s.proc is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(s.proc.wait(), 5)


def _sipp_counts(output: str) -> tuple[int, int]:
    import re

    def last(name: str) -> int:
        found = re.findall(rf"{name}\s*\|[^|]*\|\s*(\d+)", output)
        return int(found[-1]) if found else 0

    return last("Successful call"), last("Failed call")


def children_cpu() -> float:
    """CPU of this process's reaped children: sipp's, once it has exited (a snapshot
    at the window's end no longer sees it)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def add_sipp(groups: dict[str, dict[str, Any]], cpu_s: float, seconds: float) -> None:
    g = groups.setdefault("sipp", {"cpu_s": 0.0, "core_pct": 0.0, "procs": 0, "rss_mb": 0.0,
                                   "threads": 0})  # fmt: skip
    g["cpu_s"] = round(g["cpu_s"] + cpu_s, 2)
    g["core_pct"] = round(100 * g["cpu_s"] / seconds, 1) if seconds > 0 else 0.0


async def start_peer(sipp: Sipp, args: argparse.Namespace) -> None:
    """Start a sipp (carrier or agents) at --peer-nice: it stands for phones and a
    carrier on other machines, so it must not lose the CPU to the workers (nice -10)
    and get its RTP out late, which the recordings would show as the gateway's gaps."""
    await sipp.start()
    assert sipp.proc is not None
    renice(sipp.proc.pid, args.peer_nice)  # before sipp starts its pcap threads


def pids(*sipps: Sipp | None) -> list[int]:
    return [s.proc.pid for s in sipps if s is not None and s.proc is not None]


# --------------------------------------------------------------------------- stack
async def start_gateway(gw: Gateway, timeout: float, profile: str | None = None) -> None:
    """Gateway.start with a start-up budget that grows with the workers; ``profile``:
    run the control plane under cProfile, stats written there at exit."""
    await gw.start_registrar()
    log = gw.log_path.open("ab")
    prof = ["-m", "cProfile", "-o", profile] if profile else []
    gw.proc = await asyncio.create_subprocess_exec(
        sys.executable, *prof, "-m", "gateway.cli", "run", "--config", str(gw.config_path),
        stdout=log, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
        cwd=str(REPO),
    )  # fmt: skip
    await gw.wait_health("ok", timeout=timeout)


def _rows(db: Path) -> list[sqlite3.Row]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(
            "SELECT arrived_at, answered_at, ended_at, disposition, recording_stereo,"
            " recording_failure, rtp_quality FROM calls"
        ).fetchall()
    finally:
        con.close()


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def rtp_totals(qualities: list[dict[str, Any]]) -> tuple[int, int]:
    rx = lost = 0
    for q in qualities:
        rx += int(q.get("rx_packets", 0))
        lost += max(0, int(q.get("rx_loss", 0)))
    return rx, lost


def bench_gateway(tmp: Path, agents: list[str], workers: int) -> Gateway:
    """A gateway config for the bench: one DID to one queue, no wrap-up, pike off."""
    routing = {
        "dids": [{"number": DID, "queue": QUEUE}],
        "queues": {QUEUE: {"ring_timeout": 15, "wrapup": 0, "announcements": {"every": None}}},
        "agents": {a: {"password": f"pw-{a}", "queues": [QUEUE]} for a in agents},
    }
    overrides = {"log_level": "warning", "edge": {"pike_density": 100000}}
    return Gateway(tmp, routing, workers=workers, overrides=overrides, sip_range=SIP_RANGE,
                   rtp_range=RTP_RANGE)  # fmt: skip


async def agents_ready(
    gw: Gateway, load: Load, agents: list[str], args: argparse.Namespace
) -> None:
    """Start the agents' sipp, register every agent at the edge, wait until available."""
    await start_peer(load.agents, args)
    await register_all(
        ("127.0.0.1", gw.edge_port), "127.0.0.1",
        [(a, f"pw-{a}") for a in agents], contact_port=load.agent_port,
    )  # fmt: skip

    async def available() -> bool:
        rows = await gw.get("/agents")
        return sum(a["state"] == "available" for a in rows) == len(agents)

    await gw.wait_for(f"{len(agents)} agents available", available, timeout=60)


async def run_stack(n: int, args: argparse.Namespace, tmp: Path) -> Point:
    tmp.mkdir(parents=True)
    agents = [f"a{i:03d}" for i in range(2 * n)]
    gw = bench_gateway(tmp, agents, n // 2)
    load = Load(tmp, n, args.hold_ms, args.call_rate, n)
    try:
        await start_gateway(gw, timeout=60 + n, profile=args.profile)
        assert gw.proc is not None
        await agents_ready(gw, load, agents, args)
        roots = [gw.proc.pid, *pids(load.agents)]
        idle0, t_idle = procstat.snapshot(roots, gw.proc.pid), time.monotonic()
        await asyncio.sleep(args.idle_s)
        idle1 = procstat.snapshot(roots, gw.proc.pid)
        idle = procstat.groups(idle0, idle1, time.monotonic() - t_idle)
        carrier = load.carrier_for(("127.0.0.1", gw.edge_port), None, gw.trunk_port)
        t0, reaped = time.monotonic(), children_cpu()
        await start_peer(carrier, args)
        before = procstat.snapshot([*roots, *pids(carrier)], gw.proc.pid)
        await carrier.wait(load.budget + 10)
        db = Path(gw.config["data_dir"]) / "contactgw.db"

        async def settled() -> bool:
            rows = await asyncio.to_thread(_rows, db)
            return len(rows) >= n and all(
                r["ended_at"] and (r["disposition"] != "answered" or r["recording_stereo"]
                                   or r["recording_failure"]) for r in rows
            )  # fmt: skip

        with contextlib.suppress(AssertionError):
            await gw.wait_for("call records closed", settled, timeout=60, interval=0.5)
        after = procstat.snapshot([*roots, *pids(carrier)], gw.proc.pid)
        seconds = time.monotonic() - t0
        groups = procstat.groups(before, after, seconds)
        add_sipp(groups, children_cpu() - reaped, seconds)
        rows = await asyncio.to_thread(_rows, db)
        workers_rss = groups.get("workers", {}).get("rss_mb")
        say(f"stack N={n}: {len(rows)} records, {seconds:.0f} s, workers rss {workers_rss} MB")
    finally:
        await load.stop()
        rc = await gw.stop()
        if rc != 0:
            say(f"stack N={n}: contactgw exited {rc}; log tail:\n{gw.log(2000)}")
    ok, failed = load.counts()
    answered = [r for r in rows if r["disposition"] == "answered"]
    qualities: list[dict[str, Any]] = []
    for r in rows:
        if r["rtp_quality"]:
            qualities += [q for q in json.loads(r["rtp_quality"]).values() if isinstance(q, dict)]
    rx, lost = rtp_totals(qualities)
    files = []
    for r in answered:
        path = Path(r["recording_stereo"] or "")
        if r["recording_stereo"] and not path.is_absolute():
            path = Path(gw.config["data_dir"]) / "recordings" / path
        files.append(str(path))
    waits = [
        (_ts(r["answered_at"]) - _ts(r["arrived_at"])).total_seconds() * 1000  # type: ignore[operator]
        for r in answered
        if r["answered_at"]
    ]
    point = _point("stack", n, load, failed + (n - len(answered)), rx, lost, files, seconds,
                   groups, waits)  # fmt: skip
    cp = groups.get("control plane", {})
    point.control_ms_per_call = round(1000 * cp.get("cpu_s", 0.0) / n, 2)
    point.control_idle_core_pct = idle.get("control plane", {}).get("core_pct")
    idle_s = (point.control_idle_core_pct or 0.0) / 100 * seconds
    point.control_ms_per_call_net = round(1000 * (cp.get("cpu_s", 0.0) - idle_s) / n, 2)
    point.notes.append(f"sipp ok {ok} failed {failed}")
    return point


def _point(kind: str, n: int, load: Load, failed: int, rx: int, lost: int, files: list[str],
           seconds: float, groups: dict[str, dict[str, Any]], waits: list[float]) -> Point:  # fmt: skip
    checks = [check(f) for f in files if f and os.path.exists(f)]
    verdict = kn.Verdict(
        n=n,
        failed_calls=failed,
        loss_pct=round(kn.loss_pct(rx, lost), 3),
        files_checked=len(checks),
        dropout_files=sum(c.dropouts > 0 for c in checks),
        wrong_tone_files=sum(bool(c.wrong_tone) for c in checks),
    )
    point = Point(kind, n, verdict, round(seconds, 1), groups, kn.latency_summary(load.setup_ms()),
                  kn.latency_summary(waits))  # fmt: skip
    point.notes += sorted({c.wrong_tone for c in checks if c.wrong_tone})[:3]
    return point


# --------------------------------------------------------------------------- floor
class FloorControl:
    """The floor's stand-in control plane: per incoming call, what the gateway's call
    flow sends a worker (music, dial, linked bridge, two recorders), nothing else."""

    def __init__(self, tmp: Path, agent_port: int) -> None:
        self.tmp, self.agent_port = tmp, agent_port
        self.pool: WorkerPool | None = None
        self.arrived: dict[str, float] = {}
        self.answered: dict[str, float] = {}  # caller leg -> agent confirmed (monotonic)
        self.agent_of: dict[str, str] = {}  # agent leg -> caller leg
        self.closed: dict[str, str] = {}  # leg -> recording path
        self.quality: list[dict[str, Any]] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: list[str] = []

    def on_event(self, ev: PoolEvent) -> None:
        e = ev.event
        if isinstance(e, p.IncomingCall):
            self.arrived[e.leg] = time.monotonic()
            task = asyncio.ensure_future(self._incoming(ev.worker_id, e.leg))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif isinstance(e, p.LegStateChanged) and e.state is p.LegState.CONFIRMED:
            caller = self.agent_of.get(e.leg)
            if caller is not None:
                self.answered[caller] = time.monotonic()
                task = asyncio.ensure_future(self._connected(ev.worker_id, caller, e.leg))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        elif isinstance(e, p.RecordingClosed):
            self.closed[e.leg] = e.path
        elif isinstance(e, p.RtpQuality):
            self.quality.append({"rx_packets": e.rx_packets, "rx_loss": e.rx_loss})

    async def _incoming(self, worker: str, leg: str) -> None:
        assert self.pool is not None
        agent_leg = f"{leg}-agent"
        self.agent_of[agent_leg] = leg
        try:
            await self.pool.command(worker, p.Answer(leg, prompt=MUSIC, loop=True))
            await self.pool.command(
                worker, p.Dial(f"sip:agent@127.0.0.1:{self.agent_port}", leg=agent_leg,
                               caller_id="sip:bench@127.0.0.1", timeout=20),
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - counted as a failed call
            self.errors.append(f"{leg}: {exc!r}")

    async def _connected(self, worker: str, caller: str, agent_leg: str) -> None:
        assert self.pool is not None
        try:
            await self.pool.command(worker, p.Bridge(caller, agent_leg, linked=True))
            for leg, role in ((caller, "caller"), (agent_leg, "agent")):
                path = str(self.tmp / "rec" / f"{caller}-{role}.wav")
                await self.pool.command(worker, p.RecordStart(leg, path))
        except Exception as exc:  # noqa: BLE001 - counted as a failed call
            self.errors.append(f"{caller}: {exc!r}")


async def run_floor(n: int, args: argparse.Namespace, tmp: Path) -> Point:
    (tmp / "rec").mkdir(parents=True)
    load = Load(tmp, n, args.hold_ms, args.call_rate, n)
    sip_base = block(SIP_RANGE, n // 2, align=1)
    control = FloorControl(tmp, load.agent_port)
    pool = WorkerPool(
        PoolConfig(workers=n // 2, sip_port_base=sip_base, rtp_port_base=block(RTP_RANGE, 8 * n),
                   rtp_ports_per_worker=16, log_dir=str(tmp / "logs"), cwd=str(REPO),
                   start_timeout=60 + n),
        on_event=control.on_event,
    )  # fmt: skip
    control.pool = pool
    try:
        await pool.start()
        await start_peer(load.agents, args)
        # round robin, as the edge's dispatcher (call load) spreads them: a worker's two
        # conversations start N/2 calls apart, not in the same instant
        ports = [w.sip_port for _ in range(2) for w in pool.workers()]
        carrier = load.carrier_for(("127.0.0.1", ports[0]), ports)
        roots = [os.getpid()]
        t0, reaped = time.monotonic(), children_cpu()
        await start_peer(carrier, args)
        before = procstat.snapshot(roots, None)
        await carrier.wait(load.budget + 10)
        deadline = time.monotonic() + 30
        while len(control.closed) < 2 * len(control.answered) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        after = procstat.snapshot(roots, None)
        seconds = time.monotonic() - t0
        sipp_cpu = children_cpu() - reaped
    finally:
        await load.stop()
        await pool.stop()
    files = []
    for caller in control.answered:
        left, right = control.closed.get(caller), control.closed.get(f"{caller}-agent")
        if left and right:
            out = str(tmp / "rec" / f"{caller}-stereo.wav")
            make_stereo(left, right, out)
            files.append(out)
    ok, failed = load.counts()
    rx, lost = rtp_totals(control.quality)
    waits = [
        (control.answered[c] - control.arrived[c]) * 1000
        for c in control.answered
        if c in control.arrived
    ]
    groups = procstat.groups(before, after, seconds)
    add_sipp(groups, sipp_cpu, seconds)
    point = _point("floor", n, load, failed + (n - len(control.answered)), rx, lost, files,
                   seconds, groups, waits)  # fmt: skip
    point.notes.append(f"sipp ok {ok} failed {failed}")
    point.notes += control.errors[:3]
    return point


# --------------------------------------------------------------------------- rate mode
async def run_rate(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Short calls at a rising rate on one gateway until setup p95 > 50 ms or a failure."""
    top = args.rate + args.rate_step * (args.rate_steps - 1)
    hold_s = args.short_hold_ms / 1000
    n = int(top * (hold_s + 2)) // 2 * 2 + 2  # conversations up at the top rate
    agents = [f"a{i:03d}" for i in range(n + 8)]
    gw = bench_gateway(tmp, agents, n // 2)
    steps: list[dict[str, Any]] = []
    best: float | None = None
    try:
        await start_gateway(gw, timeout=60 + n)
        assert gw.proc is not None
        for i in range(args.rate_steps):
            rate = args.rate + i * args.rate_step
            calls = max(1, int(rate * args.rate_seconds))
            step_dir = tmp / f"rate{i}"
            step_dir.mkdir()
            load = Load(step_dir, n, args.short_hold_ms, rate, calls)
            try:
                await agents_ready(gw, load, agents, args)
                carrier = load.carrier_for(("127.0.0.1", gw.edge_port), None, gw.trunk_port)
                t0, reaped = time.monotonic(), children_cpu()
                await start_peer(carrier, args)
                roots = [gw.proc.pid, *pids(load.agents, carrier)]
                before = procstat.snapshot(roots, gw.proc.pid)
                await carrier.wait(load.budget + 10)
                after = procstat.snapshot(roots, gw.proc.pid)
                seconds = time.monotonic() - t0
                sipp_cpu = children_cpu() - reaped
            finally:
                await load.stop()
            ok, failed = load.counts()
            setup = kn.latency_summary(load.setup_ms())
            groups = procstat.groups(before, after, seconds)
            add_sipp(groups, sipp_cpu, seconds)
            box = round(sum(g["core_pct"] for g in groups.values()), 1)
            # what saturates: the box (all cores nearly busy) or the busiest group
            busiest = max(groups, key=lambda g: groups[g]["core_pct"]) if groups else None
            if box > 85 * (os.cpu_count() or 1):
                busiest = f"the CPU ({box:.0f} % of {100 * (os.cpu_count() or 1)} %)"
            step = {"rate": rate, "calls": calls, "ok": ok, "failed": failed, "setup_ms": setup,
                    "groups": groups, "busiest": busiest, "box_core_pct": box}  # fmt: skip
            steps.append(step)
            say(f"rate {rate:g}/s: ok {ok} failed {failed} setup {setup} busiest {busiest}")
            p95 = setup["p95"]
            if failed or ok < calls or p95 is None or p95 > 50:
                break
            best = rate
    finally:
        await gw.stop()
    return {"mode": "rate", "max_rate": best, "steps": steps,
            "saturated": steps[-1]["busiest"] if steps else None}  # fmt: skip


# --------------------------------------------------------------------------- report
def row(pt: Point) -> str:
    g = pt.groups
    cpu = " ".join(f"{k}={v['core_pct']:.0f}%" for k, v in sorted(g.items()))
    s, q = pt.invite_200_ms, pt.queued_answered_ms
    cp = "" if pt.control_ms_per_call is None else f" cp {pt.control_ms_per_call:.1f} ms/call"
    return (
        f"{pt.kind:5} N={pt.n:<4} {pt.verdict.why():40} loss {pt.verdict.loss_pct:.3f}% "
        f"setup p50/95/99 {s['p50']}/{s['p95']}/{s['p99']} ms, queued->answered p95 {q['p95']} "
        f"ms{cp} | {cpu}"
    )


async def knee_search(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    kinds = [k for k in ("floor", "stack") if args.only in (None, k)]
    results: dict[str, dict[int, bool]] = {k: {} for k in kinds}
    points: list[Point] = []
    deadline = time.monotonic() + args.max_seconds
    for _ in range(args.max_points):
        todo = {
            kind: kn.next_n(res, start=args.start, step=args.step, limit=args.limit,
                            resolution=args.resolution)
            for kind, res in results.items()
        }  # fmt: skip
        if all(v is None for v in todo.values()):
            break
        for kind, n in todo.items():
            if n is None or time.monotonic() > deadline:
                continue
            run = run_floor if kind == "floor" else run_stack
            say(f"--- {kind} N={n}")
            try:
                pt = await run(n, args, tmp / f"{kind}-{n}")
            except (AssertionError, RuntimeError, OSError) as exc:
                say(f"{kind} N={n} could not run: {str(exc)[-1500:]}")
                results[kind][n] = False
                continue
            points.append(pt)
            results[kind][n] = pt.verdict.clean
            say(row(pt))
        if time.monotonic() > deadline:
            say("time budget spent: the knee search stops here")
            break
    floor_knee, stack_knee = kn.knee(results.get("floor", {})), kn.knee(results.get("stack", {}))
    ratio = round(stack_knee / floor_knee, 3) if floor_knee and stack_knee else None
    return {
        "mode": "knee",
        "machine": machine(),
        "hold_ms": args.hold_ms,
        "call_rate": args.call_rate,
        "knee": {"floor": floor_knee, "stack": stack_knee, "ratio": ratio},
        "points": [asdict(pt) for pt in points],
    }


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "kernel": os.uname().release,
            "python": sys.version.split()[0]}  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: N=8 each, 4 s calls")
    ap.add_argument("--start", type=int, default=64, help="first N (even)")
    ap.add_argument("--step", type=int, default=32, help="climb by this while clean")
    ap.add_argument("--limit", type=int, default=256, help="largest N to try")
    ap.add_argument("--resolution", type=int, default=16, help="bisect down to this")
    ap.add_argument("--max-points", type=int, default=6, help="rounds of the search")
    ap.add_argument("--hold-ms", type=int, default=10000, help="call length after the answer")
    ap.add_argument("--call-rate", type=float, default=25.0, help="carrier calls/s ramp")
    ap.add_argument("--idle-s", type=float, default=4.0, help="idle window before the calls")
    ap.add_argument("--max-seconds", type=float, default=1800, help="overall budget")
    ap.add_argument("--rate", type=float, default=None, help="rate mode: first calls/s")
    ap.add_argument("--rate-step", type=float, default=5.0)
    ap.add_argument("--rate-steps", type=int, default=6)
    ap.add_argument("--rate-seconds", type=float, default=15.0, help="per step")
    ap.add_argument("--short-hold-ms", type=int, default=4000)
    ap.add_argument("--only", choices=["floor", "stack"], help="search one side only")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--peer-nice", type=int, default=-10, help="nice of the sipp peers")
    ap.add_argument("--profile", help="cProfile the control plane into this file (scratch)")
    args = ap.parse_args(argv)
    if args.quick:
        args.start, args.limit, args.max_points, args.hold_ms = 8, 8, 1, 4000
    if args.start % 2 or args.step % 2 or args.start < 2:
        ap.error("--start and --step must be even (two conversations per worker)")
    return args


async def main_async(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    os.chdir(tmp)  # sipp's trace files land here
    if args.rate is not None:
        return await run_rate(args, tmp)
    if args.only:
        other = "stack" if args.only == "floor" else "floor"
        say(f"--only {args.only}: the {other} is not run (no ratio)")
    return await knee_search(args, tmp)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="contactgw-bench-"))
    try:
        report = asyncio.run(asyncio.wait_for(main_async(args, tmp), args.max_seconds + 300))
    except (TimeoutError, RuntimeError, AssertionError, OSError) as exc:
        say(f"bench: could not run: {str(exc)[-2000:]!s} (kept {tmp})")
        return 2
    print(json.dumps(report, indent=1, default=str))
    if "knee" in report:
        k = report["knee"]
        print(f"knee: floor {k['floor']}, stack {k['stack']}, ratio {k['ratio']}")
    else:
        print(
            f"max sustained rate: {report['max_rate']} calls/s (saturated: {report['saturated']})"
        )
    if args.keep:
        say(f"bench: kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
