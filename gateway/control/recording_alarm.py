"""What a recording that could not be finished sets off (the call itself goes on).

``RecordingAlarm.raised`` is the finalizer's ``on_failure``: it counts the failure
(``contactgw_recording_failures_total{reason}``), and marks the call record
(``calls.recording_failure``) with the ``recording.failed`` event in the same
transaction, on a chain of its own retried with backoff. The call's row is written by
the write-behind and may not be in the database yet when its recording fails (a
database that is briefly locked): the retries cover that, and should the row never
appear the event is written on its own, so the failure is never silent. /health
reads the finalizer's own state (``RecordingFinalizer.failing``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from gateway.control.clock import Clock
from gateway.control.recording import RecordingFailure
from gateway.control.sequencer import Sequencer
from gateway.events import catalogue as ce
from gateway.metrics import Metrics
from gateway.store.cdr import CdrStore
from gateway.store.outbox import OutboxStore

log = logging.getLogger(__name__)


def failure_event(failure: RecordingFailure) -> ce.RecordingFailed:
    reason: ce.RecordingFailureReason = failure.reason  # type: ignore[assignment]
    return ce.RecordingFailed(failure.call_id, failure.queue, reason, failure.detail,
                              failure.files)  # fmt: skip


class RecordingAlarm:
    def __init__(
        self,
        *,
        cdr: CdrStore,
        outbox: OutboxStore,
        metrics: Metrics,
        clock: Clock,
        events_written: Callable[[], None] = lambda: None,
        retries: int = 8,
    ) -> None:
        self._cdr, self._outbox, self._metrics, self._clock = cdr, outbox, metrics, clock
        self._written = events_written
        self._chain = Sequencer("recording failures", retries=retries)

    def raised(self, failure: RecordingFailure) -> None:
        self._metrics.recording_failed(failure.reason)
        message = ce.build(failure_event(failure), at=self._clock.now().wall)
        marked = False

        async def mark() -> None:
            nonlocal marked
            await self._cdr.record_recording_failed(
                call_id=uuid.UUID(failure.call_id), reason=failure.reason, events=[message]
            )
            marked = True
            self._written()

        async def at_least_the_event() -> None:
            if not marked:
                log.error("call %s: no call record to mark; recording.failed sent on its own",
                          failure.call_id)  # fmt: skip
                await self._outbox.add([message])
                self._written()

        self._chain.then(mark)
        self._chain.then(at_least_the_event)

    async def settled(self) -> None:
        await self._chain.settled()
