"""Look for new falsifying cases of the property tests, for a bounded time.

CI runs hypothesis under the deterministic `ci` profile (tests/conftest.py): the same
examples on every run, so a clean clone always gives the same verdict. This script is
where new cases come from: it runs the property tests under the `explore` profile
(random, many more examples) in batches, each with a fresh seed, until the time is up,
and prints every falsifying example hypothesis reports with the seed and the
`@reproduce_failure` blob. Each case found becomes an `@example` on the property
(docs/acd.md), so it is checked by every CI run from then on.

    python bench/explore.py [--minutes 3] [--examples 2000] [TEST ...]

Exit status: 0 when nothing was found, 1 when some batch falsified a property, 2 when
the tests could not run at all (an import error, say).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TESTS = ["tests/unit/acd/test_acd_properties.py"]
GRACE_SECONDS = 120.0  # a failing batch shrinks its example after the time is up


def falsifying(output: str) -> str:
    """What pytest said about the failure: the error, the example, the blob."""
    lines = output.splitlines()
    errors = [line for line in lines if line.startswith("E ")][:8]
    start = next((i for i, line in enumerate(lines) if line.startswith("Falsifying")), None)
    if start is None and errors:  # an explicit @example failed: it is all in "E" lines
        return "\n".join(line for line in lines if line.startswith(("E ", "FAILED")))
    if start is None:  # not a hypothesis failure (an error, a timeout): show the end
        return "\n".join(lines[-60:])
    return "\n".join(errors + lines[start:])


def batch(tests: list[str], seed: int, examples: int, timeout: float) -> tuple[int, str]:
    """Run one batch; pytest's exit status (0 passed, 1 a test failed, else could not
    run: collection error, usage error, ...) and its output."""
    env = dict(os.environ, HYPOTHESIS_PROFILE="explore", HYPOTHESIS_EXAMPLES=str(examples))
    cmd = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x",
        f"--hypothesis-seed={seed}", f"--timeout={int(timeout)}", *tests,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="time budget (default 3)")
    parser.add_argument("--examples", type=int, default=2000, help="examples per batch")
    parser.add_argument("--seed", type=int, help="first batch's seed (default: random)")
    parser.add_argument("tests", nargs="*", default=DEFAULT_TESTS)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.minutes * 60
    batches = found = 0
    while time.monotonic() < deadline:
        seed = args.seed if args.seed is not None and batches == 0 else rng.getrandbits(32)
        remaining = deadline - time.monotonic()
        t0 = time.monotonic()
        rc, output = batch(args.tests, seed, args.examples, remaining + GRACE_SECONDS)
        ok = rc == 0
        batches += 1
        took = time.monotonic() - t0
        print(f"batch {batches}: seed {seed}, {args.examples} examples per test, "
              f"{took:.0f} s: {'ok' if ok else 'FALSIFIED'}", flush=True)  # fmt: skip
        if rc not in (0, 1):  # broken tests, not a found case
            print(falsifying(output), flush=True)
            print("the tests did not run: fix that first", flush=True)
            return 2
        if not ok:
            found += 1
            print(falsifying(output), flush=True)
            print(f"reproduce: HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest "
                  f"--hypothesis-seed={seed} {' '.join(args.tests)}", flush=True)  # fmt: skip
    print(f"explored {batches} batches in {args.minutes:g} min: "
          f"{found} falsifying {'case' if found == 1 else 'cases'}")  # fmt: skip
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
