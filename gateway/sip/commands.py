"""Command handlers, run on the owner thread: one function per protocol command.

Each handler takes the owner and the command dataclass and returns the result's
``data`` dict, or raises ``CommandError(code, message)``; pjsua2 errors are mapped
to ``sip_error`` here, at the one boundary where they can occur.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pjsua2 as pj  # type: ignore[import-untyped]

from gateway.ipc import protocol as p
from gateway.sip.endpoint import GatewayAccount, account_config
from gateway.sip.legs import Leg

if TYPE_CHECKING:
    from gateway.sip.owner import Owner


class CommandError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _leg(owner: Owner, leg_id: str) -> Leg:
    leg = owner.legs.get(leg_id)
    if leg is None or leg.closed:
        raise CommandError(p.E_NO_SUCH_LEG, f"no leg {leg_id!r}")
    return leg


def _ping(owner: Owner, c: p.Ping) -> dict[str, Any]:
    return {"legs": len(owner.legs), "max_legs": owner.cfg.max_legs, "draining": owner.draining}


def _answer(owner: Owner, c: p.Answer) -> dict[str, Any]:
    leg = _leg(owner, c.leg)
    op = pj.CallOpParam(True)
    op.statusCode = c.code
    leg.answer(op)
    if c.prompt:
        leg.play(c.prompt, c.loop)
    return {}


def _play(owner: Owner, c: p.Play) -> dict[str, Any]:
    _leg(owner, c.leg).play(c.path, c.loop)
    return {}


def _stop_play(owner: Owner, c: p.StopPlay) -> dict[str, Any]:
    _leg(owner, c.leg).stop_play()
    return {}


def _dial(owner: Owner, c: p.Dial) -> dict[str, Any]:
    if owner.draining:
        raise CommandError(p.E_DRAINING, "worker is draining")
    if len(owner.legs) >= owner.cfg.max_legs:
        raise CommandError(p.E_CAPACITY, f"all {owner.cfg.max_legs} legs in use")
    leg_id = c.leg or owner.new_leg_id("out")
    if leg_id in owner.legs:
        raise CommandError(p.E_BAD_ARGS, f"leg {leg_id!r} exists")
    if c.account:
        acc = owner.accounts.get(c.account)
    elif c.proxy:
        try:
            acc = owner.proxy_account(c.proxy)
        except (RuntimeError, pj.Error) as exc:
            raise CommandError(p.E_BAD_ARGS, f"proxy {c.proxy!r}: {exc}") from None
    else:
        acc = owner.local_acc
    if acc is None:
        raise CommandError(p.E_BAD_ARGS, f"no account {c.account!r}")
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
        raise CommandError(p.E_SIP, exc.info(False) if hasattr(exc, "info") else str(exc))
    owner.emit_capacity()

    # The timer names the leg by id: a closure over the Leg would keep it alive
    # past DISCONNECTED, and a Call deleted late corrupts another call's slot.
    owner.call_later(c.timeout, lambda: _dial_timeout(owner, leg_id))
    return {"leg": leg_id}


def _dial_timeout(owner: Owner, leg_id: str) -> None:
    leg = owner.legs.get(leg_id)
    if leg is not None and leg.state not in ("confirmed", "disconnected"):
        leg.hangup_quietly(408)


def _bridge(owner: Owner, c: p.Bridge) -> dict[str, Any]:
    a, b = _leg(owner, c.a), _leg(owner, c.b)
    if a is b:
        raise CommandError(p.E_BAD_ARGS, "cannot bridge a leg to itself")
    a.stop_play()
    b.stop_play()
    a.peers.add(b.leg_id)
    b.peers.add(a.leg_id)
    if c.linked:
        a.linked.add(b.leg_id)
        b.linked.add(a.leg_id)
    a.reconnect()
    return {}


def _unbridge(owner: Owner, c: p.Unbridge) -> dict[str, Any]:
    a, b = _leg(owner, c.a), _leg(owner, c.b)
    a.unbridge(b.leg_id)
    b.peers.discard(a.leg_id)
    a.linked.discard(b.leg_id)
    b.linked.discard(a.leg_id)
    return {}


def _record_start(owner: Owner, c: p.RecordStart) -> dict[str, Any]:
    _leg(owner, c.leg).record_start(c.path)
    return {"path": c.path}


def _record_pause(owner: Owner, c: p.RecordPause) -> dict[str, Any]:
    try:
        _leg(owner, c.leg).record_pause(True)
    except LookupError as exc:
        raise CommandError(p.E_BAD_STATE, str(exc)) from None
    return {}


def _record_resume(owner: Owner, c: p.RecordResume) -> dict[str, Any]:
    try:
        _leg(owner, c.leg).record_pause(False)
    except LookupError as exc:
        raise CommandError(p.E_BAD_STATE, str(exc)) from None
    return {}


def _record_stop(owner: Owner, c: p.RecordStop) -> dict[str, Any]:
    _leg(owner, c.leg).record_stop()
    return {}


def _send_dtmf(owner: Owner, c: p.SendDtmf) -> dict[str, Any]:
    leg = _leg(owner, c.leg)
    if leg.state != "confirmed":
        raise CommandError(p.E_BAD_STATE, "leg is not answered")
    leg.dialDtmf(c.digits)
    return {}


def _hangup(owner: Owner, c: p.Hangup) -> dict[str, Any]:
    leg = _leg(owner, c.leg)
    op = pj.CallOpParam()
    # The code only matters for an unanswered incoming leg (the final response);
    # otherwise pjsua sends CANCEL or BYE.
    op.statusCode = c.code if (leg.incoming and leg.state != "confirmed") else 0
    if c.reason:
        op.reason = c.reason
    leg.hangup(op)
    return {}


def _register(owner: Owner, c: p.Register) -> dict[str, Any]:
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
        raise CommandError(p.E_CAPACITY, "too many registrations on this worker")
    acc = GatewayAccount(owner, c.account)
    acc.create(cfg)
    owner.accounts[c.account] = acc
    return {"account": c.account, "replaced": False}


def _unregister(owner: Owner, c: p.Unregister) -> dict[str, Any]:
    acc = owner.accounts.pop(c.account, None)
    if acc is None:
        raise CommandError(p.E_BAD_ARGS, f"no account {c.account!r}")
    acc.shutdown()  # sends REGISTER with Expires: 0
    return {}


def _drain(owner: Owner, c: p.Drain) -> dict[str, Any]:
    owner.draining = True
    owner.emit_capacity()
    return {"legs": len(owner.legs)}


def _shutdown(owner: Owner, c: p.Shutdown) -> dict[str, Any]:
    owner.draining = True
    owner.stop_after(c.grace)
    return {"legs": len(owner.legs)}


HANDLERS: dict[type, Callable[[Any, Any], dict[str, Any]]] = {
    p.Ping: _ping,
    p.Answer: _answer,
    p.Play: _play,
    p.StopPlay: _stop_play,
    p.Dial: _dial,
    p.Bridge: _bridge,
    p.Unbridge: _unbridge,
    p.RecordStart: _record_start,
    p.RecordPause: _record_pause,
    p.RecordResume: _record_resume,
    p.RecordStop: _record_stop,
    p.SendDtmf: _send_dtmf,
    p.Hangup: _hangup,
    p.Register: _register,
    p.Unregister: _unregister,
    p.Drain: _drain,
    p.Shutdown: _shutdown,
}


def execute(owner: Owner, cmd: Any) -> dict[str, Any]:
    handler = HANDLERS.get(type(cmd))
    if handler is None:
        raise CommandError(p.E_BAD_ARGS, f"unknown command {type(cmd).__name__}")
    try:
        return handler(owner, cmd)
    except pj.Error as exc:
        raise CommandError(p.E_SIP, getattr(exc, "reason", str(exc))) from None


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
