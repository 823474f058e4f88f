"""Configuration model of the ACD: queues, agents, overflow targets, engine settings.

These are immutable values. The gateway builds them from YAML/database rows and hands
them to the engine with `AddQueue`/`UpdateQueue`/`AddAgent`/`UpdateAgent` events; the
engine keeps its own mutable runtime records (acd.runtime) next to them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from acd.errors import ConfigError


class Strategy(enum.Enum):
    """How a queue picks among the idle agents eligible for a call (acd.strategies)."""

    LONGEST_IDLE = "longest-idle"
    ROUND_ROBIN = "round-robin"
    FEWEST_CALLS = "fewest-calls"
    LEAST_TALK_TIME = "least-talk-time"
    LINEAR = "linear"
    RANDOM = "random"
    RING_ALL = "ring-all"


class JoinPolicy(enum.Enum):
    """When a caller may join a queue (Asterisk `joinempty`, simplified)."""

    ALWAYS = "always"
    IF_LOGGED_IN = "if-logged-in"  # some member is logged in (paused counts)
    IF_UNPAUSED = "if-unpaused"  # some member is logged in and not paused


class LeavePolicy(enum.Enum):
    """When queued callers are sent to overflow because the queue emptied (`leavewhenempty`)."""

    NEVER = "never"
    IF_NO_LOGGED_IN = "if-no-logged-in"
    IF_ALL_PAUSED = "if-all-paused"  # nobody logged in and unpaused


class TerminalAction(enum.Enum):
    """An exit the gateway carries out once the call leaves the ACD."""

    VOICEMAIL = "voicemail"
    CALLBACK_OFFER = "callback-offer"
    ANNOUNCE_HANGUP = "announce-hangup"
    HANGUP = "hangup"


@dataclass(frozen=True, slots=True)
class QueueTarget:
    """Overflow into another queue; the call keeps its original arrival time."""

    queue_id: str


@dataclass(frozen=True, slots=True)
class TerminalTarget:
    """Overflow out of the ACD; `argument` is e.g. a mailbox or a prompt name."""

    action: TerminalAction
    argument: str = ""


OverflowTarget = QueueTarget | TerminalTarget


@dataclass(frozen=True, slots=True)
class RelaxStep:
    """After `after_seconds` in the queue, lower every required level by `lower_by`
    (never below 1) and stop requiring the skills in `drop`. Steps accumulate."""

    after_seconds: float
    lower_by: int = 0
    drop: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.after_seconds <= 0 or self.lower_by < 0:
            raise ConfigError(f"bad relax step {self!r}", hint="after_seconds > 0, lower_by >= 0")


def _frozen_levels(levels: Mapping[str, int], what: str) -> Mapping[str, int]:
    for name, level in levels.items():
        if not name or not isinstance(level, int) or level < 1:
            raise ConfigError(
                f"{what}: skill {name!r} level {level!r}", hint="levels are ints >= 1"
            )
    return MappingProxyType(dict(levels))


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue. Times are seconds; `None` disables a limit."""

    queue_id: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    offer_timeout: float = 15.0  # ring time per offer
    wrap_up: float = 0.0  # agent wrap-up after each conversation
    max_wait: float | None = None
    max_length: int | None = None
    service_level_seconds: float = 20.0
    short_abandon_seconds: float = 5.0
    weight: int = 0  # across queues an agent serves the heavier queue first
    join: JoinPolicy = JoinPolicy.ALWAYS
    leave: LeavePolicy = LeavePolicy.NEVER
    overflow: OverflowTarget | None = None  # None: divert to HANGUP
    required_skills: Mapping[str, int] = field(default_factory=dict)
    relax_steps: tuple[RelaxStep, ...] = ()
    ring_all_cap: int = 10  # parallel offers per call with Strategy.RING_ALL
    announce_every: float | None = None  # position/EWT announcements period

    def __post_init__(self) -> None:
        if not self.queue_id:
            raise ConfigError("queue_id must be non-empty")
        if self.offer_timeout <= 0 or self.wrap_up < 0 or self.service_level_seconds < 0:
            raise ConfigError(f"queue {self.queue_id}: timeouts must be positive")
        if self.max_wait is not None and self.max_wait <= 0:
            raise ConfigError(f"queue {self.queue_id}: max_wait must be > 0")
        if self.max_length is not None and self.max_length < 0:
            raise ConfigError(f"queue {self.queue_id}: max_length must be >= 0")
        if self.announce_every is not None and self.announce_every <= 0:
            raise ConfigError(f"queue {self.queue_id}: announce_every must be > 0")
        if self.ring_all_cap < 1:
            raise ConfigError(f"queue {self.queue_id}: ring_all_cap must be >= 1")
        if self.overflow == QueueTarget(self.queue_id):
            raise ConfigError(f"queue {self.queue_id} overflows into itself")
        object.__setattr__(
            self, "required_skills", _frozen_levels(self.required_skills, self.queue_id)
        )
        steps = tuple(sorted(self.relax_steps, key=lambda s: s.after_seconds))
        object.__setattr__(self, "relax_steps", steps)


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """One agent: the queues it serves, its skills (name -> proficiency level >= 1) and its
    `rank` in LINEAR hunting (lower rings first; ties by agent_id)."""

    agent_id: str
    queues: tuple[str, ...] = ()
    skills: Mapping[str, int] = field(default_factory=dict)
    rank: int = 0

    def __post_init__(self) -> None:
        if not self.agent_id:
            raise ConfigError("agent_id must be non-empty")
        object.__setattr__(self, "queues", tuple(dict.fromkeys(self.queues)))
        object.__setattr__(self, "skills", _frozen_levels(self.skills, self.agent_id))


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Engine-wide knobs."""

    no_answer_pause_after: int = 3  # consecutive failed offers -> paused("no-answer")
    kpi_retention_seconds: float = 3600.0  # longest KPI window that can be asked for
    max_overflow_hops: int = 8  # guards against overflow loops between queues
    seed: int = 0  # for Strategy.RANDOM

    def __post_init__(self) -> None:
        if self.no_answer_pause_after < 1 or self.max_overflow_hops < 1:
            raise ConfigError("no_answer_pause_after and max_overflow_hops must be >= 1")
        if not math.isfinite(self.kpi_retention_seconds) or self.kpi_retention_seconds <= 0:
            raise ConfigError("kpi_retention_seconds must be a positive number")
