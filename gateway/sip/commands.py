"""Command handlers, run on the owner thread: one function per protocol command.

Each handler takes the owner and the command dataclass and returns the result's
``data`` dict, or raises a ``gateway.ipc.errors.WorkerError`` subclass; pjsua2 errors
are mapped to ``SipFailure`` here, at the one boundary where they can occur. The table
is built by ``@handles(CommandClass)``, which refuses a second handler for a command;
a unit test checks that every command of the registry has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pjsua2 as pj  # type: ignore[import-untyped]

from gateway.ipc import protocol as p
from gateway.ipc.errors import (
    BadArgs,
    BadState,
    CapacityExceeded,
    Draining,
    NoSuchLeg,
    SipFailure,
)
from gateway.sip.endpoint import GatewayAccount, account_config
from gateway.sip.legs import Leg

if TYPE_CHECKING:
    from gateway.sip.owner import Owner


Data = dict[str, object]
C = TypeVar("C", bound=p.Command)
HANDLERS: dict[type, Callable[[Owner, Any], Data]] = {}


def handles(cls: type[C]) -> Callable[[Callable[[Owner, C], Data]], Callable[[Owner, C], Data]]:
    """Register the handler of ``cls`` (exactly one per command)."""

    def register(fn: Callable[[Owner, C], Data]) -> Callable[[Owner, C], Data]:
        if cls in HANDLERS:
            raise TypeError(f"{cls.__name__} already has a handler")
        HANDLERS[cls] = fn
        return fn

    return register


def _leg(owner: Owner, leg_id: str) -> Leg:
    leg = owner.legs.get(leg_id)
    if leg is None or leg.closed:
        raise NoSuchLeg(owner.cfg.worker_id, f"no leg {leg_id!r}")
    return leg


@handles(p.Ping)
def _ping(owner: Owner, c: p.Ping) -> Data:
    return {"legs": len(owner.legs), "max_legs": owner.cfg.max_legs, "draining": owner.draining}


@handles(p.Answer)
def _answer(owner: Owner, c: p.Answer) -> Data:
    leg = _leg(owner, c.leg)
    op = pj.CallOpParam(True)
    op.statusCode = c.code
    leg.answer(op)
    if c.prompt:
        leg.play(c.prompt, c.loop)
    return {}


@handles(p.Play)
def _play(owner: Owner, c: p.Play) -> Data:
    _leg(owner, c.leg).play(c.path, c.loop)
    return {}


@handles(p.StopPlay)
def _stop_play(owner: Owner, c: p.StopPlay) -> Data:
    _leg(owner, c.leg).stop_play()
    return {}


@handles(p.Dial)
def _dial(owner: Owner, c: p.Dial) -> Data:
    if owner.draining:
        raise Draining(owner.cfg.worker_id, "worker is draining")
    if len(owner.legs) >= owner.cfg.max_legs:
        raise CapacityExceeded(owner.cfg.worker_id, f"all {owner.cfg.max_legs} legs in use")
    leg_id = c.leg or owner.new_leg_id("out")
    if leg_id in owner.legs:
        raise BadArgs(owner.cfg.worker_id, f"leg {leg_id!r} exists")
    if c.account:
        acc = owner.accounts.get(c.account)
    elif c.proxy:
        try:
            acc = owner.proxy_account(c.proxy)
        except (RuntimeError, pj.Error) as exc:
            raise BadArgs(owner.cfg.worker_id, f"proxy {c.proxy!r}: {exc}") from None
    else:
        acc = owner.local_acc
    if acc is None:
        raise BadArgs(owner.cfg.worker_id, f"no account {c.account!r}")
    op = pj.CallOpParam(True)
    for name, value in c.headers.items():
        h = pj.SipHeader()
        h.hName, h.hValue = name, value
        op.txOption.headers.append(h)
    if c.caller_id:
        op.txOption.localUri = c.caller_id
    leg = Leg(owner, acc, leg_id)
    owner.legs[leg_id] = leg  # before makeCall: its callbacks may fire inside it
    try:
        leg.makeCall(c.uri, op)
    except pj.Error as exc:
        owner.legs.pop(leg_id, None)
        raise SipFailure(owner.cfg.worker_id, exc.info(False) if hasattr(exc, "info") else str(exc))
    owner.emit_capacity()

    # The timer names the leg by id: a closure over the Leg would keep it alive
    # past DISCONNECTED, and a Call deleted late corrupts another call's slot.
    owner.call_later(c.timeout, lambda: _dial_timeout(owner, leg_id))
    return {"leg": leg_id}


def _dial_timeout(owner: Owner, leg_id: str) -> None:
    leg = owner.legs.get(leg_id)
    if leg is not None and leg.state not in (p.LegState.CONFIRMED, p.LegState.DISCONNECTED):
        leg.hangup_quietly(408)


@handles(p.Bridge)
def _bridge(owner: Owner, c: p.Bridge) -> Data:
    a, b = _leg(owner, c.a), _leg(owner, c.b)
    if a is b:
        raise BadArgs(owner.cfg.worker_id, "cannot bridge a leg to itself")
    a.stop_play()
    b.stop_play()
    a.peers.add(b.leg_id)
    b.peers.add(a.leg_id)
    if c.linked:
        a.linked.add(b.leg_id)
        b.linked.add(a.leg_id)
    a.reconnect()
    return {}


@handles(p.Unbridge)
def _unbridge(owner: Owner, c: p.Unbridge) -> Data:
    a, b = _leg(owner, c.a), _leg(owner, c.b)
    a.unbridge(b.leg_id)
    b.peers.discard(a.leg_id)
    a.linked.discard(b.leg_id)
    b.linked.discard(a.leg_id)
    return {}


@handles(p.RecordStart)
def _record_start(owner: Owner, c: p.RecordStart) -> Data:
    _leg(owner, c.leg).record_start(c.path)
    return {"path": c.path}


@handles(p.RecordPause)
def _record_pause(owner: Owner, c: p.RecordPause) -> Data:
    try:
        _leg(owner, c.leg).record_pause(True)
    except LookupError as exc:
        raise BadState(owner.cfg.worker_id, str(exc)) from None
    return {}


@handles(p.RecordResume)
def _record_resume(owner: Owner, c: p.RecordResume) -> Data:
    try:
        _leg(owner, c.leg).record_pause(False)
    except LookupError as exc:
        raise BadState(owner.cfg.worker_id, str(exc)) from None
    return {}


@handles(p.RecordStop)
def _record_stop(owner: Owner, c: p.RecordStop) -> Data:
    _leg(owner, c.leg).record_stop()
    return {}


@handles(p.SendDtmf)
def _send_dtmf(owner: Owner, c: p.SendDtmf) -> Data:
    leg = _leg(owner, c.leg)
    if leg.state is not p.LegState.CONFIRMED:
        raise BadState(owner.cfg.worker_id, "leg is not answered")
    leg.dialDtmf(c.digits)
    return {}


@handles(p.Hangup)
def _hangup(owner: Owner, c: p.Hangup) -> Data:
    leg = _leg(owner, c.leg)
    op = pj.CallOpParam()
    # The code only matters for an unanswered incoming leg (the final response);
    # otherwise pjsua sends CANCEL or BYE.
    op.statusCode = c.code if (leg.incoming and leg.state is not p.LegState.CONFIRMED) else 0
    if c.reason:
        op.reason = c.reason
    leg.hangup(op)
    return {}


@handles(p.Register)
def _register(owner: Owner, c: p.Register) -> Data:
    cfg = account_config(
        owner.cfg,
        c.id_uri,
        registrar=c.registrar,
        username=c.username,
        password=c.password,
        realm=c.realm,
        contact=c.contact,
        proxy=c.proxy,
        expires=c.expires,
    )
    acc = owner.accounts.get(c.account)
    if acc is not None:
        acc.modify(cfg)
        return {"account": c.account, "replaced": True}
    if len(owner.accounts) >= owner.cfg.max_registrations:
        raise CapacityExceeded(owner.cfg.worker_id, "too many registrations on this worker")
    acc = GatewayAccount(owner, c.account)
    acc.create(cfg)
    owner.accounts[c.account] = acc
    return {"account": c.account, "replaced": False}


@handles(p.Unregister)
def _unregister(owner: Owner, c: p.Unregister) -> Data:
    acc = owner.accounts.pop(c.account, None)
    if acc is None:
        raise BadArgs(owner.cfg.worker_id, f"no account {c.account!r}")
    acc.shutdown()  # sends REGISTER with Expires: 0
    return {}


@handles(p.Drain)
def _drain(owner: Owner, c: p.Drain) -> Data:
    owner.draining = True
    owner.emit_capacity()
    return {"legs": len(owner.legs)}


@handles(p.Shutdown)
def _shutdown(owner: Owner, c: p.Shutdown) -> Data:
    owner.draining = True
    owner.stop_after(c.grace)
    return {"legs": len(owner.legs)}


def execute(owner: Owner, cmd: p.Command) -> Data:
    handler = HANDLERS.get(type(cmd))
    if handler is None:
        raise BadArgs(owner.cfg.worker_id, f"unknown command {type(cmd).__name__}")
    try:
        return handler(owner, cmd)
    except pj.Error as exc:
        raise SipFailure(owner.cfg.worker_id, getattr(exc, "reason", str(exc))) from None


# ------------------------------------------------------------------ incoming INVITE
_COMPACT = {"i": "call-id", "f": "from", "t": "to", "m": "contact", "v": "via"}


def parse_headers(message: str) -> dict[str, str]:
    """Header name (lower case, compact forms expanded) -> first value; the request
    line is under ``""``."""
    head = message.split("\r\n\r\n", 1)[0].split("\r\n")
    out = {"": head[0]}
    for line in head[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            out.setdefault(_COMPACT.get(key, key), value.strip())
    return out


def incoming_event(leg_id: str, rdata: Any) -> p.IncomingCall:
    """Turn the INVITE into an IncomingCall event (raw pjsua2 data stays here)."""
    h = parse_headers(rdata.wholeMsg)
    parts = h[""].split(" ")
    return p.IncomingCall(
        leg=leg_id,
        call_id=h.get("call-id", ""),
        request_uri=parts[1] if len(parts) > 1 else "",
        from_uri=h.get("from", ""),
        to_uri=h.get("to", ""),
        source=rdata.srcAddress,
        pai=h.get("p-asserted-identity"),
        diversion=h.get("diversion"),
        trunk=h.get("x-contactgw-trunk"),
    )
