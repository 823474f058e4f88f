"""After a call: repair leg WAVs if needed, make the stereo file, write checksums.

Runs in a thread (`asyncio.to_thread`): it is file I/O proportional to the call length
and must not stall signalling. Caller on the left channel, agent on the right; both
recorders start when the call is bridged, so the offsets are zero.
"""

from __future__ import annotations

import logging
from pathlib import Path

from recordings.checksum import sha256_file
from recordings.stereo import make_stereo
from recordings.wav_repair import repair_wav_header

log = logging.getLogger(__name__)


def finalize_recordings(recordings: dict[str, str], stereo: bool) -> str | None:
    """`recordings` maps role (caller, agent, voicemail) to a WAV path. Returns the
    stereo file's path when one was made."""
    present = {role: Path(path) for role, path in recordings.items() if Path(path).is_file()}
    for role, path in present.items():
        if repair_wav_header(path):
            log.warning("repaired the WAV header of %s (%s)", path, role)
    out: Path | None = None
    if stereo and "caller" in present and "agent" in present:
        out = present["caller"].with_name("stereo.wav")
        make_stereo(present["caller"], present["agent"], out)
        present["stereo"] = out
    for path in present.values():
        path.with_name(path.name + ".sha256").write_text(f"{sha256_file(path)}  {path.name}\n")
    return str(out) if out else None
