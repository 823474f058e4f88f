"""The caller's name as the carrier sent it: the display name of a From (or P-Asserted-
Identity) header, for the agent desktop's screen-pop (docs/desktop.md)."""

from __future__ import annotations

MAX_LENGTH = 255  # calls.caller_name


def display_name(header: str | None) -> str | None:
    """`"Ann Smith" <sip:+1555@x>;tag=1` -> `Ann Smith`; `Bob <sip:..>` -> `Bob`; a
    bare URI, an empty name or one made of control characters only -> None."""
    if not header or "<" not in header:
        return None
    raw = header[: header.index("<")].strip()
    if raw.startswith('"'):
        out: list[str] = []
        escaped = False
        for ch in raw[1:]:
            if escaped:
                out.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                break
            else:
                out.append(ch)
        raw = "".join(out)
    name = " ".join("".join(ch for ch in raw if ch.isprintable()).split())
    return name[:MAX_LENGTH] or None
