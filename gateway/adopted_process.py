"""A running process that is not our child (adopted from a dead control plane).

It cannot be waited for, so it is watched through a pidfd: the descriptor becomes
readable when the process exits (Linux >= 5.3), the loop notices (`add_reader`) and
`returncode` is set. Its exit status belongs to its real parent (init), so it reads as
`UNKNOWN_EXIT`. Signals go through the pidfd too: once the process is gone they fail
instead of reaching a new process that got the same pid.

It offers what the supervision code uses of `asyncio.subprocess.Process`: `pid`,
`returncode`, `send_signal`, `kill`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

UNKNOWN_EXIT = -1


class AdoptedProcess:
    def __init__(self, pid: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Raises `ProcessLookupError` if `pid` is gone already."""
        self.pid = pid
        self.returncode: int | None = None
        self._fd: int | None = os.pidfd_open(pid)
        self._loop = loop or asyncio.get_running_loop()
        self._loop.add_reader(self._fd, self._gone)

    def _gone(self) -> None:
        self.returncode = UNKNOWN_EXIT
        self._close()

    def _close(self) -> None:
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None

    def send_signal(self, sig: int) -> None:
        if self._fd is None:
            raise ProcessLookupError(self.pid)
        signal.pidfd_send_signal(self._fd, sig)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.send_signal(signal.SIGKILL)

    def close(self) -> None:
        """Stop watching (the process keeps running)."""
        self._close()
