"""Optional compression of a finished stereo WAV with the ``sox`` command (I/O).

FLAC is lossless and what sox builds usually support; Opus only if sox was built with
it (``sox -h`` lists the formats).  The output is written to ``<out>.part`` and renamed,
and the WAV is left in place: deleting it is the caller's decision (after a checksum).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from recordings.errors import CompressionError

__all__ = ["FORMATS", "compress", "sox_formats"]

FORMATS = {"flac": "flac", "opus": "opus"}  # our name -> file extension


def sox_formats(sox: str = "sox") -> frozenset[str]:
    """File formats the installed sox can handle; empty if sox is missing."""
    try:
        run = subprocess.run([sox, "-h"], check=False, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    for line in run.stdout.splitlines():
        if line.startswith("AUDIO FILE FORMATS:"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def compress(
    wav: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    fmt: str = "flac",
    sox: str = "sox",
    timeout_s: float = 600.0,
) -> Path:
    """Encode ``wav`` to ``fmt`` next to it (or at ``out``); returns the output path."""
    if fmt not in FORMATS:
        raise CompressionError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt not in sox_formats(sox):
        raise CompressionError(f"{sox} is missing or cannot write {fmt}")
    source = Path(wav)
    target = Path(out) if out is not None else source.with_suffix("." + FORMATS[fmt])
    partial = target.with_name(target.name + ".part")
    command = [sox, str(source), "-t", fmt, str(partial)]
    try:
        run = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=timeout_s
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        partial.unlink(missing_ok=True)
        raise CompressionError(f"sox failed: {exc}") from exc
    if run.returncode != 0:
        partial.unlink(missing_ok=True)
        raise CompressionError(f"sox exited {run.returncode}: {run.stderr.strip()[:500]}")
    os.replace(partial, target)
    return target
