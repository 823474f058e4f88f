"""Domain errors of the control plane, transport-neutral (no HTTP here).

    ControlError
    ├── NotFound        an agent, queue or call that does not exist
    ├── Conflict        the request is valid but not in the current state
    └── InvalidRequest  the request names something the domain rejects

The control plane raises these; `gateway/api/errors.py` is the one table that maps
them to HTTP status codes.
"""

from __future__ import annotations


class ControlError(Exception):
    """Base of errors the API reports with a reason."""


class NotFound(ControlError):
    pass


class Conflict(ControlError):
    pass


class InvalidRequest(ControlError):
    pass
