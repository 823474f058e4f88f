"""Errors raised by :mod:`routing`.

::

    RoutingError                 base class; never raised on the call path by resolve()
    └── RoutingConfigError       a routing table could not be built from plain data

``resolve()`` does not raise for bad input *data* (an unknown or unparseable number
becomes an :class:`~routing.resolve.Unknown` decision); it raises only for programming
errors such as a naive ``now``.
"""

from __future__ import annotations


class RoutingError(Exception):
    """Base class of every error raised by the routing package."""


class RoutingConfigError(RoutingError):
    """Invalid routing configuration; ``path`` names the offending key.

    ``str(err)`` reads ``"dids[3].queue: unknown queue 'sales2'"`` so that the YAML
    loader can add the file and line in front of it.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)
