"""Text from the network, made safe for one log line.

SIP header values, Kamailio's relayed output (which quotes whatever datagram it could
not parse), IPC lines from a worker: any of them can hold CR/LF (a forged second log
line), ANSI escapes (rewrite the operator's terminal), NUL or undecodable bytes.
`printable()` is the one place that turns such a value into something a log line can
carry: every character that is not printable (`str.isprintable`: control characters,
line and paragraph separators, format characters such as U+202E), and the backslash
itself, become escapes; bytes that are not UTF-8 become ``\\xNN``; only the first `limit`
characters of the value are kept (an escape counts as one), and the number cut off is
said at the end.

Use it at the log call, on the value: ``log.info("call from %s", printable(caller))``.
"""

from __future__ import annotations

LIMIT = 200


def _escape(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch.isprintable():
        return ch
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(value: object, limit: int = LIMIT) -> str:
    """`value` (str, bytes or anything with a str()) escaped and capped at `limit`."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", errors="surrogateescape")
    else:
        text = str(value)
    cut = len(text) - limit if len(text) > limit else 0
    out = "".join(map(_escape, text[:limit] if cut else text))
    return f"{out}...[{cut} more]" if cut else out
