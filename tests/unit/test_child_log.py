"""A child's log file, tailed: whole lines, from an offset, bounded, drained at the end."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.child_log import end_of, open_for_child, tail


async def collect(path: Path, offset: int, writes: list[bytes], **kw: int) -> list[bytes]:
    """Tail `path`, doing one of `writes` each time the reader waits; finished after."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    pending = list(writes)

    def finished() -> bool:
        if pending:
            os.write(fd, pending.pop(0))
            return False
        return True

    try:
        return [line async for line in tail(path, offset, finished, poll_s=0, **kw)]
    finally:
        os.close(fd)


async def test_lines_after_the_offset_whole_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "k.log"
    path.write_bytes(b"old line\n")
    offset = end_of(path)
    lines = await collect(path, offset, [b"one\ntw", b"o\n", b"", b"last without newline"])
    assert lines == [b"one", b"two", b"last without newline"]


async def test_the_file_is_truncated_once_read_past_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "k.log"
    path.touch()
    lines = await collect(path, 0, [b"a" * 50 + b"\n", b"", b"after\n"], max_bytes=40)
    assert lines == [b"a" * 50, b"after"]
    assert path.read_bytes() == b"after\n"  # the child's O_APPEND write landed at the start


def test_a_new_run_keeps_the_previous_file_once(tmp_path: Path) -> None:
    path = tmp_path / "k.log"
    for text in (b"first\n", b"second\n", b"third\n"):
        fd = open_for_child(path)
        os.write(fd, text)
        os.close(fd)
    assert path.read_bytes() == b"third\n"
    assert (tmp_path / "k.log.1").read_bytes() == b"second\n"


async def test_a_missing_file_yields_nothing(tmp_path: Path) -> None:
    assert [x async for x in tail(tmp_path / "none", 0, lambda: True)] == []
