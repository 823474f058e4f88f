"""The switchboard's asyncio shell: feeds it, carries out its effects, keeps its timer.

Theory of operation
-------------------
Every input (a worker event, an agent action, a refused command, the timer) is handed
to the `Switchboard` with `clock.now()`; the effects it returns are carried out here,
in order, then the one timer is re-armed at `next_deadline()`. Effects of one call
run on that call's chains (`CallChains`): worker commands on `media`, record writes
on `record`, so neither blocks another call. A record write is handed to the
write-behind (gateway/store/write_behind.py: batched, retried, journaled) at once when
the call's record chain is idle; only while a close waits for its recordings to be
finalised do the call's later writes queue behind it, so they keep their order. A slow
or absent database never delays audio or the loop. Offers are named by their natural
key (call, agent, offered at), kept here per agent leg. A refused command is fed back
to the switchboard as a new input — after the step that sent it, never inside it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from acd import events as ev
from acd.engine import Engine
from gateway.control import effects as fx
from gateway.control.clock import Clock, TimerHandle
from gateway.control.recording import FinishedRecordings, RecordingFinalizer
from gateway.control.segment_recordings import finish_segments, ready_events
from gateway.control.sequencer import Sequencer
from gateway.control.switchboard import Switchboard
from gateway.events import catalogue as ce
from gateway.ipc import protocol as p
from gateway.ipc.errors import NoSuchLeg, WorkerError
from gateway.metrics import Metrics
from gateway.store import write_ops as wo
from gateway.store.callbacks import CallbackConflict, CallbackStore
from gateway.store.cdr import CdrStore
from gateway.store.outbox import OutboxStore
from gateway.store.records import OutboxMessage
from gateway.store.write_behind import WriteBehind

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkerCommands(Protocol):
    async def command(
        self, worker_id: str, cmd: p.Command, timeout: float | None = None
    ) -> dict[str, object]: ...


@dataclass(slots=True)
class CallChains:
    call_id: str
    media: Sequencer = field(init=False)
    record: Sequencer = field(init=False)
    # agent leg -> (agent, offered at): the offer's key in the store
    offers: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.media = Sequencer(f"call {self.call_id} media")
        # retries: the recordings' finalisation before a close (the writes cannot fail)
        self.record = Sequencer(f"call {self.call_id} record", retries=8)


def _effect_time(
    effect: fx.OpenRecord | fx.SetQueue | fx.StartOffer | fx.EndOffer | fx.MarkAnswered,
) -> datetime:
    return effect.arrived_at if isinstance(effect, fx.OpenRecord) else effect.at


def recording_url(call_id: str) -> str:
    """The API path that serves a call's recording (stereo, or the only file)."""
    return f"/calls/{call_id}/recording"


def voicemail_audio_url(call_id: str) -> str:
    """The API path that plays a voicemail message (and marks it listened)."""
    return f"/api/v1/voicemail/{call_id}/audio"


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
        box=effect.voicemail_box or effect.queue or "", audio_url=voicemail_audio_url(effect.call_id),
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
        finalizer: RecordingFinalizer | None = None,  # None: in a thread (tests)
        events_written: Callable[[], None] = lambda: None,
        writes: WriteBehind | None = None,  # None: one of its own, without a journal (tests)
    ) -> None:
        self.board = board
        self._pool, self._cdr, self._metrics, self._clock = pool, cdr, metrics, clock
        self._outbox, self._events_written = outbox, events_written
        self._make_stereo = make_stereo
        self._finalizer = finalizer or RecordingFinalizer(processes=0)
        self._calls: dict[str, CallChains] = {}
        self._writes = writes or WriteBehind(cdr.database, on_events=events_written)
        self._timer: TimerHandle | None = None
        self._armed_at: float | None = None
        self.callbacks = CallbackStore(cdr.database)
        self._callback_changes = Sequencer("callback changes", retries=8)

    @property
    def engine(self) -> Engine:
        return self.board.engine

    # ------------------------------------------------------------------ inputs
    def on_worker_event(self, worker_id: str, event: p.Event) -> None:
        self._carry_out(self.board.worker_event(worker_id, event, self._clock.now()))

    def feed(self, event: ev.Event) -> None:
        """An agent action (API, presence): into the ACD, effects carried out."""
        self._carry_out(self.board.feed(event, self._clock.now()))

    def act(self, action: Callable[[], T]) -> T:
        """An API request on the calls (a transfer): decided, effects carried out."""
        answer, effects = self.board.act(self._clock.now(), action)
        self._carry_out(effects)
        return answer

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
                    self._forget(chains)  # even if closing failed
            case fx.CallbackChange():
                self._callback_changes.then(lambda: self._change_callback(effect))
            case fx.Emit():
                chains = self._chains(effect.call_id)
                self._write(chains, wo.EmitEvents(self._messages(effect.events, effect.at)))
                if effect.last:
                    self._forget(chains)
            case _:
                chains = self._chains(effect.call_id)
                if (op := self._operation(effect, chains)) is not None:
                    self._write(chains, op)

    async def _change_callback(self, c: fx.CallbackChange) -> None:
        events = c.events
        try:
            if c.task is not None:
                await self.callbacks.add(c.task, events, c.at)
            elif c.step is not None:
                await self.callbacks.move(uuid.UUID(c.callback_id), c.step, lambda _: events, c.at)
        except CallbackConflict as exc:  # e.g. cancelled by a supervisor meanwhile
            log.warning("callback %s: %s", c.callback_id, exc)
            return
        if events:
            self._events_written()

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

    def _write(self, chains: CallChains, op: wo.WriteOp) -> None:
        """Hand ``op`` over now, or after the call's pending close (keeps its order)."""
        if chains.record.idle():
            self._writes.put(op)
            return

        async def put() -> None:
            self._writes.put(op)

        chains.record.then(put)

    def _operation(
        self,
        effect: fx.OpenRecord | fx.SetQueue | fx.StartOffer | fx.EndOffer | fx.MarkAnswered,
        chains: CallChains,
    ) -> wo.WriteOp | None:
        call_id = uuid.UUID(effect.call_id)
        events = self._messages(effect.events, _effect_time(effect))
        match effect:
            case fx.OpenRecord():
                return wo.OpenCall(
                    call_id=call_id, sip_call_id=effect.sip_call_id, arrived_at=effect.arrived_at,
                    did=effect.did, caller=effect.caller, trunk=effect.trunk,
                    worker=effect.worker, queue=effect.queue, events=events,
                    caller_name=effect.caller_name, initiation=effect.initiation,
                    callback_of=uuid.UUID(effect.callback_of) if effect.callback_of else None,
                )  # fmt: skip
            case fx.SetQueue():
                return wo.SetQueue(call_id=call_id, queue=effect.queue, events=events)
            case fx.StartOffer():
                chains.offers[effect.leg] = (effect.agent, effect.at)
                return wo.StartOffer(
                    call_id=call_id, agent=effect.agent, offered_at=effect.at,
                    queue=effect.queue, events=events,
                )  # fmt: skip
            case fx.EndOffer():
                if (offer := chains.offers.get(effect.leg)) is not None:
                    return wo.EndOffer(
                        call_id=call_id, agent=offer[0], offered_at=offer[1],
                        result=effect.result, ended_at=effect.at, sip_code=effect.sip_code,
                        events=events,
                    )  # fmt: skip
                # the offer row was never written: the events still are
                return wo.EmitEvents(events) if events else None
            case fx.MarkAnswered():
                offer = chains.offers.get(effect.leg)
                return wo.Answered(
                    call_id=call_id, agent=effect.agent, answered_at=effect.at,
                    offered_at=offer[1] if offer is not None else None, events=events,
                )  # fmt: skip

    @staticmethod
    def _messages(events: fx.Events, at: datetime) -> tuple[OutboxMessage, ...]:
        return tuple(ce.build(e, at=at) for e in events)

    def _closer(self, effect: fx.CloseRecord) -> Callable[[], Awaitable[object]]:
        recordings = effect.recordings
        finished: FinishedRecordings | None = None
        segments: list[dict[str, Any]] | None = None

        def finalize(files: dict[str, str]) -> Awaitable[FinishedRecordings]:
            return self._finalizer.finalize(
                files, self._make_stereo, call_id=effect.call_id, queue=effect.queue
            )

        async def close() -> None:
            nonlocal finished, segments
            if recordings and finished is None:  # file work, off the loop; once, not per retry
                finished = await finalize(recordings)
            file_events = recording_events(effect, finished) if finished else ()
            if effect.segments is not None and segments is None:
                segments = await finish_segments(effect.segments, finished, finalize)
            if segments is not None:  # one recording.ready per segment (segment_recordings.py)
                file_events = ready_events(effect.call_id, effect.queue, file_events, segments)
            self._writes.put(
                wo.CloseCall(
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
                    voicemail_box=effect.voicemail_box if "voicemail" in recordings else None,
                    hold_count=effect.hold_count,
                    hold_seconds=effect.hold_seconds,
                    monitors=effect.monitors,
                    recording_pauses=effect.recording_pauses,
                    segments=segments,
                    events=self._messages((*file_events, *effect.events), effect.ended_at),
                )
            )

        return close

    def _forget(self, chains: CallChains) -> None:
        """Drop the call's chains once its last write is handed over."""
        if chains.record.idle():
            self._calls.pop(chains.call_id, None)
            return

        async def forget() -> None:
            self._calls.pop(chains.call_id, None)

        chains.record.then(forget)

    def _log_agent_state(self, effect: fx.LogAgentState) -> None:
        log.info("agent %s: %s %s", effect.agent, effect.state, effect.reason or "")
        self._writes.put(
            wo.AgentState(
                agent=effect.agent, state=effect.state, at=effect.at, reason=effect.reason,
                events=self._messages(effect.events, effect.at),
            )
        )  # fmt: skip

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

    async def callback_changes_written(self) -> None:
        """Every callback change handed over so far is in the database (the API answers a
        supervisor's cancel or reschedule only then, so a list right after shows it)."""
        await self._callback_changes.settled()

    async def settled(self) -> None:
        """Wait until every queued command has run and every write is in the database
        (shutdown, tests)."""
        while True:
            chains = [c for call in self._calls.values() for c in (call.media, call.record)]
            pending = [c for c in (*chains, self._callback_changes) if not c.idle()]
            if not pending:
                break
            for chain in pending:
                await chain.settled()
        await self._writes.drained()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
