"""The shipped systemd unit (config/systemd/contactgw.service): the keys a restart
without dropped calls depends on, and `systemd-analyze verify` where the tool exists."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "config" / "systemd" / "contactgw.service"


def parse(text: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string(text)
    return unit


def test_the_unit_restarts_always_and_never_kills_workers_or_the_edge() -> None:
    unit = parse(UNIT.read_text())
    service = unit["Service"]
    assert service["Type"] == "simple"
    assert (service["Restart"], service["RestartSec"]) == ("always", "1")
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"  # a standby is restarted forever
    assert service["KillMode"] == "process"  # the workers and the edge outlive a restart
    assert int(service["TimeoutStopSec"]) >= 180  # drain 10 s + recordings' finish (120 s)
    assert "CAP_SYS_NICE" in service["AmbientCapabilities"].split()  # workers' nice -10
    assert service["User"] not in ("", "root")
    workdir = service["WorkingDirectory"]
    assert service["ExecStart"].startswith(f"{workdir}/.venv/bin/contactgw run --config /")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def verify(unit_text: str, tmp_path: Path) -> str:
    """systemd-analyze's complaints about the unit (it exits 0 on most of them)."""
    path = tmp_path / "contactgw.service"
    path.write_text(unit_text)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return f"{done.returncode or ''}{done.stdout}{done.stderr}".strip()


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not found: apt-get install systemd")
    # verify checks that ExecStart is executable: point it at this venv's entry point
    script = Path(sys.executable).parent / "contactgw"
    binary = script if script.exists() else Path(sys.executable)
    text = UNIT.read_text().replace("/opt/contactgw/.venv/bin/contactgw", str(binary))
    assert verify(text, tmp_path) == ""
    broken = text.replace("KillMode=process", "KillMode=sometimes")  # the check can fail
    assert "kill mode" in verify(broken, tmp_path)
