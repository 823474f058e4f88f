"""Skill requirements and their relaxation over waiting time.

A requirement is a tuple of `(skill, minimum level)` pairs: the queue's
`required_skills` merged with the call's own (the higher level wins). An agent is
eligible when it has every skill at or above the level.

Relaxation (like Asterisk queue rules or Amazon Connect routing steps): the queue lists
`RelaxStep(after_seconds, lower_by, drop)`. Once a call has waited `after_seconds` in
the queue, each required level is lowered by `lower_by` (never below 1: the skill itself
is still needed) and the skills in `drop` are no longer required. Steps accumulate.
The engine arms one timer per step and re-runs matching for the call when it fires.
"""

from __future__ import annotations

from collections.abc import Mapping

from acd.model import RelaxStep

Requirement = tuple[tuple[str, int], ...]


def requirement(
    queue_skills: Mapping[str, int],
    call_skills: Mapping[str, int],
    steps: tuple[RelaxStep, ...],
    steps_taken: int,
) -> Requirement:
    """The requirement after `steps_taken` relaxation steps, sorted by skill name."""
    merged = dict(queue_skills)
    for name, level in call_skills.items():
        merged[name] = max(level, merged.get(name, 0))
    lower = 0
    for step in steps[:steps_taken]:
        lower += step.lower_by
        for name in step.drop:
            merged.pop(name, None)
    return tuple(sorted((name, max(1, level - lower)) for name, level in merged.items()))


def eligible(skills: Mapping[str, int], req: Requirement) -> bool:
    """True when an agent with `skills` satisfies every pair of `req`."""
    get = skills.get
    for name, level in req:
        if get(name, 0) < level:
            return False
    return True
