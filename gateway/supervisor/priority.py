"""CPU priority of the processes whose timing is audible.

A worker's media threads (pjmedia's clock, one per worker, mixing and recording every
20 ms) must run on time or the recordings get 20 ms holes; everything else on the box
(the control plane's per-call bursts, the edge, the finalizer, other tenants) can wait
a few milliseconds without anyone hearing it. ``renice(pid, nice)`` gives a freshly
spawned worker its nice value right after the spawn: on Linux the value is per
thread and new threads inherit their creator's, and a worker starts its threads only
once pjsua2 is imported and initialised, long after this call.

A negative value needs root or CAP_SYS_NICE; without it the worker keeps the default
(0), which is logged once, and nothing else changes.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

_warned = False


def renice(pid: int, nice: int) -> bool:
    """Set ``pid``'s nice value; False when not allowed or already gone."""
    global _warned
    if nice == 0:
        return True
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except PermissionError:
        if not _warned:
            _warned = True
            log.info("workers keep nice 0: setting %d needs CAP_SYS_NICE", nice)
        return False
    except ProcessLookupError:
        return False
    return True
