"""Skill requirements and their relaxation over waiting time.

A requirement is a tuple of `(skill, minimum level)` pairs: the queue's
`required_skills` merged with the call's own (the higher level wins). An agent is
eligible when it has every skill at or above the level.

Relaxation (like Asterisk queue rules or Amazon Connect routing steps): the queue lists
`RelaxStep(after_seconds, lower_by, drop)`. Once a call has waited `after_seconds` in
the queue, each required level is lowered by `lower_by` (never below 1: the skill itself
is still needed) and the skills in `drop` are no longer required. Steps accumulate.
The engine arms one timer per step and re-runs matching for the call when it fires.

Across an overflow the relaxation of the call's *own* skills carries over: the call
leaves with the `Relaxation` it earned (how far its levels were lowered, which of its
skills were dropped) and the new queue can only relax them further. The new queue's
`required_skills` are that queue's business and relax with its own steps, counted from
the call's entry. So a call's requirement never tightens while it waits in a queue, and
its own part never tightens over its whole stay in the ACD (docs/acd.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from acd.model import RelaxStep

Requirement = tuple[tuple[str, int], ...]


class Relaxation(NamedTuple):
    """How far a requirement has been relaxed: levels lowered by `lower` (never below 1),
    the skills in `dropped` no longer required."""

    lower: int = 0
    dropped: frozenset[str] = frozenset()

    def widen(self, other: Relaxation) -> Relaxation:
        """The looser of both, per component (monotone: never tightens either)."""
        return Relaxation(max(self.lower, other.lower), self.dropped | other.dropped)


NO_RELAXATION = Relaxation()
_NONE: frozenset[str] = frozenset()


def relaxation(steps: tuple[RelaxStep, ...], steps_taken: int) -> Relaxation:
    """The relaxation after the first `steps_taken` steps of a queue."""
    lower, dropped = 0, _NONE
    for step in steps[:steps_taken]:
        lower += step.lower_by
        if step.drop:
            dropped = dropped | step.drop
    return Relaxation(lower, dropped)


def requirement(
    queue_skills: Mapping[str, int],
    call_skills: Mapping[str, int],
    steps: tuple[RelaxStep, ...],
    steps_taken: int,
    carried: Relaxation = NO_RELAXATION,
) -> Requirement:
    """The requirement after `steps_taken` of the queue's relaxation steps, sorted by
    skill name. `carried`: what the call's own skills earned in earlier queues."""
    lower, dropped = 0, _NONE  # relaxation(steps, steps_taken), inlined (hot path)
    for step in steps[:steps_taken]:
        lower += step.lower_by
        if step.drop:
            dropped = dropped | step.drop
    merged = dict(queue_skills)
    if lower or dropped:  # the queue's own skills relax with its steps only
        merged = {n: max(1, v - lower) for n, v in merged.items() if n not in dropped}
    lower = max(lower, carried.lower)  # the call's own skills: the looser of both (widen)
    if carried.dropped:
        dropped = dropped | carried.dropped
    get = merged.get
    for name, level in call_skills.items():
        if name not in dropped:
            level = max(1, level - lower)
            if level > get(name, 0):
                merged[name] = level
    return tuple(sorted(merged.items()))


def eligible(skills: Mapping[str, int], req: Requirement) -> bool:
    """True when an agent with `skills` satisfies every pair of `req`."""
    get = skills.get
    for name, level in req:
        if get(name, 0) < level:
            return False
    return True
