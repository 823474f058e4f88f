"""CPU, RSS and threads per process group, from /proc (Linux).

A group is named by ``classify``: the control plane (``contactgw run``), its recording
finalizer (multiprocessing children), the edge (kamailio), the broker (mosquitto), the
pjsua2 workers, sipp, and the bench itself (the floor's stand-in control plane).
``snapshot(roots)`` walks the process trees under ``roots``; the CPU of a window is the
difference of two snapshots of the processes alive at both ends.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    pid: int
    group: str
    cpu_s: float  # utime + stime
    rss_mb: float
    threads: int
    by_thread: dict[str, float] = field(default_factory=dict)  # control plane: CPU per name


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (the loop is "python", aiosqlite's "Thread-N" etc.)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            stat = (task / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        name = "loop" if task.name == str(pid) else name.rstrip("0123456789_-") or name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return out


def _read(pid: int) -> tuple[str, list[str], str, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    return comm, stat[stat.rindex(")") + 2 :].split(), status, cmdline


def classify(comm: str, cmdline: str, control_pid: int | None, pid: int) -> str:
    if pid == control_pid:
        return "control plane"
    if pid == os.getpid():
        return "bench"
    if comm.startswith("kamailio"):
        return "edge"
    if comm.startswith("mosquitto"):
        return "broker"
    if comm.startswith("sipp"):
        return "sipp"
    if "gateway.sip.worker" in cmdline:
        return "workers"
    if "multiprocessing" in cmdline:
        return "finalizer"
    return "other"


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return out


def tree(roots: list[int]) -> list[int]:
    seen: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo += children(pid)
    return seen


def snapshot(roots: list[int], control_pid: int | None) -> dict[int, Proc]:
    out: dict[int, Proc] = {}
    for pid in tree(roots):
        got = _read(pid)
        if got is None:
            continue
        comm, fields, status, cmdline = got
        cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        rss = threads = 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
        group = classify(comm, cmdline, control_pid, pid)
        by_thread = thread_cpu(pid) if group == "control plane" else {}
        out[pid] = Proc(pid, group, cpu, rss / 1024, threads, by_thread)
    return out


def groups(before: dict[int, Proc], after: dict[int, Proc], seconds: float) -> dict[str, dict]:
    """Per group: CPU seconds in the window (processes alive at its end; one started in
    it counts from zero), % of one core, processes, RSS MB and threads at the end."""
    out: dict[str, dict] = {}
    for pid, p in after.items():
        g = out.setdefault(
            p.group, {"cpu_s": 0.0, "core_pct": 0.0, "procs": 0, "rss_mb": 0.0, "threads": 0}
        )
        start = before[pid].cpu_s if pid in before else 0.0
        g["cpu_s"] += p.cpu_s - start
        g["procs"] += 1
        g["rss_mb"] += p.rss_mb
        g["threads"] += p.threads
        if p.by_thread:
            old = before[pid].by_thread if pid in before else {}
            g["by_thread_s"] = {
                name: round(cpu - old.get(name, 0.0), 2) for name, cpu in p.by_thread.items()
            }
    for g in out.values():
        g["core_pct"] = round(100 * g["cpu_s"] / seconds, 1) if seconds > 0 else 0.0
        g["cpu_s"] = round(g["cpu_s"], 2)
        g["rss_mb"] = round(g["rss_mb"], 1)
    return out
