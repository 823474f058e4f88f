"""The routing table: DIDs, per-queue schedules and closed actions, the default route.

All plain frozen dataclasses; build one from configuration data with
:func:`routing.config.build_routing_table`, which also checks cross-references
(every queue named exists, closed-action chains have no cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from routing.schedule import Schedule

__all__ = [
    "Announce",
    "ClosedAction",
    "DefaultRoute",
    "DidRoute",
    "QueueRouting",
    "RoutingTable",
    "ToOtherQueue",
    "Voicemail",
]


@dataclass(frozen=True, slots=True)
class Announce:
    """Answer, play ``prompt`` (if any), then hang up."""

    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Voicemail:
    """Send the caller to ``mailbox``."""

    mailbox: str


@dataclass(frozen=True, slots=True)
class ToOtherQueue:
    """Route to another queue (whose own schedule then applies)."""

    queue: str


ClosedAction = Announce | Voicemail | ToOtherQueue
DefaultRoute = Announce | ToOtherQueue  # what an unknown DID gets


@dataclass(frozen=True, slots=True)
class DidRoute:
    """One dialled number (E.164) and where it goes."""

    number: str
    queue: str
    priority: int = 0
    skills: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class QueueRouting:
    """Routing-relevant part of a queue; ``schedule=None`` means always open."""

    name: str
    schedule: Schedule | None = None
    closed_action: ClosedAction = Announce()


def _freeze(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Everything :func:`routing.resolve` needs; immutable, safe to share and swap."""

    region: str | None
    dids: Mapping[str, DidRoute] = field(default_factory=dict)
    queues: Mapping[str, QueueRouting] = field(default_factory=dict)
    default_route: DefaultRoute = Announce()
    strict_numbers: bool = False

    def __post_init__(self) -> None:
        # read-only views, so a shared table cannot be changed under a running call
        object.__setattr__(self, "dids", _freeze(self.dids))
        object.__setattr__(self, "queues", _freeze(self.queues))
