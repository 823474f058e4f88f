"""Errors raised by the ACD engine.

    AcdError                  base class; every error carries a `hint` for the operator
    ├── ConfigError           a queue/agent/settings value is invalid or refers to nothing
    ├── UnknownEntityError    an event names a queue or agent the engine does not know
    ├── InvalidTransitionError an event is not allowed in the entity's current state
    └── ClockError            `now` went backwards

Call-related races that the gateway cannot avoid (a caller hanging up after being
diverted, an answer arriving after the engine cancelled the offer) are *not* errors:
the engine ignores them or answers with a corrective command (see docs/acd.md).
"""

from __future__ import annotations


class AcdError(Exception):
    """Base class of all ACD engine errors."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (hint: {self.hint})" if self.hint else base


class ConfigError(AcdError):
    """A configuration value is invalid."""


class UnknownEntityError(AcdError):
    """An event refers to a queue or agent that does not exist."""


class InvalidTransitionError(AcdError):
    """The event is not allowed in the current state (see acd.states)."""


class ClockError(AcdError):
    """`now` is earlier than a previous call's `now`."""
