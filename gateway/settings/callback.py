"""A queue's queued-callback options (``queues.<q>.callback``, docs/callback.md).

Times are seconds; ``window`` is local time in the routing ``timezone`` during which the
gateway may dial customers (``null``: any time); ``caller_id`` is the number the customer
sees (E.164; ``null``: the number the caller dialled); ``trunk`` the trunk dialled through
(``null``: the first one).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

E164 = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")]


class CallbackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    offer_after: Annotated[float, Field(gt=0)] = 60.0  # seconds in queue before the offer
    key: Annotated[str, Field(pattern=r"^[0-9*#]$")] = "1"  # DTMF that accepts the offer
    retries: Annotated[int, Field(ge=0, le=10)] = 2  # dial attempts after the first
    retry_interval: Annotated[float, Field(gt=0)] = 120.0
    window: str | None = None  # "09:00-18:00"
    caller_id: E164 | None = None
    trunk: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")] | None = None
    ring_timeout: Annotated[float, Field(gt=0, le=300)] = 30.0  # seconds the customer rings

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None:
            parse_window(value)
        return value


def parse_window(text: str) -> tuple[dt.time, dt.time]:
    """``"HH:MM-HH:MM"`` -> (start, end); ``end`` before ``start`` spans midnight."""
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"window {text!r}: write HH:MM-HH:MM, e.g. 09:00-18:00") from None
    if start == end:
        raise ValueError(f"window {text!r}: start and end are the same time")
    return start, end
