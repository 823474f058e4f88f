"""Suite-wide setup."""

import os
from collections.abc import Generator

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
