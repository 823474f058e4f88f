"""Repair the header of a WAV file whose writer died before finalising it.

A recorder writes a 44-byte header with RIFF and data sizes of 0 and fills them in
when it is closed; a worker killed mid-call (SIGKILL, OOM) leaves those zeros, and
most readers then see an empty file. The samples are all there, so the repair is
to recompute both sizes from the file length.

``repair_wav_header(path) -> bool`` is pure file manipulation (no SIP stack, no
logging): True if it rewrote the header, False if the header was already
consistent or the file is not a RIFF/WAVE file it understands (missing, too short,
no ``fmt ``/``data`` chunk). It never raises for a bad file.
"""

from __future__ import annotations

import os
import struct


def _find_chunks(head: bytes) -> tuple[int, int, int] | None:
    """Return (block_align, data_size_offset, data_start) from the first bytes."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, block_align = 12, 0
    while pos + 8 <= len(head):
        cid = head[pos : pos + 4]
        (size,) = struct.unpack_from("<I", head, pos + 4)
        if cid == b"fmt " and pos + 8 + 14 <= len(head):
            (block_align,) = struct.unpack_from("<H", head, pos + 8 + 12)
        if cid == b"data":
            return (block_align or 1), pos + 4, pos + 8
        pos += 8 + size + (size & 1)
    return None


def repair_wav_header(path: str | os.PathLike[str]) -> bool:
    """Fix the RIFF and data chunk sizes of ``path`` in place; True if changed."""
    try:
        with open(path, "r+b") as f:
            head = f.read(4096)
            found = _find_chunks(head)
            if found is None:
                return False
            block_align, size_off, data_start = found
            file_size = f.seek(0, os.SEEK_END)
            available = max(0, file_size - data_start)
            data_size = available - available % block_align
            (riff_size,) = struct.unpack_from("<I", head, 4)
            (old_data,) = struct.unpack_from("<I", head, size_off)
            new_riff = data_start - 8 + data_size
            if old_data == data_size and riff_size == new_riff:
                return False
            f.seek(4)
            f.write(struct.pack("<I", new_riff))
            f.seek(size_off)
            f.write(struct.pack("<I", data_size))
            if data_size != available:  # drop a torn last sample frame
                f.truncate(data_start + data_size)
            return True
    except OSError:
        return False
