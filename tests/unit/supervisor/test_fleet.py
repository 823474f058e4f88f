"""The fleet file (gateway/supervisor/fleet.py): written atomically, read back, and who
in it is adoptable, judged from a /proc tree made by the test."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from gateway.control import preflight
from gateway.settings import load_settings
from gateway.supervisor import fleet

ME = 4242
EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "contactgw.yaml"


def proc_tree(tmp: Path, cmdlines: dict[int, list[str]]) -> Path:
    """A /proc with `pid/cmdline` for each pid (NUL-separated, as the kernel writes it)."""
    root = tmp / "proc"
    for pid, args in cmdlines.items():
        (root / str(pid)).mkdir(parents=True)
        (root / str(pid) / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in args))
    return root


def worker(wid: str) -> list[str]:
    return ["/usr/bin/python3", "-m", "gateway.sip.worker", "--id", wid, "--control", "x:1"]


def test_written_atomically_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / fleet.FILE_NAME
    record = fleet.Fleet(123, 40000, "tok", {"w2": 11, "w1": 10})
    fleet.write(path, record)
    assert fleet.read(path) == record
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the worker token
    assert json.loads(path.read_text())["workers"] == {"w1": 10, "w2": 11}
    assert sorted(os.listdir(tmp_path)) == [fleet.FILE_NAME]  # no temporary left behind


def test_missing_or_broken_files_mean_nothing_to_adopt(tmp_path: Path) -> None:
    path = tmp_path / fleet.FILE_NAME
    assert fleet.read(path) is None
    for text in ("{", '{"pid": 1}', '{"pid": "x", "control_port": 1, "token": "", "workers": {}}',
                 "[]"):  # fmt: skip
        path.write_text(text)
        assert fleet.read(path) is None, text
    assert fleet.adoptable(None, ME) == {}


def test_only_live_workers_of_a_dead_control_plane_are_adoptable(tmp_path: Path) -> None:
    proc = proc_tree(tmp_path, {
        10: worker("w1"),
        11: ["/bin/bash"],  # w2's pid, reused by something else
        12: worker("w9"),  # a worker, but not the one the file names
        20: [],  # a zombie: its cmdline is empty
    })  # fmt: skip
    record = fleet.Fleet(20, 40000, "tok", {"w1": 10, "w2": 11, "w3": 12, "w4": 99})
    assert fleet.adoptable(record, ME, proc) == {"w1": 10}
    dead = fleet.Fleet(77, 40000, "tok", {"w1": 10})  # no such process at all
    assert fleet.adoptable(dead, ME, proc) == {"w1": 10}


def test_nothing_is_adopted_from_a_live_control_plane_or_from_ourselves(tmp_path: Path) -> None:
    proc = proc_tree(tmp_path, {
        10: worker("w1"),
        30: ["/opt/gw/.venv/bin/python", "/opt/gw/.venv/bin/contactgw", "run"],
        31: ["python3", "-m", "gateway.cli", "run"],
        32: ["/usr/bin/vim"],  # a reused pid: the control plane is dead
    })  # fmt: skip
    for pid in (30, 31):
        assert fleet.adoptable(fleet.Fleet(pid, 1, "t", {"w1": 10}), ME, proc) == {}
    assert fleet.adoptable(fleet.Fleet(ME, 1, "t", {"w1": 10}), ME, proc) == {}
    assert fleet.adoptable(fleet.Fleet(32, 1, "t", {"w1": 10}), ME, proc) == {"w1": 10}


def test_the_ports_of_adopted_workers_are_not_checked_at_start() -> None:
    assert preflight.adopted_workers([]) == set()
    assert preflight.adopted_workers(["w1", "w2"]) == {"worker w1 SIP", "worker w2 SIP", "RTP"}
    labels = {use.what for use in preflight.planned_ports(load_settings(EXAMPLE))}
    assert {"worker w1 SIP", "worker w2 SIP", "RTP"} <= labels  # the names it skips exist
