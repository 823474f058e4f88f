"""Every segment of a transferred call finished like the call's own recording.

Theory of operation
-------------------
Segment 1 is the call's own files (the driver finishes them as for any call); each
later segment (`segment-N/` in the call's folder, transfer_segments.py) is finished
the same way by the same `RecordingFinalizer`: headers repaired, stereo mixed (caller
left, that segment's agent right), sizes, lengths and sha256 of every file. The
record's segment rows keep all of it (`files`, `duration_seconds`, `sha256` of the
stereo file, `failure`), so the API lists each segment's audio and checksum without
reading a file, and retention (a call folder, `segment-N/` inside it) covers them all.
`recording.ready` is one event per segment: segment 1's is the call's usual event,
marked `segment: 1` and `segments: N`; every later one names its own files and URL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.control.recording import FinishedRecordings
from gateway.control.transfer_segments import AGENT, CALLER, segment_url
from gateway.events import catalogue as ce

Finalize = Callable[[dict[str, str]], Awaitable[FinishedRecordings]]


def _file_rows(done: FinishedRecordings) -> list[dict[str, Any]]:
    return [dataclasses.asdict(f) for f in done.files]


def _with_files(row: dict[str, Any], done: FinishedRecordings) -> None:
    """The finished files' facts into a segment row (in place)."""
    stereo = next((f for f in done.files if f.role == "stereo"), None)
    longest = max((f.duration_seconds for f in done.files), default=None)
    row["recording_stereo"] = done.stereo
    row["files"] = _file_rows(done)
    row["duration_seconds"] = stereo.duration_seconds if stereo else longest
    row["sha256"] = stereo.sha256 if stereo else None
    row["failure"] = done.failure


async def finish_segments(
    rows: Sequence[dict[str, Any]], first: FinishedRecordings | None, finalize: Finalize
) -> list[dict[str, Any]]:
    """The record's segment rows with each segment's files finished (segment 1's are
    `first`, the call's own, already finished by the caller)."""
    out = [dict(row) for row in rows]
    for row in out:
        if row["index"] == 1:
            if first is not None:
                _with_files(row, first)
            continue
        files = {r: row[f"recording_{r}"] for r in (CALLER, AGENT) if row.get(f"recording_{r}")}
        if files:
            _with_files(row, await finalize(files))
    return out


def ready_events(
    call_id: str, queue: str | None, events: tuple[ce.Event, ...], rows: Sequence[dict[str, Any]]
) -> tuple[ce.Event, ...]:
    """`events` (the call's recording.ready, voicemail.left) with one recording.ready per
    segment: the call's own marked segment 1 of N, then one per later segment with files."""
    count = len(rows)
    out: list[ce.Event] = [
        dataclasses.replace(e, segments=count) if isinstance(e, ce.RecordingReady) else e
        for e in events
    ]
    for row in rows:
        files = tuple(ce.RecordingFile(**f) for f in row.get("files") or ())
        if row["index"] == 1 or not files:
            continue
        url = segment_url(call_id, row["index"])
        out.append(ce.RecordingReady(call_id, queue, call_id, files, url, row["index"], count))
    return tuple(out)
