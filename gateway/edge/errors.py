"""Errors raised by the edge package.

EdgeError
├── EdgeConfigError (also a ValueError)  invalid settings or input; names the field
├── EdgeUnavailable                      Kamailio not running, or its RPC not answering
└── EdgeRpcError                         Kamailio answered an RPC with an error
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error of the edge package."""


class EdgeConfigError(EdgeError, ValueError):
    """Settings or arguments that cannot be rendered or sent to Kamailio."""


class EdgeUnavailable(EdgeError):
    """Kamailio is not running or its RPC socket does not answer in time."""


class EdgeRpcError(EdgeError):
    """Kamailio answered a JSON-RPC call with an error object."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method}: {code} {message}")
        self.method = method
        self.code = code
        self.message = message
