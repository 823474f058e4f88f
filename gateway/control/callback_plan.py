"""A queue's callback options as the call flow uses them: when dialling may happen (the
window, in the routing timezone), where a number is dialled (the trunk's address, via
the edge), and which number the customer sees. Pure: every method takes `now`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from gateway.settings.callback import CallbackSettings, parse_window


@dataclass(frozen=True, slots=True)
class CallbackPlan:
    options: CallbackSettings
    timezone: ZoneInfo
    region: str | None  # for a number the caller keys in (routing `region`)
    dial_host: str  # the trunk's host[:port]; the edge relays a non-domain URI there

    def dial_uri(self, number: str) -> str:
        return f"sip:{number}@{self.dial_host}"

    def caller_id(self, did: str | None, domain: str) -> str:
        return f"sip:{self.options.caller_id or did or 'anonymous'}@{domain}"

    def next_dial(self, now: dt.datetime) -> dt.datetime:
        """`now` inside the window (or without one), else the window's next opening."""
        if self.options.window is None:
            return now
        start, end = parse_window(self.options.window)
        local = now.astimezone(self.timezone)
        t = local.time().replace(tzinfo=None)
        inside = start <= t < end if start < end else (t >= start or t < end)
        if inside:
            return now
        opening = dt.datetime.combine(local.date(), start, self.timezone)
        if opening <= local:
            opening = dt.datetime.combine(local.date() + dt.timedelta(days=1), start,
                                          self.timezone)  # fmt: skip
        return opening.astimezone(now.tzinfo)
