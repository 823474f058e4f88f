"""The one map from pjsua2's exceptions to the worker's failures.

pjsua2 raises ``pj.Error`` (``status``, ``title``, ``reason``); every handler runs
inside ``handlers.execute``, which turns one into ``SipFailure`` with ``describe``'s
text. Code that expects pjsua2 to refuse (hanging up a leg already ending, asking a
closed call for its media) catches ``PJ_ERROR`` itself and carries on.
"""

from __future__ import annotations

import pjsua2 as pj  # type: ignore[import-untyped]

from gateway.ipc.errors import SipFailure

PJ_ERROR: type[Exception] = pj.Error


def describe(exc: BaseException) -> str:
    """pjsua2's reason for ``exc`` (e.g. ``Invalid URI (PJSIP_EINVALIDURI)``)."""
    reason = getattr(exc, "reason", "") or str(exc)
    status = getattr(exc, "status", 0)
    return f"{reason} (status {status})" if status else str(reason)


def sip_failure(worker_id: str, exc: BaseException) -> SipFailure:
    return SipFailure(worker_id, describe(exc))
