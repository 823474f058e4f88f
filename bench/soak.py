"""Soak check: hundreds of short calls through a running gateway; the control plane's
memory must not grow with them.

A throw-away gateway (`contactgw run`, 127.0.0.1 only, config in a temp dir) is started
the way the e2e tests start it (tests/support/gateway_env.py): sipp is the carrier (a
registrar with digest auth for the trunk, and the caller streaming 440 Hz), pjsua2 test
phones (tests/support/agent_ua.py) are the agents, registered at the edge, answering
after 0.2 s, with no wrap-up. There are two more agents than caller slots
(workers x callers_per_worker), so a call never waits for an agent, and sipp never has
more calls up than there are slots (`-l`), so none is refused for capacity.

1. start the gateway and the phones, wait until every agent is available;
2. warm-up: `--warmup` calls (default 50), wait until they have settled (no call up, no
   slot in use, call records closed, stereo files written), then sample the control
   plane's RSS (VmRSS of `contactgw run`, median of 5 samples over 2 s): rss_warm;
3. the measured batch: `--calls` calls (default 500) at `--rate` calls/s, each held
   `--hold-ms` after the answer, settle again, sample again: rss_end;
4. report calls attempted / answered / failed (sipp's own count, and the gateway's from
   `contactgw_calls_total` in /metrics and GET /cdr), the RSS figures, the growth per call
   (end minus warm, and the least-squares trend of RSS samples taken every 5 s during the
   batch) and durations; the last line is `rss_growth_mb=<rss_end - rss_warm>`.

Exit status: 0 if the growth is below `--max-growth-mb` (5) and the gateway answered
every measured call and the trend is below `--max-kb-per-call` (4 KB: the old event-queue
leak was ~7 KB per call, which 500 calls alone would not have pushed past 5 MB);
1 if a check fails (the reason is printed); 2 if the soak could not run (gateway or phones
did not start, the overall `--max-seconds` budget was exceeded).
Every process it starts (gateway, which stops its workers and edge; phones; sipp) is
stopped on the way out, also on failure, Ctrl-C or SIGTERM.

    python bench/soak.py [--calls 500] [--rate 3] [--workers 4] [--hold-ms 2000]
                         [--warmup 50] [--json] [--gateway-src DIR] [--keep]

`--gateway-src DIR` runs `contactgw run` from another checkout (e.g. a `git worktree` of
an older commit) while the harness stays this one: a before/after comparison.
Ports: SIP 28000-28999, RTP 54000-55999 on 127.0.0.1 (the test suites use other ranges).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.agent_ua_client import AgentProcess
from tests.support.gateway_env import Gateway, start_phone
from tests.support.ports import block
from tests.support.sipp import Sipp, render_scenario

SIP_RANGE, RTP_RANGE = (28000, 28999), (54000, 55999)
DID, QUEUE = "+15550107000", "soak"
CALLERS_PER_WORKER = 2  # the harness's workers.callers_per_worker


class SoakError(Exception):
    """The soak could not run (as opposed to a check that failed)."""


@dataclass
class Batch:
    calls: int
    sipp_rc: int = -1
    created: int = 0
    successful: int = 0
    failed: int = 0
    seconds: float = 0.0
    # (calls ended so far, control-plane VmRSS MB), sampled every few seconds
    samples: list[tuple[int, float]] = field(default_factory=list)

    def slope_kb_per_call(self) -> float | None:
        """Least-squares RSS growth per call over the batch (None: too few samples)."""
        xs = [float(x) for x, _ in self.samples]
        if len(set(xs)) < 3:
            return None
        fit = statistics.linear_regression(xs, [y for _, y in self.samples])
        return fit.slope * 1024


@dataclass
class Report:
    gateway_src: str
    gateway_commit: str
    workers: int
    rate: float
    hold_ms: int
    warmup: Batch
    measured: Batch
    answered: int = 0  # by the gateway, in the measured batch (contactgw_calls_total)
    dispositions: dict[str, int] = field(default_factory=dict)
    cdr_answered: int = 0  # in GET /cdr over the measured batch (up to 1000 rows)
    rss_start_mb: float = 0.0
    rss_warm_mb: float = 0.0
    rss_end_mb: float = 0.0
    anon_warm_mb: float = 0.0
    anon_end_mb: float = 0.0
    pss_warm_mb: float = 0.0
    pss_end_mb: float = 0.0
    duration_s: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_warm_mb


# --------------------------------------------------------------------------- memory
def _kb(path: Path, key: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise SoakError(f"{path}: no {key}")


async def rss_mb(pid: int, samples: int = 5, interval: float = 0.5) -> tuple[float, float, float]:
    """Median VmRSS, RssAnon (the heap: what a leak grows) and Pss (MB) of `pid` over a
    few samples (one GC or arena burst does not decide the figure)."""
    rss, anon, pss = [], [], []
    for i in range(samples):
        if i:
            await asyncio.sleep(interval)
        status = Path(f"/proc/{pid}/status")
        rss.append(_kb(status, "VmRSS"))
        anon.append(_kb(status, "RssAnon"))
        pss.append(_kb(Path(f"/proc/{pid}/smaps_rollup"), "Pss"))
    mb = [statistics.median(x) / 1024 for x in (rss, anon, pss)]
    return mb[0], mb[1], mb[2]


# --------------------------------------------------------------------------- gateway
def routing(agents: int) -> dict[str, Any]:
    users = {f"soak{n:02d}": {"password": f"pw-{n:02d}", "queues": [QUEUE]} for n in range(agents)}
    return {
        "dids": [{"number": DID, "queue": QUEUE}],
        "queues": {QUEUE: {"ring_timeout": 10, "wrapup": 0, "announcements": {"every": None}}},
        "agents": users,
    }


def commit_of(src: Path) -> str:
    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-C", str(src), *args], capture_output=True, text=True, check=False
        )
        return out.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "gateway", "acd")
    return commit + ("+uncommitted" if dirty else "")


async def calls_by_disposition(gw: Gateway) -> dict[str, int]:
    text = (await gw.api.get("/metrics")).text
    out: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("contactgw_calls_total{"):
            m = re.search(r'disposition="([^"]*)"', line)
            if m:
                out[m[1]] = out.get(m[1], 0) + int(float(line.rsplit(" ", 1)[1]))
    return out


async def all_available(gw: Gateway, agents: int, timeout: float) -> None:
    async def probe() -> bool:
        rows = await gw.get("/agents")
        return len(rows) == agents and all(a["state"] == "available" for a in rows)

    await gw.wait_for(f"all {agents} agents available", probe, timeout=timeout)


async def settle(gw: Gateway, timeout: float = 60) -> None:
    """Until no call is up, no worker slot is in use and the latest call records are
    closed with their stereo files; then a few quiet seconds."""

    async def probe() -> bool:
        if await gw.get("/calls"):
            return False
        if int((await gw.get("/health"))["workers"]["slots_in_use"]):
            return False
        rows = await gw.get("/cdr?limit=20")
        return all(
            r["ended_at"] and (r["disposition"] != "answered" or r["recording_stereo"])
            for r in rows
        )

    await gw.wait_for("calls to settle", probe, timeout=timeout, interval=0.5)
    await asyncio.sleep(3)


def sipp_counts(output: str) -> tuple[int, int, int]:
    def cumulative(name: str) -> int:
        found = re.findall(rf"{name}\s*\|[^|]*\|\s*(\d+)", output)
        return int(found[-1]) if found else 0

    return (
        cumulative("Total Calls created"),
        cumulative("Successful call"),
        cumulative("Failed call"),
    )


async def run_batch(gw: Gateway, n: int, args: argparse.Namespace, label: str) -> Batch:
    batch = Batch(n)
    scenario = render_scenario(
        "trunk_call.xml",
        gw.tmp,
        pcap=gw.pcap(440, seconds=args.hold_ms / 1000 + 1),
        hold_ms=args.hold_ms,
        caller="+15551237000",
    )
    budget = int(n / args.rate + 60)
    sipp = Sipp(
        scenario,
        sip_port=gw.trunk_port,
        media_port=block(gw.rtp_range, 4),
        target=("127.0.0.1", gw.edge_port),
        service=DID,
        calls=n,
        timeout_s=budget,
        log_dir=gw.tmp,
        extra=["-recv_timeout", "20000"],  # a call stuck waiting for a reply fails
    )
    sipp.args[sipp.args.index("-r") + 1] = f"{args.rate:g}"
    sipp.args[sipp.args.index("-l") + 1] = str(args.workers * CALLERS_PER_WORKER)
    t0 = time.monotonic()
    progress = asyncio.ensure_future(_sample(gw, batch, label))
    try:
        await sipp.start()
        batch.sipp_rc = await sipp.wait(budget + 10)
    finally:
        progress.cancel()
        sipp.kill()
        if sipp.proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sipp.proc.wait(), 5)
    batch.seconds = time.monotonic() - t0
    batch.created, batch.successful, batch.failed = sipp_counts(
        sipp.output.decode(errors="replace")
    )
    if batch.sipp_rc != 0:
        _say(f"{label}: sipp exit {batch.sipp_rc}; last errors:\n{sipp.errors()[-1500:]}")
    return batch


async def _sample(gw: Gateway, batch: Batch, label: str, every: float = 5) -> None:
    """RSS against calls ended during a batch (for the trend); progress every 30 s."""
    assert gw.proc is not None
    start = sum((await calls_by_disposition(gw)).values())
    for tick in itertools.count(1):
        await asyncio.sleep(every)
        with contextlib.suppress(httpx.HTTPError, OSError, SoakError):
            done = sum((await calls_by_disposition(gw)).values()) - start
            rss, _, _ = await rss_mb(gw.proc.pid, samples=1)
            batch.samples.append((done, rss))
            if tick % round(30 / every) == 0:
                _say(f"{label}: {done}/{batch.calls} calls ended, control plane rss {rss:.1f} MB")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- soak
async def soak(args: argparse.Namespace, tmp: Path) -> Report:
    t0 = time.monotonic()
    src = Path(args.gateway_src).resolve()
    agents = args.workers * CALLERS_PER_WORKER + 2
    report = Report(
        str(src), commit_of(src), args.workers, args.rate, args.hold_ms, Batch(0), Batch(0)
    )
    gw = Gateway(
        tmp,
        routing(agents),
        workers=args.workers,
        src=src,
        sip_range=SIP_RANGE,
        rtp_range=RTP_RANGE,
    )
    phones: list[AgentProcess] = []
    try:
        _say(f"soak: gateway from {src} ({report.gateway_commit}), {args.workers} workers")
        try:
            await gw.start()
        except AssertionError as exc:
            raise SoakError(f"the gateway did not start: {exc}") from None
        assert gw.proc is not None
        pid = gw.proc.pid
        started = await asyncio.gather(
            *(start_phone(gw, user, tone=1000, answer_after=0.2) for user in gw.config["agents"]),
            return_exceptions=True,
        )
        phones = [p for p in started if isinstance(p, AgentProcess)]
        if len(phones) < agents:
            errors = [repr(e) for e in started if not isinstance(e, AgentProcess)]
            raise SoakError(f"{agents - len(phones)} phones did not start: {errors[:3]}")
        try:
            await all_available(gw, agents, timeout=30)
        except AssertionError as exc:
            raise SoakError(str(exc)[:2000]) from None
        report.rss_start_mb, _, _ = await rss_mb(pid)
        _say(f"soak: {agents} agents available; control plane pid {pid}")

        report.warmup = await run_batch(gw, args.warmup, args, "warm-up")
        await settle(gw)
        before = await calls_by_disposition(gw)
        report.rss_warm_mb, report.anon_warm_mb, report.pss_warm_mb = await rss_mb(pid)
        _say(f"soak: warm-up done, rss {report.rss_warm_mb:.1f} MB")

        report.measured = await run_batch(gw, args.calls, args, "soak")
        await settle(gw)
        report.rss_end_mb, report.anon_end_mb, report.pss_end_mb = await rss_mb(pid)
        after = await calls_by_disposition(gw)
        report.dispositions = {
            k: after.get(k, 0) - before.get(k, 0) for k in after if after[k] != before.get(k, 0)
        }
        report.answered = report.dispositions.get("answered", 0)
        rows = await gw.get(f"/cdr?limit={min(args.calls, 1000)}")
        report.cdr_answered = sum(r["disposition"] == "answered" for r in rows)
    finally:
        await asyncio.gather(*(phone.stop() for phone in phones), return_exceptions=True)
        rc = await gw.stop()
        if rc != 0:
            _say(f"soak: contactgw exited {rc}; log tail:\n{gw.log(3000)}")
    report.duration_s = time.monotonic() - t0
    if report.rss_growth_mb >= args.max_growth_mb:
        report.failures.append(
            f"control-plane RSS grew {report.rss_growth_mb:.1f} MB over {args.calls} calls "
            f"(limit {args.max_growth_mb:g} MB)"
        )
    trend = report.measured.slope_kb_per_call()
    if args.max_kb_per_call is not None and (trend is None or trend >= args.max_kb_per_call):
        report.failures.append(
            f"control-plane RSS trend {trend} KB/call over the batch"
            f" (limit {args.max_kb_per_call:g} KB/call)"
        )
    if report.answered < args.calls:
        report.failures.append(
            f"the gateway answered {report.answered} of {args.calls} calls "
            f"(dispositions {report.dispositions}, sipp failed {report.measured.failed})"
        )
    return report


def print_report(report: Report, as_json: bool) -> None:
    w, m = report.warmup, report.measured
    head = (
        f"gateway: {report.gateway_src} @ {report.gateway_commit}, {report.workers} workers,"
        f" {report.rate:g} calls/s, hold {report.hold_ms} ms"
    )
    lines = [head]
    lines.append(
        f"warm-up: {w.calls} calls in {w.seconds:.0f} s (sipp: created {w.created},"
        f" successful {w.successful}, failed {w.failed})"
    )
    lines.append(
        f"measured: {m.calls} calls in {m.seconds:.0f} s (sipp: created {m.created},"
        f" successful {m.successful}, failed {m.failed}, exit {m.sipp_rc})"
    )
    lines.append(
        f"gateway: answered {report.answered} (by disposition {report.dispositions});"
        f" /cdr answered {report.cdr_answered}"
    )
    lines.append(
        f"rss_start_mb={report.rss_start_mb:.1f} rss_warm_mb={report.rss_warm_mb:.1f}"
        f" rss_end_mb={report.rss_end_mb:.1f}"
        f" (anon {report.anon_warm_mb:.1f} -> {report.anon_end_mb:.1f},"
        f" pss {report.pss_warm_mb:.1f} -> {report.pss_end_mb:.1f})"
    )
    trend = report.measured.slope_kb_per_call()
    lines.append(
        f"rss_per_call_kb={report.rss_growth_mb * 1024 / max(1, m.calls):.1f}"
        f" (trend over the batch {'n/a' if trend is None else f'{trend:.1f}'} KB/call)"
    )
    lines.append(f"duration_s={report.duration_s:.0f}")
    lines += [f"FAIL: {f}" for f in report.failures]
    if not report.failures:
        lines.append("OK")
    print("\n".join(lines))
    if as_json:
        data = asdict(report) | {
            "rss_growth_mb": round(report.rss_growth_mb, 1),
            "rss_trend_kb_per_call": trend,
        }
        print(json.dumps(data, sort_keys=True))
    print(f"rss_growth_mb={report.rss_growth_mb:.1f}", flush=True)


async def main_async(args: argparse.Namespace, tmp: Path) -> Report:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with asyncio.timeout(args.max_seconds):
            return await soak(args, tmp)
    except TimeoutError:
        raise SoakError(f"the soak overran its budget of {args.max_seconds:g} s") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--calls", type=int, default=500, help="measured calls (default 500)")
    ap.add_argument("--warmup", type=int, default=50, help="warm-up calls (default 50)")
    ap.add_argument("--rate", type=float, default=3.0, help="calls per second (default 3)")
    ap.add_argument("--hold-ms", type=int, default=2000, help="call length after the answer")
    ap.add_argument("--workers", type=int, default=4, help="gateway workers (default 4)")
    ap.add_argument("--max-growth-mb", type=float, default=5.0)
    ap.add_argument(
        "--max-kb-per-call",
        type=float,
        default=4.0,
        help="also fail if RSS grows this much per call over the batch (least squares; "
        "default 4 KB)",
    )
    ap.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="overall time budget (default 180 s + 1.5 x the calls' nominal duration)",
    )
    ap.add_argument("--gateway-src", default=str(REPO), help="checkout to run contactgw from")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, records)")
    args = ap.parse_args(argv)
    if args.calls < 1 or args.warmup < 1 or args.rate <= 0 or args.workers < 1:
        ap.error("--calls, --warmup, --rate and --workers must be positive")
    if args.max_seconds is None:
        args.max_seconds = 180 + 1.5 * (args.warmup + args.calls) / args.rate
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="contactgw-soak-"))
    try:
        report = asyncio.run(main_async(args, tmp))
    except SoakError as exc:
        _say(f"soak: could not run: {exc}\n(logs kept in {tmp})")
        return 2
    except (AssertionError, httpx.HTTPError) as exc:  # a wait timed out, the API went away
        _say(f"soak: could not run: {str(exc)[-3000:] or repr(exc)}\n(logs kept in {tmp})")
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        _say(f"soak: interrupted (logs kept in {tmp})")
        return 130
    print_report(report, args.json)
    if report.failures or args.keep:
        _say(f"soak: logs, config and call records kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
