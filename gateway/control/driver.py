"""The switchboard's asyncio shell: feeds it, carries out its effects, keeps its timer.

Theory of operation
-------------------
Every input (a worker event, an agent action, a refused command, the timer) is handed
to the `Switchboard` with `clock.now()`; the effects it returns are carried out here,
in order, then the one timer is re-armed at `next_deadline()`. Effects of one call
run on that call's chains (`CallChains`): worker commands on `media`, record writes
on `record` (retried with backoff), so neither blocks another call and a slow database
never delays audio. The store's offer ids live here, next to the writes that need
them. A refused command is fed back to the switchboard as a new input — after the
step that sent it, never inside it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from acd import events as ev
from acd.engine import Engine
from gateway.control import effects as fx
from gateway.control.clock import Clock, TimerHandle
from gateway.control.recording import FinishedRecordings, finalize_recordings
from gateway.control.sequencer import Sequencer
from gateway.control.switchboard import Switchboard
from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.ipc.errors import NoSuchLeg, WorkerError
from gateway.metrics import Metrics
from gateway.store.cdr import CdrStore
from gateway.store.outbox import OutboxStore
from gateway.store.records import OutboxMessage

log = logging.getLogger(__name__)


class WorkerCommands(Protocol):
    async def command(
        self, worker_id: str, cmd: p.Command, timeout: float | None = None
    ) -> dict[str, object]: ...


@dataclass(slots=True)
class CallChains:
    call_id: str
    media: Sequencer = field(init=False)
    record: Sequencer = field(init=False)
    offer_ids: dict[str, int] = field(default_factory=dict)  # agent leg -> store offer id

    def __post_init__(self) -> None:
        self.media = Sequencer(f"call {self.call_id} media")
        self.record = Sequencer(f"call {self.call_id} record", retries=8)


def _effect_time(
    effect: fx.OpenRecord | fx.SetQueue | fx.StartOffer | fx.EndOffer | fx.MarkAnswered,
) -> datetime:
    return effect.arrived_at if isinstance(effect, fx.OpenRecord) else effect.at


def recording_url(call_id: str) -> str:
    """The API path that serves a call's recording (stereo, or the only file)."""
    return f"/calls/{call_id}/recording"


def recording_events(effect: fx.CloseRecord, done: FinishedRecordings) -> fx.Events:
    """recording.ready (and voicemail.left) for a call whose files are finished."""
    if not done.files:
        return ()
    url = recording_url(effect.call_id)
    ready = ce.RecordingReady(effect.call_id, effect.queue, effect.call_id, done.files, url)
    voicemail = next((f for f in done.files if f.role == "voicemail"), None)
    if voicemail is None:
        return (ready,)
    left = ce.VoicemailLeft(
        call_id=effect.call_id, queue=effect.queue, caller=effect.caller, did=effect.did,
        duration_seconds=voicemail.duration_seconds, path=voicemail.path, url=url,
    )  # fmt: skip
    return (ready, left)


class CallDriver:
    def __init__(
        self,
        board: Switchboard,
        *,
        pool: WorkerCommands,
        cdr: CdrStore,
        outbox: OutboxStore,
        metrics: Metrics,
        clock: Clock,
        make_stereo: bool = True,
        events_written: Callable[[], None] = lambda: None,
    ) -> None:
        self.board = board
        self._pool, self._cdr, self._metrics, self._clock = pool, cdr, metrics, clock
        self._outbox, self._events_written = outbox, events_written
        self._make_stereo = make_stereo
        self._calls: dict[str, CallChains] = {}
        self._agent_log = Sequencer("agent state log", retries=8)
        self._timer: TimerHandle | None = None
        self._armed_at: float | None = None

    @property
    def engine(self) -> Engine:
        return self.board.engine

    # ------------------------------------------------------------------ inputs
    def on_worker_event(self, worker_id: str, event: p.Event) -> None:
        self._carry_out(self.board.worker_event(worker_id, event, self._clock.now()))

    def feed(self, event: ev.Event) -> None:
        """An agent action (API, presence): into the ACD, effects carried out."""
        self._carry_out(self.board.feed(event, self._clock.now()))

    def _on_timer(self) -> None:
        self._timer, self._armed_at = None, None
        self._carry_out(self.board.handle_timer(self._clock.now()))

    def _command_failed(self, call_id: str, command: p.Command, error: WorkerError) -> None:
        self._carry_out(self.board.command_failed(call_id, command, error, self._clock.now()))

    # ------------------------------------------------------------------ effects
    def _carry_out(self, effects: list[fx.Effect]) -> None:
        for effect in effects:
            try:
                self._do(effect)
            except Exception:  # one bad effect must not stall every call
                log.exception("failed to carry out %r", effect)
        self._rearm()

    def _do(self, effect: fx.Effect) -> None:
        match effect:
            case fx.Send():
                self._send(effect)
            case fx.LogAgentState():
                self._log_agent_state(effect)
            case fx.CountRefusedInvite():
                self._metrics.invite_refused(worker=effect.worker_id, code=effect.code)
            case fx.CloseRecord():
                self._metrics.call_ended(disposition=effect.disposition, queue=effect.queue)
                chains = self._chains(effect.call_id)
                chains.record.then(self._closer(effect))
                if effect.last:
                    chains.record.then(self._forget(effect.call_id))  # even if closing failed
            case fx.Emit():
                chains = self._chains(effect.call_id)
                chains.record.then(self._emitter(effect.events, effect.at))
                if effect.last:
                    chains.record.then(self._forget(effect.call_id))
            case _:
                chains = self._chains(effect.call_id)
                chains.record.then(self._writer(effect, chains))

    def _chains(self, call_id: str) -> CallChains:
        chains = self._calls.get(call_id)
        if chains is None:
            chains = self._calls[call_id] = CallChains(call_id)
        return chains

    def _send(self, effect: fx.Send) -> None:
        command = effect.command

        async def step() -> None:
            if isinstance(command, p.RecordStart):  # the worker writes into it
                Path(command.path).parent.mkdir(parents=True, exist_ok=True)
            try:
                await self._pool.command(effect.worker_id, command)
            except WorkerError as exc:
                if isinstance(command, p.Hangup) and isinstance(exc, NoSuchLeg):
                    return  # the leg had ended already: what we wanted
                self._command_failed(effect.call_id, command, exc)

        self._chains(effect.call_id).media.then(step)

    def _writer(
        self,
        effect: fx.OpenRecord | fx.SetQueue | fx.StartOffer | fx.EndOffer | fx.MarkAnswered,
        chains: CallChains,
    ) -> Callable[[], Awaitable[object]]:
        cdr, call_id = self._cdr, uuid.UUID(effect.call_id)
        events = self._messages(effect.events, _effect_time(effect))

        async def write() -> None:
            match effect:
                case fx.OpenRecord():
                    await cdr.record_call_arrived(
                        call_id=call_id,
                        sip_call_id=effect.sip_call_id,
                        arrived_at=effect.arrived_at,
                        did=effect.did,
                        caller=effect.caller,
                        trunk=effect.trunk,
                        worker=effect.worker,
                        queue=effect.queue,
                        events=events,
                    )
                case fx.SetQueue():
                    await cdr.record_queued(call_id=call_id, queue=effect.queue, events=events)
                case fx.StartOffer():
                    chains.offer_ids[effect.leg] = await cdr.record_offer(
                        call_id=call_id, agent=effect.agent, offered_at=effect.at,
                        queue=effect.queue, events=events,
                    )  # fmt: skip
                case fx.EndOffer():
                    if (offer_id := chains.offer_ids.get(effect.leg)) is not None:
                        await cdr.record_offer_ended(
                            offer_id=offer_id, result=effect.result, ended_at=effect.at,
                            sip_code=effect.sip_code, events=events,
                        )  # fmt: skip
                    elif events:  # the offer row was never written: the events still are
                        await self._outbox.add(events)
                case fx.MarkAnswered():
                    await cdr.record_answered(
                        call_id=call_id, agent=effect.agent, answered_at=effect.at,
                        offer_id=chains.offer_ids.get(effect.leg), events=events,
                    )  # fmt: skip
            if events:
                self._events_written()

        return write

    @staticmethod
    def _messages(events: fx.Events, at: datetime) -> list[OutboxMessage]:
        return [ce.build(e, at=at) for e in events]

    def _emitter(self, events: fx.Events, at: datetime) -> Callable[[], Awaitable[object]]:
        messages = self._messages(events, at)

        async def emit() -> None:
            await self._outbox.add(messages)
            self._events_written()

        return emit

    def _closer(self, effect: fx.CloseRecord) -> Callable[[], Awaitable[object]]:
        recordings = effect.recordings
        finished: FinishedRecordings | None = None

        async def close() -> None:
            nonlocal finished
            if recordings and finished is None:  # file work, off the loop; once, not per retry
                finished = await asyncio.to_thread(
                    finalize_recordings, recordings, self._make_stereo
                )
            file_events = recording_events(effect, finished) if finished else ()
            await self._cdr.record_ended(
                call_id=uuid.UUID(effect.call_id),
                ended_at=effect.ended_at,
                disposition=effect.disposition,
                hangup_by=effect.hangup_by,
                caller_sip_code=effect.caller_sip_code,
                agent_sip_code=effect.agent_sip_code,
                rtp_quality=effect.rtp_quality,
                recording_stereo=finished.stereo if finished else None,
                recording_caller=recordings.get("caller") or recordings.get("voicemail"),
                recording_agent=recordings.get("agent"),
                events=self._messages((*file_events, *effect.events), effect.ended_at),
            )
            self._events_written()

        return close

    def _forget(self, call_id: str) -> Callable[[], Awaitable[object]]:
        async def forget() -> None:
            self._calls.pop(call_id, None)

        return forget

    def _log_agent_state(self, effect: fx.LogAgentState) -> None:
        log.info("agent %s: %s %s", effect.agent, effect.state, effect.reason or "")

        events = self._messages(effect.events, effect.at)

        async def write() -> None:
            await self._cdr.record_agent_state(
                agent=effect.agent, state=effect.state, at=effect.at, reason=effect.reason,
                events=events,
            )  # fmt: skip
            if events:
                self._events_written()

        self._agent_log.then(write)

    # ------------------------------------------------------------------ timer, shutdown
    def _rearm(self) -> None:
        deadline = self.board.next_deadline()
        if deadline == self._armed_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed_at = deadline
        if deadline is not None:
            self._timer = self._clock.call_at(deadline, self._on_timer)

    def calls_in_flight(self) -> int:
        """Calls with effects not yet carried out (finalised calls drop out once written)."""
        return len(self._calls)

    async def settled(self) -> None:
        """Wait until every queued command and write has run (shutdown, tests)."""
        while True:
            chains = [c for call in self._calls.values() for c in (call.media, call.record)]
            pending = [c for c in (*chains, self._agent_log) if not c.idle()]
            if not pending:
                return
            for chain in pending:
                await chain.settled()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
