"""The suite's own rules hold on ./scripts/test's two xdist workers: disjoint port slices,
a module (the browser suite: one directory) per unit of work, and under CI=true a skip
in a worker still fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ALONE, SLOW_FIRST, work_unit
from tests.support import ports

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("rng", [ports.RTP_RANGE, ports.SIP_RANGE, (53000, 55999)])
def test_each_worker_draws_from_its_own_aligned_slice(
    monkeypatch: pytest.MonkeyPatch, rng: tuple[int, int]
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    slices = []
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        slices.append(ports.worker_slice(rng))
    (lo0, hi0), (lo1, hi1) = slices
    assert lo0 == rng[0] and hi0 < lo1 and hi1 <= rng[1]
    assert lo1 % 2 == rng[0] % 2  # RTP blocks stay on even ports
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")
    assert ports.worker_slice(rng) == rng


def test_a_module_is_a_unit_and_the_browser_suite_is_one() -> None:
    assert work_unit("tests/unit/acd/test_x.py::test_a[1-2]") == "tests/unit/acd/test_x.py"
    assert work_unit("tests/browser/test_ui_qa.py::test_a") == "tests/browser"
    assert work_unit("tests/browser/test_ui_calls.py::test_b") == "tests/browser"
    assert all((REPO / p.rstrip("/")).exists() for p in SLOW_FIRST + ALONE), SLOW_FIRST + ALONE


# the outer run's PYTEST_ADDOPTS (e.g. its --junitxml) is not the probe's
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}, "CI": "true"}


def run_pytest(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(body)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "-n", "1", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def test_under_xdist_a_ci_skip_fails_the_run(tmp_path: Path) -> None:
    body = "import pytest\n\ndef test_needs_a_tool():\n    pytest.skip('no such tool')\n"
    done = run_pytest(tmp_path, body)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "skipped in CI (set up what it needs)" in done.stdout, done.stdout
