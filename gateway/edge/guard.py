"""The edge's orphan guard: ends a Kamailio whose control plane did not come back.

    python -m gateway.edge.guard --pid P --heartbeat FILE --timeout T

Started by the edge manager next to each new Kamailio (gateway/edge/orphan.py), in its
own session and without PDEATHSIG, so it outlives the control plane with the edge. It
holds a pidfd of the edge, so its signals can only reach that process, never a later one
that reuses the pid. Every `POLL_S` it looks at two things:

- the edge is gone (the pidfd is readable): exit 0;
- the heartbeat (gateway/supervisor/heartbeat.py) has not changed for T seconds: SIGTERM
  the edge (Kamailio stops its children and the calls' signalling with it), SIGKILL it and
  its process group if it is still there after `KILL_AFTER_S`, exit 0.

A control plane that adopts the edge touches the same heartbeat file, so the guard of an
adopted edge simply keeps running. Logs go to stderr (the manager points it at a file).
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import sys
import time
from pathlib import Path

from gateway.supervisor.heartbeat import Staleness, mtime_ns

log = logging.getLogger("gateway.edge.guard")

POLL_S = 0.25
KILL_AFTER_S = 10.0


def gone(pidfd: int, wait_s: float) -> bool:
    """True once the process behind `pidfd` has exited (waits at most `wait_s`)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(wait_s * 1000))


def end_edge(pid: int, pidfd: int) -> None:
    signal.pidfd_send_signal(pidfd, signal.SIGTERM)
    if gone(pidfd, KILL_AFTER_S):
        log.info("edge %d ended", pid)
    else:
        log.warning("edge %d did not stop in %.0f s; killing it", pid, KILL_AFTER_S)
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        gone(pidfd, KILL_AFTER_S)
    # Kamailio's children are in its process group (it was started in its own session);
    # while one is left, the group id cannot be reused, so this reaches only them
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def guard(pid: int, heartbeat: Path, timeout: float, *, poll_s: float = POLL_S) -> int:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        log.info("edge %d is already gone", pid)
        return 0
    staleness = Staleness(time.monotonic())
    log.info("guarding edge %d: ended %.0f s after %s stops changing", pid, timeout, heartbeat)
    try:
        while not gone(pidfd, poll_s):
            age = staleness.observe(mtime_ns(heartbeat), time.monotonic())
            if age >= timeout:
                log.warning("no control plane for %.1f s (%s): ending the orphaned edge %d",
                            age, heartbeat, pid)  # fmt: skip
                end_edge(pid, pidfd)
                return 0
        log.info("edge %d is gone; guard exits", pid)
        return 0
    finally:
        os.close(pidfd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.edge.guard")
    parser.add_argument("--pid", type=int, required=True, help="the edge's pid")
    parser.add_argument("--heartbeat", type=Path, required=True, help="the control.alive file")
    parser.add_argument("--timeout", type=float, required=True, help="seconds without heartbeat")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be > 0")
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s guard: %(message)s"
    )
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    return guard(args.pid, args.heartbeat, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
