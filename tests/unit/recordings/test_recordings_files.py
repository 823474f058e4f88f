"""metadata, checksum and compress: facts about files on disk."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from recordings import (
    CompressionError,
    WavFormatError,
    make_stereo,
    read_wav_info,
    sha256_file,
    verify_sha256,
)
from recordings.compress import compress, sox_formats

from .wavgen import read_channels, tone, write_wav, zero_sizes


def test_wav_info(tmp_path: Path) -> None:
    info = read_wav_info(write_wav(tmp_path / "a.wav", tone(12_000, 0)))
    assert (info.channels, info.sample_rate, info.sample_width) == (1, 8000, 2)
    assert (info.frames, info.duration_s, info.data_bytes) == (12_000, 1.5, 24_000)
    assert info.file_bytes == 44 + 24_000 and info.header_ok
    stereo = read_wav_info(write_wav(tmp_path / "s.wav", tone(800, 0), 16000, channels=2))
    assert (stereo.channels, stereo.frames, stereo.duration_s) == (2, 400, 0.025)


def test_wav_info_of_a_zero_size_header(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", tone(8000, 0))
    zero_sizes(path)
    info = read_wav_info(path)
    assert (info.frames, info.duration_s, info.header_ok) == (8000, 1.0, False)


def test_wav_info_rejects_non_wav(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"ID3\x03" + bytes(100))
    with pytest.raises(WavFormatError):
        read_wav_info(tmp_path / "x")


def test_sha256_streams_large_files(tmp_path: Path) -> None:
    data = np.random.default_rng(1).bytes(3 * 1024 * 1024 + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == digest
    assert verify_sha256(path, digest.upper())
    assert not verify_sha256(path, "0" * 64)


def test_sha256_of_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e").write_bytes(b"")
    assert sha256_file(tmp_path / "e") == hashlib.sha256(b"").hexdigest()


def test_checksum_is_stable_across_stereo_runs(tmp_path: Path) -> None:
    left = write_wav(tmp_path / "l.wav", tone(9000, 3))
    right = write_wav(tmp_path / "r.wav", tone(7000, 9))
    make_stereo(left, right, tmp_path / "a.wav", 0.0, 0.3)
    make_stereo(left, right, tmp_path / "b.wav", 0.0, 0.3, chunk_frames=333)
    assert sha256_file(tmp_path / "a.wav") == sha256_file(tmp_path / "b.wav")


def test_compress_rejects_unknown_format_and_missing_sox(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "a.wav", tone(10, 0))
    with pytest.raises(CompressionError, match="unknown format"):
        compress(wav, fmt="mp3")
    with pytest.raises(CompressionError, match="missing or cannot write"):
        compress(wav, sox=str(tmp_path / "no-such-sox"))
    assert sox_formats(str(tmp_path / "no-such-sox")) == frozenset()


@pytest.mark.skipif(
    shutil.which("sox") is None or "flac" not in sox_formats(), reason="sox with FLAC needed"
)
def test_flac_round_trip_is_lossless(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    left = write_wav(tmp_path / "l.wav", (rng.normal(0, 3000, 16000)).astype(np.int16))
    right = write_wav(tmp_path / "r.wav", np.zeros(16000, dtype=np.int16))
    stereo = make_stereo(left, right, tmp_path / "s.wav").path
    flac = compress(stereo)
    assert flac == tmp_path / "s.flac" and flac.read_bytes()[:4] == b"fLaC"
    assert flac.stat().st_size < stereo.stat().st_size
    assert not (tmp_path / "s.flac.part").exists()
    decoded = tmp_path / "d.wav"
    subprocess.run(["sox", str(flac), "-b", "16", str(decoded)], check=True)
    np.testing.assert_array_equal(read_channels(decoded)[2], read_channels(stereo)[2])


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox needed")
def test_compress_reports_sox_failure(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(CompressionError, match="sox exited"):
        compress(bad)
    assert list(tmp_path.iterdir()) == [bad]
