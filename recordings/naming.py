"""Deterministic, traversal-proof recording paths: ``YYYY/MM/DD/<call-id>/<leg>.wav``.

The date is the call's start in UTC (so a path never depends on the host's zone).
A SIP Call-ID may hold any character (``/``, ``..``, spaces, NUL): it is reduced to
``[A-Za-z0-9._@+-]``, leading dots are replaced, and length is capped; whenever that
changed anything, a short SHA-256 of the original is appended so two different
Call-IDs never share a directory.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from recordings.errors import NamingError

__all__ = ["LEGS", "RecordingPaths", "recording_dir", "recording_paths", "safe_component"]

LEGS = ("caller", "agent", "stereo")
MAX_COMPONENT = 96
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


def safe_component(call_id: str) -> str:
    """A file-name-safe, deterministic, collision-resistant form of ``call_id``."""
    if not call_id:
        raise NamingError("empty call id")
    safe = _UNSAFE.sub("_", call_id)
    stripped = safe.lstrip(".")
    safe = "_" * (len(safe) - len(stripped)) + stripped  # no ".", "..", hidden names
    if safe != call_id or len(safe) > MAX_COMPONENT:
        digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        safe = f"{safe[:MAX_COMPONENT]}-{digest}"
    return safe


def recording_dir(call_id: str, started_at: datetime | float) -> PurePosixPath:
    """Relative directory ``YYYY/MM/DD/<safe call id>`` (what the database stores)."""
    if isinstance(started_at, datetime):
        if started_at.tzinfo is None:
            raise NamingError("started_at must be timezone-aware")
        day = started_at.astimezone(UTC)
    else:
        day = datetime.fromtimestamp(started_at, UTC)
    return PurePosixPath(f"{day:%Y}", f"{day:%m}", f"{day:%d}", safe_component(call_id))


@dataclass(frozen=True, slots=True)
class RecordingPaths:
    directory: Path
    caller: Path
    agent: Path
    stereo: Path


def recording_paths(
    root: str | os.PathLike[str], call_id: str, started_at: datetime | float
) -> RecordingPaths:
    """Absolute-or-root-relative paths of the three files of one call (nothing created)."""
    relative = recording_dir(call_id, started_at)
    if ".." in relative.parts or relative.is_absolute():  # defence in depth
        raise NamingError(f"unsafe recording path {relative}")
    directory = Path(root) / relative
    caller, agent, stereo = (directory / f"{leg}.wav" for leg in LEGS)
    return RecordingPaths(directory, caller, agent, stereo)
