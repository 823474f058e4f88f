"""Recording lifecycle: per-leg WAVs → stereo, checksums, metadata, naming, retention.

No SIP or media stack here and no third-party imports: it runs anywhere the control plane runs.
See docs/recordings.md.
"""

from recordings.checksum import sha256_file, verify_sha256
from recordings.errors import (
    CompressionError,
    FormatMismatchError,
    NamingError,
    RecordingError,
    WavFormatError,
)
from recordings.metadata import WavInfo, read_wav_info
from recordings.naming import RecordingPaths, recording_dir, recording_paths, safe_component
from recordings.retention import (
    EVALUATED,
    LEGAL_HOLD,
    RecordingRef,
    RetentionRules,
    Verdict,
    due_for_deletion,
    judge,
)
from recordings.stereo import StereoResult, make_stereo

__all__ = [
    "EVALUATED",
    "LEGAL_HOLD",
    "CompressionError",
    "FormatMismatchError",
    "NamingError",
    "RecordingError",
    "RecordingPaths",
    "RecordingRef",
    "RetentionRules",
    "StereoResult",
    "Verdict",
    "WavFormatError",
    "WavInfo",
    "due_for_deletion",
    "judge",
    "make_stereo",
    "read_wav_info",
    "recording_dir",
    "recording_paths",
    "safe_component",
    "sha256_file",
    "verify_sha256",
]
