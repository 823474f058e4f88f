"""Benchmark: ACD engine throughput and per-event latency at contact-centre scale.

10,000 agents (each in 3 of 500 queues, 3 of 12 skills at levels 1-5), 500 queues
(mixed strategies, one required skill each, relaxation after 20 s and 40 s, 10 s
wrap-up), calls with an extra skill 30 % of the time, 5 % unanswered offers, callers
with exponential patience, agents pausing now and then. A discrete-event driver feeds
the engine at full speed; a warm-up brings it to a steady state (~85 % occupancy) before
measuring. Every engine call (events and timer firings) is timed with perf_counter_ns.

The floor is the same driver loop timing a trivial function instead of the engine, so
"engine minus floor" is the engine's own cost.

    python bench/acd_engine.py [--events 200000] [--seed 1] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import heapq
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acd import commands as cmd
from acd import events as ev
from acd.engine import Engine
from acd.errors import InvalidTransitionError
from acd.model import AgentConfig, QueueConfig, RelaxStep, Strategy

N_AGENTS, N_QUEUES, SKILLS = 10_000, 500, [f"s{i}" for i in range(12)]
AHT, WRAP, PATIENCE, RING = 300.0, 10.0, 180.0, 3.0
STRATEGIES = [Strategy.LONGEST_IDLE] * 6 + [
    Strategy.ROUND_ROBIN, Strategy.FEWEST_CALLS, Strategy.LEAST_TALK_TIME, Strategy.LINEAR,
    Strategy.RANDOM, Strategy.RING_ALL,
]  # fmt: skip


class Driver:
    def __init__(self, seed: int, handle: Callable[[Any, float], list[Any]]) -> None:
        self.rng = random.Random(seed)
        self.handle = handle
        self.heap: list[tuple[float, int, Any]] = []
        self.seq = 0
        self.latencies: list[int] = []
        self.measure = False
        self.calls = 0

    def push(self, t: float, event: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, event))

    def feed(self, event: Any, now: float) -> list[Any]:
        if self.measure:
            t0 = time.perf_counter_ns()
            out = self.handle(event, now)
            self.latencies.append(time.perf_counter_ns() - t0)
        else:
            out = self.handle(event, now)
        return out

    def react(self, out: list[Any], now: float) -> None:
        rng = self.rng
        for c in out:
            if isinstance(c, cmd.OfferCall):
                if rng.random() < 0.05:
                    self.push(now + rng.uniform(0.5, 2.0), ev.OfferFailed(c.call_id, c.agent_id))
                else:
                    self.push(now + rng.uniform(0.5, RING), ev.OfferAnswered(c.call_id, c.agent_id))
            elif isinstance(c, cmd.ConnectCall):
                self.push(now + rng.expovariate(1 / AHT), ev.ConversationEnded(c.call_id))


def setup(engine_handle: Callable[[Any, float], list[Any]], rng: random.Random) -> None:
    for q in range(N_QUEUES):
        engine_handle(ev.AddQueue(QueueConfig(
            f"q{q}", strategy=STRATEGIES[q % len(STRATEGIES)], offer_timeout=15, wrap_up=WRAP,
            required_skills={SKILLS[q % len(SKILLS)]: 1 + q % 3}, weight=q % 4, ring_all_cap=3,
            relax_steps=(RelaxStep(20, lower_by=1), RelaxStep(40, lower_by=2)),
        )), 0.0)  # fmt: skip
    for a in range(N_AGENTS):
        home = a % N_QUEUES  # every queue gets its share, plus two random ones
        queues = {f"q{home}", f"q{rng.randrange(N_QUEUES)}", f"q{rng.randrange(N_QUEUES)}"}
        skills = {SKILLS[home % len(SKILLS)]: rng.randint(2, 5)}
        skills |= {s: rng.randint(1, 5) for s in rng.sample(SKILLS, 2)}
        engine_handle(ev.AddAgent(AgentConfig(f"a{a}", tuple(sorted(queues)), skills)), 0.0)
        engine_handle(ev.AgentLogin(f"a{a}"), 0.0)


def run(handle: Callable[[Any, float], list[Any]], engine: Engine | None, n_events: int,
        seed: int, freeze: bool = True) -> Driver:  # fmt: skip
    """Drive `handle` (the engine's, or the floor's) with the same event stream shape."""
    d = Driver(seed, handle)
    rng = d.rng
    setup(handle, rng)
    if freeze:  # what a long-running control plane should do once config is loaded:
        gc.freeze()  # the 10k agents and 500 queues leave the GC's generations
    rate = N_AGENTS * 0.8 / (AHT + WRAP + RING)  # calls per second at ~85 % busy
    d.push(rng.expovariate(rate), "arrive")
    d.push(60.0, "pause")
    warmup = n_events // 2
    done = 0
    while d.heap and done < n_events + warmup:
        t, _, item = heapq.heappop(d.heap)
        if engine is not None:
            deadline = engine.next_deadline()
            while deadline is not None and deadline <= t:
                d.react(d.feed(ev.Tick(), deadline), deadline)
                done += 1
                deadline = engine.next_deadline()
        d.measure = done >= warmup
        if item == "arrive":
            d.calls += 1
            q = rng.randrange(N_QUEUES)
            extra = {rng.choice(SKILLS): 1} if rng.random() < 0.3 else {}
            event: Any = ev.CallArrived(f"c{d.calls}", f"q{q}", rng.randint(0, 1), extra)
            d.push(t + rng.expovariate(rate), "arrive")
            d.push(t + rng.expovariate(1 / PATIENCE), ev.CallerHungUp(f"c{d.calls}"))
        elif item == "pause":  # a random agent takes a break, another comes back
            event = ev.Tick()
            agent = f"a{rng.randrange(N_AGENTS)}"
            d.push(t + 1.0, "pause")
            d.push(t + 300.0, ev.AgentUnpause(agent))
            if engine is not None:
                d.react(d.feed(ev.AgentPause(agent, "break"), t), t)
                done += 1
        else:
            event = item
        with contextlib.suppress(InvalidTransitionError):  # e.g. unpausing twice
            d.react(d.feed(event, t), t)
        done += 1
    return d


class GcWatch:
    """Collects the collector's pauses (generation 2 ones are the latency spikes)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._t0))

    def summary(self) -> str:
        parts = []
        for gen in (0, 1, 2):
            p = [d for g, d in self.pauses if g == gen]
            if p:
                parts.append(
                    f"gen{gen}: {len(p)} x, total {sum(p) * 1e3:.0f} ms, max {max(p) * 1e3:.1f} ms"
                )
        return "; ".join(parts) or "none"


def percentile(data: list[int], p: float) -> float:
    return data[min(len(data) - 1, int(p * len(data)))] / 1000.0  # microseconds


def report(name: str, lat: list[int]) -> dict[str, float]:
    lat = sorted(lat)
    total = sum(lat) / 1e9
    row = {
        "events": float(len(lat)), "events_per_s": len(lat) / total,
        "mean_us": statistics.fmean(lat) / 1000, "p50_us": percentile(lat, 0.5),
        "p99_us": percentile(lat, 0.99), "p999_us": percentile(lat, 0.999),
        "max_us": lat[-1] / 1000,
    }  # fmt: skip
    print(f"{name:7s} {row['events']:9.0f} events  {row['events_per_s']:12,.0f} events/s  "
          f"mean {row['mean_us']:7.2f} us  p50 {row['p50_us']:7.2f}  p99 {row['p99_us']:7.2f}  "
          f"p99.9 {row['p999_us']:8.2f}  max {row['max_us']:9.1f}")  # fmt: skip
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the engine run")
    parser.add_argument("--no-gc-freeze", action="store_true", help="skip gc.freeze() after setup")
    args = parser.parse_args()

    engine = Engine()
    watch = GcWatch()
    gc.callbacks.append(watch)
    t0 = time.perf_counter()
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    d = run(engine.handle, engine, args.events, args.seed, freeze=not args.no_gc_freeze)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - t0
    gc.callbacks.remove(watch)
    waiting = sum(len(engine.waiting(q)) for q in engine.queue_ids())
    print(f"{N_AGENTS} agents, {N_QUEUES} queues, {len(SKILLS)} skills; "
          f"{d.calls} calls, {waiting} waiting at the end; wall {wall:.1f} s")  # fmt: skip
    eng = report("engine", d.latencies)
    print(f"GC pauses during the whole run (setup included): {watch.summary()}")

    def trivial(event: Any, now: float) -> list[Any]:
        return [event] if now < 0 else []

    floor = Driver(args.seed, trivial)
    floor.measure = True
    for i in range(len(d.latencies)):
        floor.feed(ev.Tick(), float(i))
    flo = report("floor", floor.latencies)
    print(f"engine cost above floor: mean {eng['mean_us'] - flo['mean_us']:.2f} us/event; "
          f"targets: >= 50,000 events/s {'met' if eng['events_per_s'] >= 50_000 else 'MISSED'}, "
          f"p99 < 1 ms {'met' if eng['p99_us'] < 1000 else 'MISSED'}")  # fmt: skip
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
