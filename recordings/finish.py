"""After a call: repair the legs' headers, mix the stereo file, encode it, checksum all.

``finish(recordings, stereo, encoding) -> Finished`` is the whole job for one call. It
runs in a process of its own (gateway/control/recording.py): an hour-long mix is CPU
work the control plane's event loop must never do, and only plain data crosses the
process boundary (arguments and the result pickle; no gateway imports here).

It never raises for a file problem: what could be done is done (a full disk still
leaves the legs, checksummed if they can be read), and ``Finished.failure`` names the
first thing that went wrong (``disk_full``, ``io_error``, ``bad_format``, ``missing``,
``encoding``), for the call record, the metric and the ``recording.failed`` event.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from recordings.checksum import sha256_file
from recordings.compress import FORMATS, compress
from recordings.errors import CompressionError, RecordingError
from recordings.stereo import make_stereo
from recordings.wav_repair import repair_wav_header
from recordings.wavio import PcmReader

__all__ = ["FAILURE_REASONS", "Finished", "FinishedFile", "finish"]

FAILURE_REASONS = ("disk_full", "io_error", "bad_format", "missing", "encoding")
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


@dataclass(frozen=True, slots=True)
class FinishedFile:
    role: str  # caller, agent, voicemail, stereo
    path: str
    size_bytes: int
    duration_seconds: float
    sha256: str


@dataclass(frozen=True, slots=True)
class Finished:
    stereo: str | None  # the stored stereo file (WAV, or its encoding) when one was made
    files: tuple[FinishedFile, ...]  # every file present, with size, length and sha256
    repaired: tuple[str, ...] = ()  # legs whose WAV header had to be rewritten
    failure: str | None = None  # one of FAILURE_REASONS, None when all went well
    detail: str = ""  # the error behind the failure, for the log and the event


class _Outcome:
    """The first failure wins: it is the cause, later ones are its consequences."""

    def __init__(self) -> None:
        self.failure: str | None = None
        self.detail = ""

    def failed(self, reason: str, exc: BaseException | str) -> None:
        if self.failure is None:
            self.failure, self.detail = reason, str(exc)[:300]

    def os_error(self, exc: OSError) -> None:
        self.failed("disk_full" if exc.errno in _DISK_FULL else "io_error", exc)


def _duration(path: Path, role: str) -> float:
    if role not in ("caller", "agent", "voicemail") and path.suffix != ".wav":
        return -1.0  # an encoded file: filled in from its WAV by the caller
    with PcmReader(path) as reader:
        return round(reader.header.duration_s, 3)


def _describe(path: Path, role: str, outcome: _Outcome) -> FinishedFile | None:
    """Checksum (and its sidecar file) and length of one file; None if unreadable."""
    try:
        digest = sha256_file(path)
        size = path.stat().st_size
        duration = _duration(path, role)
    except OSError as exc:
        outcome.os_error(exc)
        return None
    except RecordingError as exc:
        outcome.failed("bad_format", exc)
        return None
    try:
        path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    except OSError as exc:  # the digest still goes to the call record and the event
        outcome.os_error(exc)
    return FinishedFile(role, str(path), size, duration, digest)


def _mix(caller: Path, agent: Path, outcome: _Outcome) -> Path | None:
    out = caller.with_name("stereo.wav")
    try:
        make_stereo(caller, agent, out)  # no partial file left behind on failure
    except OSError as exc:
        outcome.os_error(exc)
        return None
    except RecordingError as exc:
        outcome.failed("bad_format", exc)
        return None
    return out


def _encode(wav: Path, encoding: str, outcome: _Outcome) -> Path:
    """The encoded file replaces the WAV; on failure the WAV stays the stored file."""
    try:
        encoded = compress(wav, fmt=encoding)
    except CompressionError as exc:
        cause = exc.__cause__
        full = isinstance(cause, OSError) and cause.errno in _DISK_FULL
        if full or "No space left" in str(exc):  # sox reports ENOSPC in its message
            outcome.failed("disk_full", exc)
        else:
            outcome.failed("encoding", exc)
        return wav
    wav.unlink(missing_ok=True)
    return encoded


def finish(recordings: dict[str, str], stereo: bool, encoding: str = "wav") -> Finished:
    """``recordings`` maps role (caller, agent, voicemail) to the WAV the worker wrote;
    ``encoding`` is ``wav`` (keep the stereo WAV) or a key of ``compress.FORMATS``."""
    outcome = _Outcome()
    present: dict[str, Path] = {}
    for role, name in recordings.items():
        path = Path(name)
        if path.is_file():
            present[role] = path
        else:
            outcome.failed("missing", f"{role} recording {name} does not exist")
    repaired = tuple(role for role, path in present.items() if repair_wav_header(path))
    out: Path | None = None
    length = -1.0
    if stereo and "caller" in present and "agent" in present:
        out = _mix(present["caller"], present["agent"], outcome)
        if out is not None:
            with PcmReader(out) as reader:
                length = round(reader.header.duration_s, 3)
            if encoding in FORMATS:
                out = _encode(out, encoding, outcome)
            present["stereo"] = out
    files = []
    for role, path in present.items():
        described = _describe(path, role, outcome)
        if described is None:
            continue
        if described.duration_seconds < 0:
            described = FinishedFile(role, described.path, described.size_bytes, length,
                                     described.sha256)  # fmt: skip
        files.append(described)
    return Finished(
        str(out) if out else None, tuple(files), repaired, outcome.failure, outcome.detail
    )
