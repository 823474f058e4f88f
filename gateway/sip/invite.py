"""Reading a SIP request's head: pure functions over the raw message text.

The worker turns an INVITE into an ``IncomingCall`` (or, when pjsua refused it before
any callback, a ``CallRejected``) from ``rdata.wholeMsg``; nothing here touches
pjsua2, so it is tested on plain strings.
"""

from __future__ import annotations

import re

from gateway.ipc import protocol as p

_COMPACT = {"i": "call-id", "f": "from", "t": "to", "m": "contact", "v": "via"}

PJSIP_MAX_PKT_LEN = 4000  # pjsip's packet buffer, compiled into our pjsua2 wheel
# A response copies these headers of the request (RFC 3261 8.2.6.2, plus Record-Route
# in a dialog-creating one) ...
_COPIED = frozenset({"via", "record-route", "from", "to", "call-id", "cseq"})
# ... and pjsua adds its status line, To tag, Contact, Allow, Supported, Content-Type/
# Length and the SDP: measured 560 bytes on a bare pjsua2 200 with a one-line SDP, ~750
# with a worker's (PCMU + telephone-event, rtcp, ssrc); 800 leaves a small margin.
RESPONSE_OWN_BYTES = 800
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


def response_bytes(message: str) -> int:
    """How large our largest response to this request (a 200 with SDP) will be."""
    head = valid_text(message).split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    copied = 0
    for line in head:
        name = line.partition(":")[0].strip().lower()
        if _COMPACT.get(name, name) in _COPIED:
            copied += len(line.encode()) + 2
    return copied + RESPONSE_OWN_BYTES


def received_bytes(message: str) -> int:
    """The datagram's size: pjsua2 hands each byte that is not UTF-8 over as a surrogate."""
    try:
        return len(message.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # a surrogate that stands for no byte: count it as one
        return len(_SURROGATE.sub("?", message).encode())


def cut_off(message: str) -> bool:
    """pjsip reads a datagram into its 4000-byte buffer and parses whatever fit: a larger
    INVITE arrives cut off at exactly that size (headers lost, no body) and still looks
    like a request. A message that fills the buffer is taken for a cut one."""
    return received_bytes(message) >= PJSIP_MAX_PKT_LEN


def too_large_to_answer(message: str) -> bool:
    """pjsip could take this INVITE but not send a 200 for it: the send fails
    (PJSIP_EMSGTOOLONG) with nothing reported to pjsua2 -- ``answer()`` returns, the call
    goes CONNECTING -- and the caller never hears it; or the INVITE was cut off. Refuse
    such a request up front."""
    return cut_off(message) or response_bytes(message) > PJSIP_MAX_PKT_LEN


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
