"""Why a worker command failed: one exception type per wire error code.

Transport-neutral: the worker raises these from its handlers (the code travels in the
``Result``), the supervisor raises them from ``WorkerHandle.command`` and
``WorkerPool.command``; callers catch the type, never compare strings::

    WorkerError                 (abstract: catch it to handle any failure)
    ├── NoSuchLeg               no_such_leg   the leg is unknown or already ended
    ├── CapacityExceeded        capacity      all legs (or registrations) in use
    ├── Draining                draining      the worker refuses new work
    ├── BadState                bad_state     the leg is not in a state for this command
    ├── BadArgs                 bad_args      the command's arguments make no sense
    ├── SipFailure              sip_error     pjsua2 refused (message: its reason)
    ├── WorkerInternal          internal      a bug in the worker, or an unknown code
    └── WorkerGone              worker_gone   connection lost, timed out, worker died
                                              (made by the supervisor, never on the wire)
"""

from __future__ import annotations

from typing import ClassVar


class WorkerError(Exception):
    """A command failed on (or because of) worker ``worker_id``."""

    code: ClassVar[str]
    on_wire: ClassVar[bool] = True

    def __init__(self, worker_id: str, message: str) -> None:
        super().__init__(worker_id, message)
        self.worker_id = worker_id
        self.message = message

    def __str__(self) -> str:
        return f"{self.worker_id}: {self.code}: {self.message}"


class NoSuchLeg(WorkerError):
    """The leg is unknown to the worker or has already ended."""

    code = "no_such_leg"


class CapacityExceeded(WorkerError):
    """All legs (or registrations) of the worker are in use."""

    code = "capacity"


class Draining(WorkerError):
    """The worker is draining: it takes no new call."""

    code = "draining"


class BadState(WorkerError):
    """The leg (or worker) is not in a state for this command."""

    code = "bad_state"


class BadArgs(WorkerError):
    """The command's arguments make no sense (unknown account, leg exists, ...)."""

    code = "bad_args"


class SipFailure(WorkerError):
    """pjsua2 refused the operation; the message has its reason."""

    code = "sip_error"


class WorkerInternal(WorkerError):
    """A bug in the worker, or a code this side does not know."""

    code = "internal"


class WorkerGone(WorkerError):
    """Connection lost, command timed out or worker died (never on the wire)."""

    code = "worker_gone"
    on_wire = False


ERRORS: tuple[type[WorkerError], ...] = (
    NoSuchLeg,
    CapacityExceeded,
    Draining,
    BadState,
    BadArgs,
    SipFailure,
    WorkerInternal,
    WorkerGone,
)
_BY_WIRE_CODE: dict[str, type[WorkerError]] = {e.code: e for e in ERRORS if e.on_wire}


def worker_error(code: str, worker_id: str, message: str) -> WorkerError:
    """The exception for a wire error ``code`` (an unknown one is ``WorkerInternal``)."""
    cls = _BY_WIRE_CODE.get(code)
    if cls is None:
        return WorkerInternal(worker_id, f"{code}: {message}" if code else message)
    return cls(worker_id, message)
