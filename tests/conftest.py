"""Suite-wide setup."""

import importlib.util
import os
from collections.abc import Generator
from typing import Any

# Debian 12's Python 3.11.2 can raise "SystemError: AST constructor recursion depth
# mismatch" when hypothesis' pytest plugin first imports hypothesis at the end of a run
# that did not use it (e.g. only the integration suites). Importing it here, while the
# stack is shallow, avoids that interpreter bug.
import hypothesis
import pytest

# Hypothesis profiles. `ci` (the default) is deterministic: a clean clone gives the same
# verdict every run (derandomized, so no example database either), no deadline (the
# machine is shared), and a failure prints the blob to reproduce it. `explore` is how new
# cases are found (bench/explore.py): random, many more examples, the local database on;
# every case it finds becomes an `@example` on the property (docs/acd.md).
# A test's own @settings(max_examples=...) still wins over the profile.
hypothesis.settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.register_profile(
    "explore",
    derandomize=False,
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "2000")),
    deadline=None,
    print_blob=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# In CI every test must run: a test skipped because a tool is missing (kamailio, sipp,
# sox, PostgreSQL...) is a failure there, never a silent pass. Locally a skip stays a skip.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (set up what it needs): {report.longrepr}"


# ./scripts/test runs the suite on two pytest-xdist workers (README, Tests). A unit of
# work is a test module, so a module-scoped fixture (one gateway per module) starts once;
# the browser suite's modules share one session-scoped gateway and Chromium, so the
# directory is one unit. Units start longest first (SLOW_FIRST, in the order of their
# measured wall time; the many short ones after them) so the two workers finish together.
# (xdist's own `loadgroup` cannot do this here: it renames node ids through an attribute
# pytest 9 no longer reads.)
SLOW_FIRST = (
    "tests/unit/api/test_api_schemathesis.py",  # ~100-190 s of CPU, one unit (shared db)
    "tests/browser",
    "tests/unit/api_routing/test_routing_schemathesis.py",
    "tests/integration/e2e",
    "tests/integration/events",
    "tests/integration/live_config",
    "tests/integration/postgres",
    "tests/integration/api_routing",
    "tests/integration/api_auth",
    "tests/integration/worker",
    "tests/integration/edge",
    "tests/integration/",
    "tests/unit/control/test_recording_finalizer.py",
    "tests/sim",
)


# Load tests that assert clean audio under their own load need the box to themselves:
# beside the other worker's CPU-bound tests they saw 20 ms drop-outs. Marked `alone`,
# ./scripts/test runs them after the parallel run, in one process.
ALONE = (
    "tests/integration/worker/test_load.py",
    "tests/integration/e2e/test_concurrency.py",
    # no silence over 200 ms across a control-plane restart: at load 14-17 it saw 240-1060 ms
    "tests/integration/adoption/test_restart.py",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "alone: needs the machine to itself (ALONE)")


def pytest_itemcollected(item: pytest.Item) -> None:
    if work_unit(item.nodeid) in ALONE:
        item.add_marker(pytest.mark.alone)


def work_unit(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return "tests/browser" if path.startswith("tests/browser/") else path


def _rank(item: pytest.Item) -> int:
    unit = work_unit(item.nodeid)
    return next((i for i, p in enumerate(SLOW_FIRST) if unit.startswith(p)), len(SLOW_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: a module's tests stay together and in order


if importlib.util.find_spec("xdist") is not None:
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ByWorkUnit(LoadScopeScheduling):  # type: ignore[misc]
        """xdist's loadscope (units in collection order, one at a time to whichever
        worker is nearly idle) with this suite's units."""

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling:
        config.option.loadscopereorder = False  # keep SLOW_FIRST's order
        return ByWorkUnit(config, log)
