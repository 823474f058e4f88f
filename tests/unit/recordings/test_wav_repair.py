"""repair_wav_header: a WAV left by a killed recorder (sizes 0) becomes readable."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

from recordings.wav_repair import repair_wav_header


def write_wav(path: Path, frames: int, rate: int = 8000) -> bytes:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", (i * 37) % 3000) for i in range(frames)))
    return path.read_bytes()


def zero_sizes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4:8] = b"\0\0\0\0"
    data[40:44] = b"\0\0\0\0"
    path.write_bytes(bytes(data))


def test_killed_writer_header_is_rebuilt(tmp_path):
    path = tmp_path / "a.wav"
    good = write_wav(path, 8000)
    zero_sizes(path)
    assert repair_wav_header(path) is True
    assert path.read_bytes() == good
    with wave.open(str(path)) as w:
        assert w.getnframes() == 8000


def test_consistent_header_is_left_alone(tmp_path):
    path = tmp_path / "b.wav"
    good = write_wav(path, 100)
    assert repair_wav_header(path) is False
    assert path.read_bytes() == good


def test_torn_last_sample_is_dropped(tmp_path):
    path = tmp_path / "c.wav"
    write_wav(path, 10)
    zero_sizes(path)
    path.write_bytes(path.read_bytes() + b"\x01")  # half a 16-bit sample
    assert repair_wav_header(path) is True
    with wave.open(str(path)) as w:
        assert w.getnframes() == 10
    assert path.stat().st_size == 44 + 20


def test_header_only_file_becomes_an_empty_wav(tmp_path):
    path = tmp_path / "d.wav"
    write_wav(path, 0)
    data = bytearray(path.read_bytes())
    data[4:8] = b"\0\0\0\0"
    path.write_bytes(bytes(data))
    assert repair_wav_header(path) is True
    with wave.open(str(path)) as w:
        assert w.getnframes() == 0


def test_data_size_larger_than_file_is_truncated_to_what_exists(tmp_path):
    path = tmp_path / "e.wav"
    write_wav(path, 50)
    data = bytearray(path.read_bytes())
    data[40:44] = struct.pack("<I", 10_000)
    path.write_bytes(bytes(data))
    assert repair_wav_header(path) is True
    with wave.open(str(path)) as w:
        assert w.getnframes() == 50


def test_non_wav_and_missing_files_are_not_touched(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"hello, not a riff file at all" * 4)
    before = junk.read_bytes()
    assert repair_wav_header(junk) is False
    assert junk.read_bytes() == before
    assert repair_wav_header(tmp_path / "missing.wav") is False
    short = tmp_path / "short.wav"
    short.write_bytes(b"RIFF\0\0")
    assert repair_wav_header(short) is False
