"""The fleet file: which workers a control plane runs, for the one that comes after it.

``<run_dir>/fleet.json`` is written (atomically: a temporary file, then rename) by the
pool once it is up and on every change::

    {"pid": <control-plane pid>, "control_port": <pool TCP port>, "token": <worker token>,
     "workers": {"w1": <pid>, ...}}

A control plane that starts and finds a fleet file whose control-plane pid is dead, and
whose workers are alive and really ours (``/proc/<pid>/cmdline`` is ``... -m
gateway.sip.worker --id wN ...``), listens on the same port with the same token: those
workers, orphaned, reconnect there every 0.5 s and are adopted instead of spawned
(docs/reliability.md, "Control-plane restart"). The file holds the worker token, so it
is written mode 0600.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "fleet.json"


@dataclass(frozen=True, slots=True)
class Fleet:
    pid: int
    control_port: int
    token: str
    workers: dict[str, int] = field(default_factory=dict)  # worker id -> pid


def write(path: Path, fleet: Fleet) -> None:
    """Replace the file at once (a reader never sees half of it)."""
    data = {"pid": fleet.pid, "control_port": fleet.control_port, "token": fleet.token,
            "workers": dict(sorted(fleet.workers.items()))}  # fmt: skip
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def read(path: Path) -> Fleet | None:
    """The fleet file, or None (missing; unreadable is logged and ignored)."""
    try:
        data = json.loads(path.read_text())
        workers = data["workers"]
        fleet = Fleet(int(data["pid"]), int(data["control_port"]), str(data["token"]),
                      {str(w): int(pid) for w, pid in workers.items()})  # fmt: skip
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("ignoring fleet file %s: %s", path, exc)
        return None
    return fleet


def _cmdline(pid: int, proc: Path) -> list[str] | None:
    """Its arguments; None when gone (a zombie's cmdline is empty: gone too)."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").rstrip("\0").split("\0") if raw else None


def control_plane_alive(pid: int, proc: Path = Path("/proc")) -> bool:
    """True when `pid` is a live ``contactgw`` (a reused pid is some other program)."""
    args = _cmdline(pid, proc) if pid > 0 else None
    return args is not None and any(
        a.endswith("contactgw") or "gateway.cli" in a or a == "gateway" for a in args
    )


def is_worker(pid: int, worker_id: str, proc: Path = Path("/proc")) -> bool:
    """True when `pid` runs ``-m gateway.sip.worker --id <worker_id>`` (pids are reused:
    a live pid alone proves nothing)."""
    args = _cmdline(pid, proc)
    if not args:
        return False
    pairs = list(itertools.pairwise(args))
    return ("-m", "gateway.sip.worker") in pairs and ("--id", worker_id) in pairs


def adoptable(fleet: Fleet | None, me: int, proc: Path = Path("/proc")) -> dict[str, int]:
    """The workers of `fleet` to wait for instead of spawning: none when its control plane
    lives on (another instance: the ports check refuses to start over it) or is `me`."""
    if fleet is None or fleet.pid == me or control_plane_alive(fleet.pid, proc):
        return {}
    found = {w: pid for w, pid in fleet.workers.items() if is_worker(pid, w, proc)}
    gone = sorted(set(fleet.workers) - set(found))
    if gone:
        log.info("fleet file: workers %s are gone; they will be spawned", ", ".join(gone))
    return found
