"""Rebuilding a worker's calls after a control-plane restart (issue 14): a pure function.

Theory of operation
-------------------
A resumed worker reports its legs as they were when it lost its control plane
(`LegSnapshot`, each caller leg with the session note the old control plane kept there,
gateway/control/session_note.py), then `SnapshotDone`, then the events it buffered since.
`rebuild(worker_id, snapshots, now, music)` turns the snapshot into sessions, ACD events
and worker commands; the replayed events that follow then reach those sessions through
the normal path (a caller who hung up meanwhile, a recording that closed, ...), so
snapshot + replay = now. Per phase of the note:

- CONNECTED / HELD with the agent's leg up: the conversation continues (bridge,
  recordings and music are live in the worker); the ACD learns the agent is in it
  (`ConversationAdopted`). A TRANSFERRING call whose agent is still there is back to
  CONNECTED (the transfer is abandoned: its target's leg is hung up).
- QUEUED (and ANSWERING once the caller's ACK came, and a CALLBACK_OFFER being made):
  back in line with the original arrival time and priority (`CallArrived.arrival_time`);
  the offers that were ringing are cancelled (their agent legs hung up) and the caller
  hears the queue's music (unless a prompt of ours still plays; its `PlaybackDone`
  brings the music, as usual).
- ANSWERING before the ACK: waits for it, as a new call does.
- Everything else (announcements, voicemail prompt or recording, callback legs, hanging
  up, a connected call whose agent leg is gone): finished the simplest correct way, the
  caller's leg is hung up (what was recorded is kept; the record is closed as usual).

Legs with no note (a call the old control plane never saw through) and agent legs of no
known call are hung up. Times: an arrival time of the old process is carried as a wall
clock time in the note and mapped onto the new process's monotonic clock here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from acd import events as ev
from acd.states import AgentState
from gateway.control.clock import Instant
from gateway.control.phases import Phase
from gateway.control.session import AgentLegState, CallSession, Role
from gateway.control.session_note import NoteError, from_note
from gateway.ipc import protocol as p

log = logging.getLogger(__name__)

RESTART_REASON = "control plane restarted"
_CONTINUE = frozenset({Phase.CONNECTED, Phase.HELD, Phase.TRANSFERRING})
_REQUEUE = frozenset({Phase.QUEUED, Phase.CALLBACK_OFFER})
_AGENT_LEG = re.compile(r"-a(\d+)$")


@dataclass(slots=True)
class Adopted:
    """One rebuilt session and what becomes of it (`outcome`: continued, requeued,
    confirming, finished)."""

    session: CallSession
    outcome: str
    arrival: ev.CallArrived | None = None  # ANSWERING: fed to the ACD on the caller's ACK
    noted: Phase | None = None  # the phase of the note it came with


@dataclass(slots=True)
class Rebuild:
    calls: list[Adopted] = field(default_factory=list)
    acd: list[ev.Event] = field(default_factory=list)  # in the order to feed them
    commands: list[tuple[str | None, p.Command]] = field(default_factory=list)  # (call, cmd)

    def count(self, outcome: str) -> int:
        return sum(1 for a in self.calls if a.outcome == outcome)


def restored_agents(
    last: Mapping[str, tuple[str, str | None]], states: Mapping[str, AgentState]
) -> list[ev.Event]:
    """After an adoption, the agents whose last state row (`last`: agent -> (state,
    reason), written by the old control plane) says paused are paused again, logged in
    first if they are logged out now (presence then leaves them be); one in an adopted
    conversation is paused when it ends (a deferred pause). The rest is presence's."""
    out: list[ev.Event] = []
    for agent, (state, reason) in sorted(last.items()):
        if state != AgentState.PAUSED.value or agent not in states:
            continue
        if states[agent] is AgentState.LOGGED_OUT:
            out.append(ev.AgentLogin(agent))
        out.append(ev.AgentPause(agent, reason or "break"))
    return out


def arrival_mono(s: CallSession, now: Instant) -> float:
    """The session's arrival on this process's monotonic clock."""
    return now.mono - max(0.0, (now.wall - s.arrived_at).total_seconds())


def rebuild(
    worker_id: str, snapshots: list[p.LegSnapshot], now: Instant, music: Callable[[str | None], str]
) -> Rebuild:
    """Sessions, ACD events and commands for one worker's snapshot (see the module doc).
    `music(queue)` is the path of a queue's music."""
    out = Rebuild()
    by_leg = {snap.leg: snap for snap in snapshots}
    owned: set[str] = set()
    sessions: list[tuple[CallSession, p.LegSnapshot]] = []
    for snap in snapshots:
        if not snap.note or snap.state is p.LegState.DISCONNECTED:
            continue
        try:
            s = from_note(snap.note, worker_id=worker_id, caller_leg=snap.leg, now_mono=now.mono)
        except NoteError as exc:
            log.warning("leg %s: %s; hanging it up", snap.leg, exc)
            continue
        sessions.append((s, snap))
        owned.add(snap.leg)
    queued: list[tuple[float, Adopted]] = []
    for s, snap in sessions:
        legs = [x for x in snapshots if x.leg.startswith(s.call_id + "-") and x.leg != snap.leg]
        owned.update(x.leg for x in legs)
        _sync(s, snap, legs, by_leg)
        noted = s.phase
        adopted = _decide(s, snap, legs, now, music, out)
        adopted.noted = noted
        out.calls.append(adopted)
        if adopted.outcome == "requeued":
            queued.append((arrival_mono(s, now), adopted))
    for at, adopted in sorted(queued, key=lambda q: q[0]):  # the line's original order
        s = adopted.session
        assert s.queue is not None
        out.acd.append(ev.CallArrived(s.call_id, s.queue, s.priority, arrival_time=at))
    for snap in snapshots:
        if snap.leg not in owned and snap.state is not p.LegState.DISCONNECTED:
            log.warning("leg %s (%s) belongs to no call we know: hanging it up", snap.leg,
                        snap.direction)  # fmt: skip
            out.commands.append((None, p.Hangup(snap.leg, code=503, reason=RESTART_REASON)))
    return out


def _sync(
    s: CallSession, snap: p.LegSnapshot, legs: list[p.LegSnapshot], by_leg: dict[str, p.LegSnapshot]
) -> None:
    """What the snapshot knows better than the note: playing, closed recordings, names."""
    s.playing = snap.playing or None
    open_files = {x.recording for x in (snap, *legs) if x.recording}
    for role, path in s.recordings.items():
        if path not in open_files:  # closed before the old control plane died
            s.recordings_closed.add(role)
    for seg in s.segments:
        seg.closed |= {r for r, path in seg.recordings.items() if path not in open_files}
    for leg in legs:  # agent legs dialled after the last note: never reuse a name
        if (m := _AGENT_LEG.search(leg.leg)) is not None:
            s.dialled = max(s.dialled, int(m.group(1)))
    if s.connected is not None and s.connected.leg not in by_leg:
        s.connected.state = AgentLegState.ENDED


def _hangup_others(
    s: CallSession, legs: list[p.LegSnapshot], keep: str | None, out: Rebuild
) -> None:
    for leg in legs:
        if leg.leg != keep and leg.state is not p.LegState.DISCONNECTED:
            code = 200 if leg.state is p.LegState.CONFIRMED else 487
            out.commands.append((s.call_id, p.Hangup(leg.leg, code=code, reason=RESTART_REASON)))


def _decide(
    s: CallSession,
    snap: p.LegSnapshot,
    legs: list[p.LegSnapshot],
    now: Instant,
    music: Callable[[str | None], str],
    out: Rebuild,
) -> Adopted:
    agent = s.connected
    talking = agent is not None and agent.state is AgentLegState.ANSWERED
    if s.phase in _CONTINUE and talking and agent is not None and s.queue is not None:
        if s.phase is Phase.TRANSFERRING:
            s.phase = Phase.CONNECTED
        _hangup_others(s, legs, agent.leg, out)
        out.acd.append(
            ev.ConversationAdopted(
                s.call_id, s.queue, agent.agent_id, s.priority, arrival_mono(s, now)
            )
        )
        return Adopted(s, "continued")
    confirmed = snap.state is p.LegState.CONFIRMED
    if s.queue is not None and (s.phase in _REQUEUE or (s.phase is Phase.ANSWERING and confirmed)):
        s.phase = Phase.QUEUED
        _hangup_others(s, legs, None, out)
        if s.playing is None:
            s.playing = music(s.queue)
            out.commands.append((s.call_id, p.Play(snap.leg, s.playing, loop=True)))
        return Adopted(s, "requeued")
    if s.phase is Phase.ANSWERING and s.queue is not None:
        _hangup_others(s, legs, None, out)
        return Adopted(s, "confirming", ev.CallArrived(s.call_id, s.queue, s.priority,
                                                       arrival_time=arrival_mono(s, now)))  # fmt: skip
    # the rest: ended now, the simplest correct way (what was recorded is kept)
    _hangup_others(s, legs, None, out)
    s.phase = Phase.HANGING_UP
    if s.disposition is None:
        s.disposition = "failed"
    if talking or s.answered_at is not None:
        s.hangup_by = s.hangup_by or "agent"
    s.hangup_by = s.hangup_by or "system"
    code = 200 if confirmed else (s.final_code if s.final_code >= 300 else 503)
    out.commands.append((s.call_id, p.Hangup(snap.leg, code=code, reason=RESTART_REASON)))
    if Role.VOICEMAIL in s.recordings:
        s.playing = None
    return Adopted(s, "finished")
