"""A child's output in a file instead of a pipe, for children that outlive us.

Why a file: a pipe's reader dies with the control plane. Kamailio 5.6 catches SIGPIPE,
so it keeps running when the reader is gone, but every line after that is lost (measured,
docs/edge.md); and a reader that is alive but stopped (SIGSTOP, a hung loop) fills the
pipe and blocks the child's next log write. A file is written by the child on its own
and read by whoever supervises it now: the one that started it or the one that adopted it.

- `open_for_child(path)` keeps the previous run's file as `<name>.1` and returns a fresh
  descriptor in O_APPEND mode for the child's stdout and stderr.
- `tail(path, offset, finished)` yields complete lines written after `offset` until
  `finished()` is true and the file is drained. The file is bounded: once the reader has
  read past `max_bytes` and is at the end, it truncates the file to 0 (safe with O_APPEND:
  the child's next write lands at the new end). Lines written between the last read and
  the truncation are lost: a few lines per `max_bytes` written, the price of no rotation
  signal the child would have to understand.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

POLL_S = 0.1
MAX_BYTES = 8 * 1024 * 1024


def open_for_child(path: Path) -> int:
    """A write descriptor for the child's output; the previous file becomes `<name>.1`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.replace(path.with_name(path.name + ".1"))
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)


def end_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def tail(
    path: Path,
    offset: int,
    finished: Callable[[], bool],
    *,
    poll_s: float = POLL_S,
    max_bytes: int = MAX_BYTES,
) -> AsyncIterator[bytes]:
    """Lines (without the newline) written to `path` from `offset` on."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return
    with f:
        f.seek(offset)
        partial = b""
        while True:
            chunk = f.read(65536)
            if chunk:
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    yield line
                continue
            if finished():  # it wrote its last line before it exited: read once more
                for line in (partial + f.read()).split(b"\n"):
                    if line:
                        yield line
                return
            if f.tell() > max_bytes and not partial:
                os.truncate(path, 0)
                f.seek(0)
            elif f.tell() > end_of(path):  # truncated by someone else
                f.seek(0)
            await asyncio.sleep(poll_s)
