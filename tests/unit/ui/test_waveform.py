"""recordings.waveform: bucket edges, per-channel min/max peaks of a stereo WAV."""

from __future__ import annotations

import wave
from array import array
from pathlib import Path

import numpy as np
import pytest

from recordings import waveform as waveform_module
from recordings.errors import WavFormatError
from recordings.waveform import MAX_BUCKETS, bucket_edges, peaks, waveform
from tests.unit.recordings.wavgen import write_wav


def test_bucket_edges_cover_every_frame_once() -> None:
    assert bucket_edges(7, 3) == [0, 2, 4, 7]
    assert bucket_edges(2, 5) == [0, 1, 2]  # never an empty bucket while frames last
    assert bucket_edges(0, 4) == [0, 0]  # an empty file: one empty bucket
    with pytest.raises(ValueError, match="at least 1"):
        bucket_edges(10, 0)


def test_peaks_per_channel_of_interleaved_samples() -> None:
    samples = array("h", [100, -32768, -200, 32767, 50, 0])  # L R L R L R
    (l_lo, l_hi), (r_lo, r_hi) = peaks(samples, 2)
    assert (l_lo, l_hi) == (-200 / 32768, 100 / 32768)
    assert (r_lo, r_hi) == (-1.0, 32767 / 32768)
    assert peaks(array("h"), 2) == ((0.0, 0.0), (0.0, 0.0))


def stereo(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.column_stack([left, right]).astype(np.int16).reshape(-1)


def test_a_stereo_call_caller_then_agent(tmp_path: Path) -> None:
    rate, half = 8000, 8000  # 2 s: the caller talks first, then the agent
    t = np.arange(half)
    talk = (16384 * np.sin(2 * np.pi * 1000 * t / rate)).astype(np.int16)
    silence = np.zeros(half, dtype=np.int16)
    left = np.concatenate([talk, silence])
    right = np.concatenate([silence, talk // 2])
    path = write_wav(tmp_path / "s.wav", stereo(left, right), rate, channels=2)
    w = waveform(path, 10)
    assert (w.sample_rate, w.frames, w.duration_s) == (8000, 16000, 2.0)
    caller, agent = w.channels
    assert len(caller.maxima) == len(agent.minima) == 10
    for i in range(5):
        assert caller.maxima[i] == pytest.approx(0.5, abs=1e-3)
        assert caller.minima[i] == pytest.approx(-0.5, abs=1e-3)
        assert agent.maxima[i] == agent.minima[i] == 0.0
    for i in range(5, 10):
        assert caller.maxima[i] == caller.minima[i] == 0.0
        assert agent.maxima[i] == pytest.approx(0.25, abs=1e-3)


def test_buckets_are_capped_and_a_short_file_gives_one_per_frame(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "m.wav", np.array([1000, -1000, 0], dtype=np.int16))
    w = waveform(path, 50)
    assert w.channels[0].maxima == w.channels[0].minima == (1000 / 32768, -1000 / 32768, 0.0)
    long = write_wav(tmp_path / "l.wav", np.zeros(2 * MAX_BUCKETS, dtype=np.int16))
    assert len(waveform(long, 10**6).channels[0].maxima) == MAX_BUCKETS


def test_only_16_bit_pcm(tmp_path: Path) -> None:
    path = tmp_path / "u8.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(100))
    with pytest.raises(WavFormatError, match="16-bit PCM"):
        waveform(path, 10)
    (tmp_path / "x.wav").write_bytes(b"not a wav at all")
    with pytest.raises(WavFormatError):
        waveform(tmp_path / "x.wav", 10)


def test_a_long_recording_is_read_one_bucket_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its speed is bench/waveform.py's business (figures against a floor in the same run);
    # here: one read and one C-level min/max per bucket, never the whole file at once.
    frames = 8000 * 600
    noise = np.random.default_rng(1).integers(-3000, 3000, 2 * frames, dtype=np.int16)
    noise[2 * 4_000_000] = 32767  # one click in the left channel, frame 4,000,000
    path = write_wav(tmp_path / "ten-minutes.wav", noise, 8000, channels=2)
    reads: list[int] = []
    real_peaks = waveform_module.peaks

    def counting_peaks(samples: array[int], channels: int) -> tuple[tuple[float, float], ...]:
        reads.append(len(samples))
        return real_peaks(samples, channels)

    monkeypatch.setattr(waveform_module, "peaks", counting_peaks)
    w = waveform(path, 1200)
    assert len(w.channels[1].maxima) == 1200 and w.duration_s == 600
    assert len(reads) == 1200 and max(reads) == 2 * frames // 1200  # 4000 frames per read
    assert w.channels[0].maxima[4_000_000 // 4000] == 32767 / 32768
    assert max(w.channels[1].maxima) < 3000 / 32768
