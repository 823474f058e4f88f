"""Every phase change of a call session, in one table (h11's "Rule 1").

A session is one caller's visit. `Switchboard` never assigns `session.phase`: it calls
`advance(session, trigger)`, and a pair missing from `TRANSITIONS` raises
`PhaseError` — a bug, never a race: handlers check the phase first where a late
worker event or ACD command can legitimately find the session elsewhere.
docs/control-plane.md's diagram is generated from the table (`mermaid_diagram()`).

Features to come add rows, not callbacks: hold and transfer (CONNECTED <-> HELD,
CONNECTED -> TRANSFERRING -> CONNECTED), supervisor monitoring (a side relation of
CONNECTED), queued callback (QUEUED -> CALLBACK_OFFER -> ANNOUNCING for the caller;
ROUTING -> QUEUED -> CALLBACK_WHISPER -> CALLBACK_DIALING -> CONNECTED for the outbound
session, docs/callback.md), and a session
rebuilt from worker reports after a control-plane restart (enters at its reported
phase).
"""

from __future__ import annotations

import enum
from typing import Final, Protocol


class Phase(enum.Enum):
    ROUTING = "routing"  # the INVITE arrived; routing decides synchronously
    ANSWERING = "answering"  # 200 sent with the greeting; waiting for the caller's ACK
    ANNOUNCING = "announcing"  # closed / unknown number / diverted: a prompt, then the end
    QUEUED = "queued"  # in the ACD: greeting, music, announcements, agents ringing
    CONNECTED = "connected"  # bridged with an agent, both legs recorded
    HELD = "held"  # on hold: music to the caller, cut from the agent (hold_desk.py)
    TRANSFERRING = "transferring"  # a transfer's target is rung or consulted (transfer.py)
    VOICEMAIL_PROMPT = "voicemail-prompt"  # "leave a message" and the beep
    # queued callback (callback_desk.py): the caller confirms a number; the outbound session
    # whispers to the agent who took it, then dials the customer
    CALLBACK_OFFER = "callback-offer"
    CALLBACK_WHISPER = "callback-whisper"
    CALLBACK_DIALING = "callback-dialing"
    VOICEMAIL_RECORDING = "voicemail-recording"  # the caller is recorded, up to a limit
    HANGING_UP = "hanging-up"  # over: the caller's leg is being ended
    ENDED = "ended"  # the caller's leg is gone; waiting for agent legs and recordings
    FINALISED = "finalised"  # the call record is closed; the session is forgotten


class Trigger(enum.Enum):
    QUEUE = "queue"  # routed to an open queue: answered, not yet confirmed
    CONFIRMED = "confirmed"  # the caller's ACK came: the call enters the ACD
    REFUSE = "refuse"  # closed queue or unknown number: early-media announcement
    VOICEMAIL = "voicemail"  # closed action or overflow target is voicemail
    DIVERT = "divert"  # the ACD gave up: announcement (or nothing), then hang-up
    CONNECT = "connect"  # the ACD connected an agent who answered
    PROMPT_DONE = "prompt-done"  # the announcement or the beep finished playing
    TIME_LIMIT = "time-limit"  # the voicemail recording reached its maximum
    AGENT_GONE = "agent-gone"  # the connected agent hung up (or the bridge failed)
    CALLER_GONE = "caller-gone"  # the caller's leg disconnected, for whatever reason
    SETTLED = "settled"  # every agent leg ended and every recording closed
    TIMED_OUT = "timed-out"  # settling took longer than `finalize_timeout`
    HOLD = "hold"  # the agent's phone (re-INVITE sendonly/inactive) or the API holds the call
    RESUME = "resume"  # taken off hold (also first thing when a held conversation ends)
    CALLBACK_KEY = "callback-key"  # a waiting caller pressed the callback offer's key
    CALLBACK_CONFIRM = "callback-confirm"  # the caller confirmed the number: goodbye prompt
    CALLBACK_QUEUE = "callback-queue"  # an outbound callback session takes its place in line
    WHISPER = "whisper"  # the agent answered a callback: it hears who it is for
    TRANSFER = "transfer"  # an agent or supervisor transfers the call to an agent or number
    TRANSFERRED = "transferred"  # the target took the call, or the caller is back with the agent
    REQUEUE = "requeue"  # to a queue, or a blind transfer's target failed: back in line


_P, _T = Phase, Trigger

TRANSITIONS: Final[dict[tuple[Phase, Trigger], Phase]] = {
    (_P.ROUTING, _T.QUEUE): _P.ANSWERING,
    (_P.ANSWERING, _T.CONFIRMED): _P.QUEUED,
    (_P.ROUTING, _T.REFUSE): _P.ANNOUNCING,
    (_P.ROUTING, _T.VOICEMAIL): _P.VOICEMAIL_PROMPT,
    (_P.QUEUED, _T.CONNECT): _P.CONNECTED,
    (_P.QUEUED, _T.DIVERT): _P.ANNOUNCING,
    (_P.QUEUED, _T.VOICEMAIL): _P.VOICEMAIL_PROMPT,
    (_P.ANNOUNCING, _T.PROMPT_DONE): _P.HANGING_UP,
    (_P.VOICEMAIL_PROMPT, _T.PROMPT_DONE): _P.VOICEMAIL_RECORDING,
    (_P.VOICEMAIL_RECORDING, _T.TIME_LIMIT): _P.HANGING_UP,
    (_P.CONNECTED, _T.AGENT_GONE): _P.HANGING_UP,
    (_P.CONNECTED, _T.HOLD): _P.HELD,
    (_P.HELD, _T.RESUME): _P.CONNECTED,
    (_P.HELD, _T.AGENT_GONE): _P.HANGING_UP,  # (hold_desk.py resumes first: not reached)
    (_P.HELD, _T.CALLER_GONE): _P.ENDED,
    (_P.CONNECTED, _T.TRANSFER): _P.TRANSFERRING,
    (_P.CONNECTED, _T.REQUEUE): _P.QUEUED,
    (_P.TRANSFERRING, _T.TRANSFERRED): _P.CONNECTED,
    (_P.TRANSFERRING, _T.REQUEUE): _P.QUEUED,
    (_P.TRANSFERRING, _T.CALLER_GONE): _P.ENDED,
    (_P.QUEUED, _T.CALLBACK_KEY): _P.CALLBACK_OFFER,
    (_P.CALLBACK_OFFER, _T.CALLBACK_CONFIRM): _P.ANNOUNCING,
    (_P.CALLBACK_OFFER, _T.CALLER_GONE): _P.ENDED,
    (_P.ROUTING, _T.CALLBACK_QUEUE): _P.QUEUED,  # no caller leg until it dials
    (_P.QUEUED, _T.WHISPER): _P.CALLBACK_WHISPER,
    (_P.CALLBACK_WHISPER, _T.PROMPT_DONE): _P.CALLBACK_DIALING,
    (_P.CALLBACK_WHISPER, _T.CALLER_GONE): _P.ENDED,  # the agent left: the attempt is over
    (_P.CALLBACK_DIALING, _T.CONNECT): _P.CONNECTED,
    (_P.CALLBACK_DIALING, _T.CALLER_GONE): _P.ENDED,  # no answer, busy, or cut off
    (_P.ROUTING, _T.CALLER_GONE): _P.ENDED,
    (_P.ANSWERING, _T.CALLER_GONE): _P.ENDED,  # no ACK (Timer H): failed, no agent touched
    (_P.ANNOUNCING, _T.CALLER_GONE): _P.ENDED,
    (_P.QUEUED, _T.CALLER_GONE): _P.ENDED,
    (_P.CONNECTED, _T.CALLER_GONE): _P.ENDED,
    (_P.VOICEMAIL_PROMPT, _T.CALLER_GONE): _P.ENDED,
    (_P.VOICEMAIL_RECORDING, _T.CALLER_GONE): _P.ENDED,
    (_P.HANGING_UP, _T.CALLER_GONE): _P.ENDED,
    (_P.ENDED, _T.SETTLED): _P.FINALISED,
    (_P.ENDED, _T.TIMED_OUT): _P.FINALISED,
}

LIVE: Final[frozenset[Phase]] = frozenset(set(Phase) - {Phase.ENDED, Phase.FINALISED})
"""Phases in which the caller's leg is up (shown by GET /calls)."""


class PhaseError(RuntimeError):
    """A transition the table does not allow: a defect in the caller, with a hint."""


class HasPhase(Protocol):
    call_id: str
    phase: Phase


def advance(session: HasPhase, trigger: Trigger) -> Phase:
    """Move `session` on by `trigger`; returns the phase it left."""
    try:
        target = TRANSITIONS[session.phase, trigger]
    except KeyError:
        raise PhaseError(
            f"call {session.call_id}: no transition from {session.phase.name} on "
            f"{trigger.value} (see TRANSITIONS in gateway/control/phases.py)"
        ) from None
    left, session.phase = session.phase, target
    return left


def mermaid_diagram() -> str:
    """The session diagram for docs/control-plane.md, generated from TRANSITIONS."""
    lines = ["stateDiagram-v2", f"    [*] --> {Phase.ROUTING.name}"]
    for (src, trigger), dst in TRANSITIONS.items():
        lines.append(f"    {src.name} --> {dst.name}: {trigger.value}")
    lines.append(f"    {Phase.FINALISED.name} --> [*]")
    return "\n".join(lines)
