"""Discrete-event simulation of one queue, driving the real engine.

Model (the Erlang C / Erlang A assumptions): Poisson arrivals, exponential handle times,
optionally exponential patience, N identical agents serving one LONGEST_IDLE queue with
no wrap-up; agents answer offers instantly. The driver keeps its own event heap (arrival,
caller hang-up, conversation end), merges it with `engine.next_deadline()`, and turns
engine commands into the next events: `OfferCall` -> `OfferAnswered` at the same instant,
`ConnectCall` -> a conversation end after Exp(aht).

Measured over calls after a warm-up (the first `warmup` arrivals are not counted, so the
empty start does not bias the estimates); every counted call is followed to its outcome:
- service_level: answered within `sl_seconds` / counted calls (abandons are failures)
- p_wait: calls that could not be answered on arrival / counted calls
- asa_seconds: mean wait of answered calls; abandon_rate: abandoned / counted calls
- occupancy: talk time of counted calls / (agents x their arrival span)
The engine is deterministic and so is the driver: same config, same result. The optional
`clock` (e.g. time.perf_counter, injected by the CLI: acd reads no clock) times the
engine calls for `engine_events_per_second`.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass

from acd import commands as cmd
from acd import events as ev
from acd.engine import Engine
from acd.errors import ConfigError
from acd.model import AgentConfig, EngineSettings, QueueConfig

_ARRIVE, _HANG_UP, _END = 0, 1, 2
QUEUE_ID = "sim"


@dataclass(frozen=True, slots=True)
class SimConfig:
    agents: int
    arrivals_per_hour: float
    aht: float
    sl_seconds: float = 20.0
    patience: float | None = None  # mean seconds; None: callers never abandon
    calls: int = 100_000
    seed: int = 1
    warmup: int | None = None  # default: calls // 20

    def __post_init__(self) -> None:
        if self.agents < 1 or self.arrivals_per_hour <= 0 or self.aht <= 0 or self.calls < 1:
            raise ConfigError("agents, arrivals_per_hour, aht and calls must be positive")
        if self.patience is not None and self.patience <= 0:
            raise ConfigError("patience must be positive")


@dataclass(frozen=True, slots=True)
class SimResult:
    calls: int  # counted calls (after warm-up)
    answered: int
    abandoned: int
    service_level: float
    p_wait: float
    asa_seconds: float
    occupancy: float
    abandon_rate: float
    engine_events: int
    engine_events_per_second: float | None
    simulated_seconds: float

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


class _Driver:
    def __init__(self, cfg: SimConfig, clock: Callable[[], float] | None) -> None:
        self.cfg = cfg
        self.clock = clock
        self.rng = random.Random(cfg.seed)
        self.engine = Engine(EngineSettings(seed=cfg.seed))
        self.heap: list[tuple[float, int, int, int]] = []
        self.seq = 0
        self.engine_events = 0
        self.engine_seconds = 0.0
        self.arrival: dict[str, float] = {}
        self.index: dict[str, int] = {}
        self.waits: dict[int, float] = {}  # counted call -> wait, if answered
        self.abandoned: set[int] = set()
        self.talk = 0.0
        self.now = 0.0

    def push(self, t: float, kind: int, call: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, call))

    def feed(self, event: ev.Event, now: float) -> None:
        pending: list[ev.Event] = [event]
        engine, clock = self.engine, self.clock
        while pending:
            e = pending.pop()
            if clock is not None:
                t0 = clock()
                out = engine.handle(e, now)
                self.engine_seconds += clock() - t0
            else:
                out = engine.handle(e, now)
            self.engine_events += 1
            for c in out:
                if isinstance(c, cmd.OfferCall):
                    pending.append(ev.OfferAnswered(c.call_id, c.agent_id))
                elif isinstance(c, cmd.ConnectCall):
                    self.connected(c, now)
                elif isinstance(c, cmd.CallAbandoned):
                    self.abandoned.add(self.index[c.call_id])

    def connected(self, c: cmd.ConnectCall, now: float) -> None:
        i = self.index[c.call_id]
        talk = self.rng.expovariate(1.0 / self.cfg.aht)
        self.push(now + talk, _END, i)
        if i >= self.warmup:
            self.waits[i] = c.wait_seconds
            self.talk += talk

    def run(self) -> SimResult:
        cfg = self.cfg
        self.warmup = cfg.calls // 20 if cfg.warmup is None else cfg.warmup
        total = cfg.calls + self.warmup
        engine = self.engine
        engine.handle(ev.AddQueue(QueueConfig(QUEUE_ID, offer_timeout=60.0)), 0.0)
        for k in range(cfg.agents):
            engine.handle(ev.AddAgent(AgentConfig(f"agent-{k}", (QUEUE_ID,))), 0.0)
            engine.handle(ev.AgentLogin(f"agent-{k}"), 0.0)
        rate = cfg.arrivals_per_hour / 3600.0
        self.push(self.rng.expovariate(rate), _ARRIVE, 0)
        first = last = 0.0
        while self.heap:
            t, _, kind, i = heapq.heappop(self.heap)
            deadline = engine.next_deadline()
            while deadline is not None and deadline <= t:
                self.feed(ev.Tick(), deadline)
                deadline = engine.next_deadline()
            self.now = t
            call_id = f"call-{i}"
            if kind == _ARRIVE:
                if i == self.warmup:
                    first = t
                last = t
                self.index[call_id] = i
                if i + 1 < total:
                    self.push(t + self.rng.expovariate(rate), _ARRIVE, i + 1)
                if cfg.patience is not None:
                    self.push(t + self.rng.expovariate(1.0 / cfg.patience), _HANG_UP, i)
                self.feed(ev.CallArrived(call_id, QUEUE_ID), t)
            elif kind == _HANG_UP:
                view = engine.call(call_id)
                if view is not None and view.agent_id is None:  # still waiting
                    self.feed(ev.CallerHungUp(call_id), t)
            else:
                self.feed(ev.ConversationEnded(call_id), t)
        return self.result(first, last)

    def result(self, first: float, last: float) -> SimResult:
        cfg = self.cfg
        n = cfg.calls
        abandoned = sum(1 for i in self.abandoned if i >= self.warmup)
        waited = sum(1 for w in self.waits.values() if w > 0.0) + abandoned
        in_sl = sum(1 for w in self.waits.values() if w <= cfg.sl_seconds)
        answered = len(self.waits)
        span = max(last - first, 1e-9)
        eps = self.engine_events / self.engine_seconds if self.engine_seconds > 0 else None
        return SimResult(
            calls=n,
            answered=answered,
            abandoned=abandoned,
            service_level=in_sl / n,
            p_wait=waited / n,
            asa_seconds=sum(self.waits.values()) / answered if answered else 0.0,
            occupancy=self.talk / (cfg.agents * span),
            abandon_rate=abandoned / n,
            engine_events=self.engine_events,
            engine_events_per_second=eps,
            simulated_seconds=self.now,
        )


def simulate(cfg: SimConfig, clock: Callable[[], float] | None = None) -> SimResult:
    """Run the simulation described by `cfg` (see the module docstring)."""
    return _Driver(cfg, clock).run()
