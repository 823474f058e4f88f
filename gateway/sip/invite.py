"""Reading a SIP request's head: pure functions over the raw message text.

The worker turns an INVITE into an ``IncomingCall`` (or, when pjsua refused it before
any callback, a ``CallRejected``) from ``rdata.wholeMsg``; nothing here touches
pjsua2, so it is tested on plain strings.
"""

from __future__ import annotations

import re

from gateway.ipc import protocol as p

_COMPACT = {"i": "call-id", "f": "from", "t": "to", "m": "contact", "v": "via"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(message: str) -> str:
    """The message as valid Unicode: pjsua2 hands bytes that are not UTF-8 over as lone
    surrogates (``\\udcff``), which no database or JSON consumer accepts; each becomes
    U+FFFD, so a hostile header can never break a call record downstream."""
    return _SURROGATE.sub("\ufffd", message)


def parse_headers(message: str) -> dict[str, str]:
    """Header name (lower case, compact forms expanded) -> first value; the request
    line is under ``""``."""
    head = valid_text(message).split("\r\n\r\n", 1)[0].split("\r\n")
    out = {"": head[0]}
    for line in head[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            out.setdefault(_COMPACT.get(key, key), value.strip())
    return out


def incoming_call(leg_id: str, message: str, source: str) -> p.IncomingCall:
    """The event for a new incoming leg; ``source`` is the sender's ip:port."""
    h = parse_headers(message)
    parts = h[""].split(" ")
    return p.IncomingCall(
        leg=leg_id,
        call_id=h.get("call-id", ""),
        request_uri=parts[1] if len(parts) > 1 else "",
        from_uri=h.get("from", ""),
        to_uri=h.get("to", ""),
        source=source,
        pai=h.get("p-asserted-identity"),
        diversion=h.get("diversion"),
        trunk=h.get("x-contactgw-trunk"),
    )


def call_rejected(message: str, code: int, reason: str) -> p.CallRejected:
    """The event for an INVITE pjsua answered itself (e.g. 486: all slots in use)."""
    h = parse_headers(message)
    return p.CallRejected(h.get("call-id", ""), int(code), reason, h.get("from", ""))
