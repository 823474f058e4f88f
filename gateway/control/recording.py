"""After a call: repair leg WAVs if needed, make the stereo file, write checksums.

Runs in a thread (`asyncio.to_thread`): it is file I/O proportional to the call length
and must not stall signalling. Caller on the left channel, agent on the right; both
recorders start when the call is bridged, so the offsets are zero. Returns what the
`recording.ready` event and the call record need of each file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from gateway.events.catalogue import RecordingFile, RecordingRole
from recordings.checksum import sha256_file
from recordings.stereo import make_stereo
from recordings.wav_repair import repair_wav_header
from recordings.wavio import PcmReader

log = logging.getLogger(__name__)

ROLES: dict[str, RecordingRole] = {
    "caller": "caller",
    "agent": "agent",
    "stereo": "stereo",
    "voicemail": "voicemail",
}


@dataclass(frozen=True, slots=True)
class FinishedRecordings:
    stereo: str | None  # the stereo file's path when one was made
    files: tuple[RecordingFile, ...]  # every file present, with size, length and sha256


def finalize_recordings(recordings: dict[str, str], stereo: bool) -> FinishedRecordings:
    """`recordings` maps role (caller, agent, voicemail) to a WAV path."""
    present = {role: Path(path) for role, path in recordings.items() if Path(path).is_file()}
    for role, path in present.items():
        if repair_wav_header(path):
            log.warning("repaired the WAV header of %s (%s)", path, role)
    out: Path | None = None
    if stereo and "caller" in present and "agent" in present:
        out = present["caller"].with_name("stereo.wav")
        make_stereo(present["caller"], present["agent"], out)
        present["stereo"] = out
    files = []
    for role, path in present.items():
        digest = sha256_file(path)
        path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
        with PcmReader(path) as reader:
            duration = round(reader.header.duration_s, 3)
        files.append(RecordingFile(ROLES[role], str(path), path.stat().st_size, duration, digest))
    return FinishedRecordings(str(out) if out else None, tuple(files))
