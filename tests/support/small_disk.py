"""A real, small filesystem to fill up: a tmpfs of a few hundred KB mounted for one test.

Mounting needs root (CI runs as root, so does this machine's test account); elsewhere
the test is skipped, and in CI (CI=true) it fails instead, so a full-disk test never
silently stops running. ENOSPC then comes from the kernel, not from a mock.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(where: Path, size_kb: int) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0777", "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mount.returncode != 0:
        why = f"cannot mount a tmpfs (needs root): {mount.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def fill(disk: Path, leave_bytes: int = 0) -> Path:
    """Fill ``disk`` until at most ``leave_bytes`` are free; returns the filler file."""
    filler = disk / "filler"
    with open(filler, "wb") as f:
        while True:
            st = os.statvfs(disk)
            free = st.f_bavail * st.f_frsize - leave_bytes
            if free <= 0:
                break
            try:
                f.write(b"\0" * min(free, 64 * 1024))
                f.flush()
            except OSError:
                break
    return filler
