"""Command handlers, run on the owner thread: one function per protocol command.

Each handler takes the worker's state (``state.SipState``) and the command dataclass
and returns the result's ``data`` dict, or raises a ``gateway.ipc.errors.WorkerError``
subclass. ``execute`` is the one place where a pjsua2 error becomes a failure
(``SipFailure``, via ``pjerrors``). The table is built by ``@handles(CommandClass)``,
which refuses a second handler for a command; a unit test checks that every command
of the registry has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pjsua2 as pj  # type: ignore[import-untyped]

from gateway.ipc import protocol as p
from gateway.ipc.errors import BadArgs, BadState, CapacityExceeded, Draining, NoSuchLeg
from gateway.sip.legs import Leg
from gateway.sip.pjerrors import PJ_ERROR, sip_failure

if TYPE_CHECKING:
    from gateway.sip.state import SipState

Data = dict[str, object]
C = TypeVar("C", bound=p.Command)
HANDLERS: dict[type, Callable[[SipState, Any], Data]] = {}


def handles(
    cls: type[C],
) -> Callable[[Callable[[SipState, C], Data]], Callable[[SipState, C], Data]]:
    """Register the handler of ``cls`` (exactly one per command)."""

    def register(fn: Callable[[SipState, C], Data]) -> Callable[[SipState, C], Data]:
        if cls in HANDLERS:
            raise TypeError(f"{cls.__name__} already has a handler")
        HANDLERS[cls] = fn
        return fn

    return register


def execute(state: SipState, cmd: p.Command) -> Data:
    handler = HANDLERS.get(type(cmd))
    if handler is None:
        raise BadArgs(state.worker_id, f"unknown command {type(cmd).__name__}")
    try:
        return handler(state, cmd)
    except PJ_ERROR as exc:
        raise sip_failure(state.worker_id, exc) from None


def _leg(state: SipState, leg_id: str) -> Leg:
    leg = state.legs.get(leg_id)
    if leg is None or leg.closed:
        raise NoSuchLeg(state.worker_id, f"no leg {leg_id!r}")
    return leg


# ------------------------------------------------------------------ legs and media
@handles(p.Ping)
def _ping(state: SipState, c: p.Ping) -> Data:
    return {"legs": len(state.legs), "max_legs": state.cfg.max_legs, "draining": state.draining}


@handles(p.Answer)
def _answer(state: SipState, c: p.Answer) -> Data:
    leg = _leg(state, c.leg)
    op = pj.CallOpParam(True)
    op.statusCode = c.code
    leg.answer(op)
    if c.prompt:
        leg.play(c.prompt, c.loop)
    return {}


@handles(p.Play)
def _play(state: SipState, c: p.Play) -> Data:
    _leg(state, c.leg).play(c.path, c.loop)
    return {}


@handles(p.StopPlay)
def _stop_play(state: SipState, c: p.StopPlay) -> Data:
    _leg(state, c.leg).stop_play()
    return {}


@handles(p.Dial)
def _dial(state: SipState, c: p.Dial) -> Data:
    wid = state.worker_id
    if state.draining:
        raise Draining(wid, "worker is draining")
    if len(state.legs) >= state.cfg.max_legs:
        raise CapacityExceeded(wid, f"all {state.cfg.max_legs} legs in use")
    leg_id = c.leg or state.new_leg_id("out")
    if leg_id in state.legs:
        raise BadArgs(wid, f"leg {leg_id!r} exists")
    acc = state.accounts.for_dial(c.account, c.proxy)
    op = pj.CallOpParam(True)
    for name, value in c.headers.items():
        h = pj.SipHeader()
        h.hName, h.hValue = name, value
        op.txOption.headers.append(h)
    if c.caller_id:
        op.txOption.localUri = c.caller_id
    leg = Leg(state, acc, leg_id)
    state.legs[leg_id] = leg  # before makeCall: its callbacks may fire inside it
    try:
        leg.makeCall(c.uri, op)
    except PJ_ERROR:
        state.legs.pop(leg_id, None)
        raise  # execute() maps it
    state.emit_capacity()
    # The timer names the leg by id: a closure over the Leg would keep it alive
    # past DISCONNECTED, and a Call deleted late corrupts another call's slot.
    state.call_later(c.timeout, lambda: _dial_timeout(state, leg_id))
    return {"leg": leg_id}


def _dial_timeout(state: SipState, leg_id: str) -> None:
    leg = state.legs.get(leg_id)
    if leg is not None and leg.state not in (p.LegState.CONFIRMED, p.LegState.DISCONNECTED):
        leg.hangup_quietly(408)


@handles(p.Bridge)
def _bridge(state: SipState, c: p.Bridge) -> Data:
    a, b = _leg(state, c.a), _leg(state, c.b)
    if a is b:
        raise BadArgs(state.worker_id, "cannot bridge a leg to itself")
    if c.a_hears_b:
        a.stop_play()
    if c.b_hears_a:
        b.stop_play()
    state.bridges.join(a.leg_id, b.leg_id, c.linked, c.a_hears_b, c.b_hears_a)
    a.reconnect()
    return {}


@handles(p.Mix)
def _mix(state: SipState, c: p.Mix) -> Data:
    a, b = _leg(state, c.a), _leg(state, c.b)
    if not state.bridges.mix(a.leg_id, b.leg_id, c.a_hears_b, c.b_hears_a):
        raise BadState(state.worker_id, f"legs {c.a!r} and {c.b!r} are not bridged")
    a.reconnect()
    return {}


@handles(p.Unbridge)
def _unbridge(state: SipState, c: p.Unbridge) -> Data:
    a, b = _leg(state, c.a), _leg(state, c.b)
    state.bridges.split(a.leg_id, b.leg_id)
    a.disconnect_audio(b)
    return {}


@handles(p.RecordStart)
def _record_start(state: SipState, c: p.RecordStart) -> Data:
    _leg(state, c.leg).record_start(c.path)
    return {"path": c.path}


def _record_pause(state: SipState, leg_id: str, paused: bool) -> Data:
    try:
        _leg(state, leg_id).record_pause(paused)
    except LookupError as exc:
        raise BadState(state.worker_id, str(exc)) from None
    return {}


@handles(p.RecordPause)
def _record_paused(state: SipState, c: p.RecordPause) -> Data:
    return _record_pause(state, c.leg, True)


@handles(p.RecordResume)
def _record_resumed(state: SipState, c: p.RecordResume) -> Data:
    return _record_pause(state, c.leg, False)


@handles(p.RecordStop)
def _record_stop(state: SipState, c: p.RecordStop) -> Data:
    _leg(state, c.leg).record_stop()
    return {}


@handles(p.SendDtmf)
def _send_dtmf(state: SipState, c: p.SendDtmf) -> Data:
    leg = _leg(state, c.leg)
    if not leg.answered:
        raise BadState(state.worker_id, "leg is not answered")
    leg.dialDtmf(c.digits)
    return {}


@handles(p.Hangup)
def _hangup(state: SipState, c: p.Hangup) -> Data:
    leg = _leg(state, c.leg)
    op = pj.CallOpParam()
    # The code only matters for an unanswered incoming leg (the final response);
    # otherwise pjsua sends CANCEL or BYE.
    op.statusCode = c.code if (leg.incoming and not leg.answered) else 0
    if c.reason:
        op.reason = c.reason
    leg.hangup(op)
    return {}


@handles(p.Annotate)
def _annotate(state: SipState, c: p.Annotate) -> Data:
    _leg(state, c.leg).note = c.note
    return {}


# ------------------------------------------------------------------ accounts, worker
@handles(p.Register)
def _register(state: SipState, c: p.Register) -> Data:
    return {"account": c.account, "replaced": state.accounts.register(c)}


@handles(p.Unregister)
def _unregister(state: SipState, c: p.Unregister) -> Data:
    state.accounts.unregister(c.account)
    return {}


@handles(p.Drain)
def _drain(state: SipState, c: p.Drain) -> Data:
    state.draining = True
    state.emit_capacity()
    return {"legs": len(state.legs)}


@handles(p.Shutdown)
def _shutdown(state: SipState, c: p.Shutdown) -> Data:
    state.draining = True
    state.scheduler.stop_after(c.grace)
    return {"legs": len(state.legs)}
