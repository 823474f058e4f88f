"""HTTP Range (RFC 9110 §14) for one file: parse a `Range` header, stream the bytes.

`byte_range(header, size)` is pure: None means "send the whole file" (no header, a
unit other than bytes, a header that does not parse, or several ranges: a server may
ignore Range, and we serve multi-range requests in full rather than as
multipart/byteranges); `Unsatisfiable` means 416; otherwise the inclusive
``(first, last)`` to send with 206. Forms: ``bytes=a-b`` (b clipped to the end),
``bytes=a-``, ``bytes=-n`` (the last n bytes, all of them if n exceeds the size).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from starlette.responses import Response, StreamingResponse

CHUNK = 64 * 1024
_SPEC = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """No byte of the file is in the range asked for (416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    if header is None or "," in header:
        return None
    match = _SPEC.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid: ignored, the whole file
    if start >= size:
        raise Unsatisfiable
    return start, min(end, size - 1)


async def _chunks(path: Path, first: int, last: int) -> AsyncIterator[bytes]:
    remaining = last - first + 1
    async with await anyio.open_file(path, "rb") as f:
        await f.seek(first)
        while remaining > 0:
            data = await f.read(min(CHUNK, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data


def file_response(
    path: Path, range_header: str | None, *, media_type: str, filename: str
) -> Response:
    """200 with the whole file, 206 with one range, or 416; always `Accept-Ranges`."""
    size = path.stat().st_size
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    try:
        span = byte_range(range_header, size)
    except Unsatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    first, last, status = (0, size - 1, 200) if span is None else (*span, 206)
    if status == 206:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(
        _chunks(path, first, last), status_code=status, media_type=media_type, headers=headers
    )
