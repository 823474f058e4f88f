"""Events, commands and the timer of queued callbacks (acd.callback has the logic).

Apart from acd.events so that module can list them in `Event` without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from acd.errors import ConfigError


def _need(value: str, what: str) -> None:
    if not value:
        raise ConfigError(f"{what} must be a non-empty string")


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """A waiting caller asked to be called back: the call keeps its place in line (its
    arrival time, priority and key) but becomes a callback entry, named `callback_id`
    from now on (default: the call's id). Its ringing offers are withdrawn (the caller is
    leaving); `not_before` (engine time) holds it back."""

    call_id: str
    not_before: float | None = None
    callback_id: str = ""

    def __post_init__(self) -> None:
        _need(self.call_id, "call_id")
        if not self.callback_id:
            object.__setattr__(self, "callback_id", self.call_id)


@dataclass(frozen=True, slots=True)
class CallbackQueued:
    """Put a pending callback (back) in line at its original `arrival_time`: after a
    restart, or for a retry (`not_before` = when the retry may be dialled)."""

    call_id: str
    queue_id: str
    arrival_time: float
    priority: int = 0
    skills: Mapping[str, int] = field(default_factory=dict)
    not_before: float | None = None

    def __post_init__(self) -> None:
        _need(self.call_id, "call_id")
        _need(self.queue_id, "queue_id")
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))


@dataclass(frozen=True, slots=True)
class CallbackRescheduled:
    """Hold a pending callback back until `not_before` (a reschedule, the dialling window);
    it keeps its place, and an agent ringing for it is freed."""

    call_id: str
    not_before: float


@dataclass(frozen=True, slots=True)
class CallbackCancelled:
    """A supervisor cancelled a pending callback: it leaves its queue (not an abandon)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallbackKept:
    """Notification: `call_id` is a callback entry at `position` in `queue_id`."""

    call_id: str
    queue_id: str
    position: int


@dataclass(frozen=True, slots=True)
class CallbackRemoved:
    """Notification: a callback entry left the ACD without an agent (`reason`:
    `cancelled`, `unknown-queue`)."""

    call_id: str
    queue_id: str
    reason: str


class CallbackDueTimer(NamedTuple):
    """A held-back callback entry may be offered from now on."""

    call_id: str
    entry: int
