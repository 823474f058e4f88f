"""Child processes reaped by the event loop, not by one thread each.

asyncio on Python 3.11 reaps the children of ``create_subprocess_exec`` with
``ThreadedChildWatcher``: a thread per child, blocked in ``waitpid`` for the child's
whole life, so 64 workers meant 64 more threads in the control plane (137 in all).
``PidfdChildWatcher`` (Linux >= 5.3) instead puts each child's pidfd in the loop's
selector: it becomes readable when the child exits, and the loop reaps it then. No
thread, no signal handler, and children started by others (``subprocess.run``,
``multiprocessing``) are left alone.

``watch_children()`` installs it for the running loop; it is idempotent and called by
everything here that starts children (WorkerPool, ManagedProcess), before the first
spawn: a child started earlier keeps its waiting thread until it exits, then the thread
ends. Without pidfd support (an old kernel, a seccomp filter) the threaded watcher
stays, and ``watch_children`` says so once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings

log = logging.getLogger(__name__)

_warned = False


def pidfd_supported() -> bool:
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        fd = os.pidfd_open(os.getpid())
    except OSError:  # ENOSYS on kernels before 5.3, EPERM under some sandboxes
        return False
    os.close(fd)
    return True


def watch_children() -> str:
    """Use the pidfd watcher on the running loop; returns ``"pidfd"`` or ``"threaded"``."""
    global _warned
    loop = asyncio.get_running_loop()
    with warnings.catch_warnings():  # the child-watcher API is deprecated from 3.12
        warnings.simplefilter("ignore", DeprecationWarning)
        current = asyncio.get_child_watcher()
        if isinstance(current, asyncio.PidfdChildWatcher):
            if not current.is_active():  # attached to an earlier, closed loop (tests)
                current.attach_loop(loop)
            return "pidfd"
        if not pidfd_supported():
            if not _warned:
                _warned = True
                log.warning("pidfd_open is not available: one waiting thread per child process")
            return "threaded"
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(loop)
        asyncio.set_child_watcher(watcher)  # the threaded one's threads end with their child
    return "pidfd"
