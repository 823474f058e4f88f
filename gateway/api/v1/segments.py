"""A transferred call's later segments through the API: which file a download serves.

Segment 1 is the call's own files (served as before, api_facade.recording_file); a
later segment's paths are in the record's `segments` rows (gateway/control/
segment_recordings.py). An unknown segment is a 404 that says how many there are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.control.errors import NotFound
from gateway.store.records import CallRecord


def segment_row(call: CallRecord, index: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = call.segments or []
    row = next((r for r in rows if r.get("index") == index), None)
    if row is None:
        raise NotFound(
            f"segment: call {call.id} has no segment {index} (it has {len(rows) or 1}; "
            "see the call's `segments`)"
        )
    return row


def segment_file(call: CallRecord, index: int, role: str | None) -> Path:
    """The file of segment `index` (`role` None: its stereo file, else its caller's)."""
    row = segment_row(call, index)
    for name in [role] if role else ["stereo", "caller"]:
        path = row.get(f"recording_{name}")
        if path and Path(path).is_file():
            return Path(path)
    what = f"{role} recording" if role else "recording"
    raise NotFound(f"segment {index} of call {call.id} has no {what}")
