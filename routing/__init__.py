"""DID/DNIS → queue resolution (pure: stdlib + ``phonenumbers``; never reads the clock).

Build a table once with :func:`build_routing_table`, then call :func:`resolve` per
incoming call with the current time.  See docs/routing.md.
"""

from routing.config import ROUTING_KEYS, build_routing_table
from routing.errors import RoutingConfigError, RoutingError
from routing.numbers import NumberStatus, ParsedNumber, normalise, uri_user
from routing.resolve import Closed, RouteDecision, ToQueue, Unknown, UnknownReason, resolve
from routing.schedule import ClosedReason, Holiday, Schedule, ScheduleState, TimeRange
from routing.table import (
    Announce,
    ClosedAction,
    DefaultRoute,
    DidRoute,
    QueueRouting,
    RoutingTable,
    ToOtherQueue,
    Voicemail,
)

__all__ = [
    "ROUTING_KEYS",
    "Announce",
    "Closed",
    "ClosedAction",
    "ClosedReason",
    "DefaultRoute",
    "DidRoute",
    "Holiday",
    "NumberStatus",
    "ParsedNumber",
    "QueueRouting",
    "RouteDecision",
    "RoutingConfigError",
    "RoutingError",
    "RoutingTable",
    "Schedule",
    "ScheduleState",
    "TimeRange",
    "ToOtherQueue",
    "ToQueue",
    "Unknown",
    "UnknownReason",
    "Voicemail",
    "build_routing_table",
    "normalise",
    "resolve",
    "uri_user",
]
