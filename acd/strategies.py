"""Agent selection strategies.

The engine hands `pick()` the idle agents eligible for a call, already in
longest-idle-first order (the queue's idle index is sorted by idle-since time), and
gets back the agents to ring: one, or up to `ring_all_cap` for RING_ALL.

- LONGEST_IDLE: the agent whose last conversation ended longest ago (login counts as
  the end of a conversation). The engine short-cuts this one: first eligible wins.
- ROUND_ROBIN: "rrmemory": the member after the one rung last, in (rank, agent_id) order.
- FEWEST_CALLS: fewest calls answered from this queue; ties longest idle.
- LEAST_TALK_TIME: least cumulative talk time (all queues); ties longest idle.
- LINEAR: lowest (rank, agent_id) first ("top-down" hunting).
- RANDOM: uniform, from the engine's seeded generator (deterministic per seed).
- RING_ALL: up to `ring_all_cap` agents at once, longest idle first; first answer wins.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from acd.model import Strategy

if TYPE_CHECKING:
    from acd.runtime import AgentRt, QueueRt


def pick(queue: QueueRt, candidates: list[AgentRt], rng: random.Random) -> list[AgentRt]:
    """Agents to offer the call to (empty only when `candidates` is)."""
    if not candidates:
        return []
    strategy = queue.config.strategy
    if strategy is Strategy.LONGEST_IDLE:
        return candidates[:1]
    if strategy is Strategy.RING_ALL:
        return candidates[: queue.config.ring_all_cap]
    if strategy is Strategy.RANDOM:
        return [rng.choice(candidates)]
    if strategy is Strategy.LINEAR:
        return [min(candidates, key=lambda a: (a.config.rank, a.agent_id))]
    if strategy is Strategy.FEWEST_CALLS:
        counts = queue.calls_by_agent
        # min() keeps the first of equals: candidates are longest-idle first.
        return [min(candidates, key=lambda a: counts.get(a.agent_id, 0))]
    if strategy is Strategy.LEAST_TALK_TIME:
        return [min(candidates, key=lambda a: a.talk_time)]
    if strategy is Strategy.ROUND_ROBIN:
        order = queue.rr_order()
        n = len(order)
        last = queue.rr_last
        return [min(candidates, key=lambda a: (order[a.agent_id] - last - 1) % n)]
    raise AssertionError(strategy)  # pragma: no cover - exhaustive
