"""Who hears whom in one conversation: the mix matrix of hold and supervisor monitoring.

A conversation has up to three parties on one worker: the caller, the agent and a
supervisor. ``heard(held, mode)`` is the set of ``(source, listener)`` pairs whose
audio flows, as a pure function, so the matrix is unit-tested per mode and the control
plane turns it into ``Bridge``/``Mix`` commands (``flows``) without reading pjsua2:

    mode      caller hears     agent hears            supervisor hears
    (none)    agent            caller                 --
    listen    agent            caller                 caller, agent
    whisper   agent            caller, supervisor     caller, agent
    barge     agent, superv.   caller, supervisor     caller, agent

While the call is held the caller hears the queue's music only and nobody hears the
caller (cut both ways from the agent and the supervisor); the supervisor keeps hearing
the agent, and in whisper or barge can still talk to the agent (a consultation on hold).
The recorders are no party: they take what each of caller and agent says, never the
supervisor, so monitoring is never in the conversation's channels.
"""

from __future__ import annotations

import enum
from typing import Final


class Party(enum.Enum):
    CALLER = "caller"
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class MonitorMode(enum.Enum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


_C, _A, _S = Party.CALLER, Party.AGENT, Party.SUPERVISOR

_SUPERVISOR_FLOWS: Final[dict[MonitorMode, frozenset[tuple[Party, Party]]]] = {
    MonitorMode.LISTEN: frozenset({(_C, _S), (_A, _S)}),
    MonitorMode.WHISPER: frozenset({(_C, _S), (_A, _S), (_S, _A)}),
    MonitorMode.BARGE: frozenset({(_C, _S), (_A, _S), (_S, _A), (_S, _C)}),
}

DTMF_MODES: Final[dict[str, MonitorMode]] = {
    "4": MonitorMode.LISTEN,
    "5": MonitorMode.WHISPER,
    "6": MonitorMode.BARGE,
}
"""Digits from the supervisor's phone that switch the mode (as Asterisk's ChanSpy)."""


def heard(held: bool, mode: MonitorMode | None) -> frozenset[tuple[Party, Party]]:
    """Every (source, listener) pair whose audio flows."""
    flows = {(_C, _A), (_A, _C)}
    if mode is not None:
        flows |= _SUPERVISOR_FLOWS[mode]
    if held:
        flows = {(src, dst) for src, dst in flows if _C not in (src, dst)}
    return frozenset(flows)


def flows(held: bool, mode: MonitorMode | None, a: Party, b: Party) -> tuple[bool, bool]:
    """For the bridge between ``a`` and ``b``: (a hears b, b hears a)."""
    matrix = heard(held, mode)
    return (b, a) in matrix, (a, b) in matrix
