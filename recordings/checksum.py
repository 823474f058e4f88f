"""SHA-256 of recording files, streamed (hour-long files never sit in memory)."""

from __future__ import annotations

import hashlib
import hmac
import os

__all__ = ["sha256_file", "verify_sha256"]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify_sha256(path: str | os.PathLike[str], expected_hex: str) -> bool:
    """True if the file's SHA-256 equals ``expected_hex`` (case-insensitive)."""
    return hmac.compare_digest(sha256_file(path), expected_hex.strip().lower())
