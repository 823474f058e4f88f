"""The write-behind's journal: every pending write as a JSON line, so none is lost.

Lines are ``{"n": 7, "op": {...}}`` (an op, numbered in arrival order) and
``{"done": 7}`` (every op up to 7 is in the database or dead-lettered). An op is
appended when it is handed over, with one ``write(2)`` and no fsync: the kernel holds
it from then on, so a SIGKILLed or crashed control plane loses nothing; ``sync`` (the
flusher calls it before a batch, at most once a second, off the loop) covers a machine
crash up to then, as SQLite's WAL with ``synchronous=NORMAL`` does for the database.
When nothing is pending the file is truncated, so it stays small.

:meth:`Journal.open` reads a journal left by a previous process (a torn last line, from
a crash mid-write, is skipped), rewrites it with the pending ops only, and returns
them: they are written first, in their order, carefully (write_sql.py), so an op that
had committed but not been marked done is not written twice.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from gateway.store.write_ops import WriteOp, as_dict, dumps, from_dict, parse

log = logging.getLogger(__name__)

COMPACT_BYTES = 64 * 1024 * 1024  # rewrite with the pending ops only past this size


class Journal:
    def __init__(self, path: Path, fd: int) -> None:
        self.path, self._fd = path, fd
        self._size = os.fstat(fd).st_size
        self._done_since_compaction = 0

    @classmethod
    def open(cls, path: Path) -> tuple[Journal, list[WriteOp]]:
        path.parent.mkdir(parents=True, exist_ok=True)
        pending = _read(path) if path.exists() else []
        tmp = path.with_name(path.name + ".tmp")
        _write_all(tmp, [_line(n, op) for n, op in enumerate(pending, 1)])
        os.replace(tmp, path)
        _sync_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        return cls(path, fd), pending

    def append(self, n: int, op: WriteOp) -> None:
        self._write(_line(n, op))

    def done(self, n: int, *, nothing_pending: bool) -> None:
        if nothing_pending:  # everything is in: start the file afresh
            os.ftruncate(self._fd, 0)
            self._size = 0
            return
        self._write(dumps({"done": n}) + "\n")

    @property
    def oversized(self) -> bool:
        """Grown large (a long outage with writes committing now and then): compact."""
        return self._size >= COMPACT_BYTES

    def compact(self, pending: list[tuple[int, WriteOp]]) -> None:
        """Rewrite the file with ``pending`` only."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        _write_all(tmp, [_line(n, op) for n, op in pending])
        os.replace(tmp, self.path)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._size = os.fstat(self._fd).st_size

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)

    def _write(self, line: str) -> None:
        data = line.encode()
        os.write(self._fd, data)
        self._size += len(data)


def _line(n: int, op: WriteOp) -> str:
    return dumps({"n": n, "op": as_dict(op)}) + "\n"


def _read(path: Path) -> list[WriteOp]:
    ops: dict[int, WriteOp] = {}
    done = 0
    lines = path.read_bytes().split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            entry: dict[str, Any] = parse(raw.decode())
            if "done" in entry:
                done = max(done, int(entry["done"]))
            else:
                ops[int(entry["n"])] = from_dict(entry["op"])
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            if number < len(lines) - 1 or raw.endswith(b"}"):
                log.error("write journal %s line %d unreadable, skipped: %s", path, number, exc)
            # else: the torn last line of a process killed mid-write; it never returned
    pending = [op for n, op in sorted(ops.items()) if n > done]
    if pending:
        log.warning(
            "write journal: %d writes left by the previous run, written first", len(pending)
        )
    return pending


def _write_all(path: Path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
        f.flush()
        os.fsync(f.fileno())


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
