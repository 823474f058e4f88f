"""Retention policy: which recordings to delete at ``now`` (pure; no I/O, no clock).

Rules, in order:

1. ``legal_hold`` in a recording's flags keeps it, whatever else is configured.
2. The base retention is the queue's entry in ``queue_days`` (``None`` = keep forever),
   else ``default_days`` (``None`` = keep forever).
3. Each flag listed in ``flag_days`` (e.g. ``evaluated``: QA-scored calls) can only
   *extend* retention: the longest of the base and the flags' days applies.
4. A recording is due when ``now >= created_at + days`` (days of 24 hours; 0 days means
   due at once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

__all__ = [
    "EVALUATED",
    "LEGAL_HOLD",
    "RecordingRef",
    "RetentionRules",
    "Verdict",
    "due_for_deletion",
    "judge",
]

LEGAL_HOLD = "legal_hold"
EVALUATED = "evaluated"


@dataclass(frozen=True, slots=True)
class RecordingRef:
    recording_id: str
    created_at: datetime  # timezone-aware
    queue: str | None = None
    flags: frozenset[str] = frozenset()


def _check_days(days: int | None, what: str) -> None:
    if days is not None and (isinstance(days, bool) or days < 0):
        raise ValueError(f"{what}: retention days must be >= 0 or None, got {days!r}")


@dataclass(frozen=True, slots=True)
class RetentionRules:
    default_days: int | None = None
    queue_days: Mapping[str, int | None] = field(default_factory=dict)
    flag_days: Mapping[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_days(self.default_days, "default_days")
        for name, days in {**self.queue_days, **self.flag_days}.items():
            _check_days(days, name)
        object.__setattr__(self, "queue_days", MappingProxyType(dict(self.queue_days)))
        object.__setattr__(self, "flag_days", MappingProxyType(dict(self.flag_days)))

    def days_for(self, ref: RecordingRef) -> int | None:
        """Retention in days for ``ref``; None = keep forever."""
        if LEGAL_HOLD in ref.flags:
            return None
        if ref.queue is not None and ref.queue in self.queue_days:
            days = self.queue_days[ref.queue]
        else:
            days = self.default_days
        for flag in sorted(ref.flags & self.flag_days.keys()):
            extra = self.flag_days[flag]
            if days is None or extra is None:
                return None
            days = max(days, extra)
        return days


@dataclass(frozen=True, slots=True)
class Verdict:
    recording_id: str
    delete: bool
    expires_at: datetime | None  # None = kept forever
    reason: str


def judge(ref: RecordingRef, rules: RetentionRules, now: datetime) -> Verdict:
    """Decide one recording; ``now`` and ``created_at`` must be timezone-aware."""
    if ref.created_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("created_at and now must be timezone-aware")
    if LEGAL_HOLD in ref.flags:
        return Verdict(ref.recording_id, False, None, "legal hold")
    days = rules.days_for(ref)
    if days is None:
        return Verdict(ref.recording_id, False, None, "kept forever")
    expires = ref.created_at + timedelta(days=days)
    if now >= expires:
        return Verdict(ref.recording_id, True, expires, f"older than {days} days")
    return Verdict(ref.recording_id, False, expires, f"within {days} days")


def due_for_deletion(
    refs: Iterable[RecordingRef], rules: RetentionRules, now: datetime
) -> list[str]:
    """Ids of the recordings to delete at ``now``, in input order."""
    return [ref.recording_id for ref in refs if judge(ref, rules, now).delete]
