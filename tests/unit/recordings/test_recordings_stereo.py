"""make_stereo(): channel contents, alignment, padding, tolerant input, errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from recordings import FormatMismatchError, WavFormatError, make_stereo

from .wavgen import read_channels, tone, write_wav, zero_sizes


def expected(left: np.ndarray, right: np.ndarray, lpad: int, rpad: int) -> np.ndarray:
    total = max(lpad + len(left), rpad + len(right))
    out = np.zeros((total, 2), dtype=np.int16)
    out[lpad : lpad + len(left), 0] = left
    out[rpad : rpad + len(right), 1] = right
    return out


def test_caller_left_agent_right(tmp_path: Path) -> None:
    caller, agent = tone(8000, 1000), tone(8000, -3000)
    result = make_stereo(
        write_wav(tmp_path / "caller.wav", caller),
        write_wav(tmp_path / "agent.wav", agent),
        tmp_path / "stereo.wav",
    )
    channels, rate, data = read_channels(tmp_path / "stereo.wav")
    assert (channels, rate) == (2, 8000)
    np.testing.assert_array_equal(data[:, 0], caller)
    np.testing.assert_array_equal(data[:, 1], agent)
    assert (result.frames, result.duration_s, result.sample_rate) == (8000, 1.0, 8000)
    assert not (result.left_repaired or result.right_repaired)
    assert not (tmp_path / "stereo.wav.part").exists()


@pytest.mark.parametrize(
    ("left_len", "right_len", "left_off", "right_off", "chunk"),
    [
        (8000, 4000, 0.0, 0.5, 32000),  # agent joins half a second later
        (4000, 12000, 0.25, 0.0, 7),  # odd chunk size crosses every boundary
        (100, 100, 1.0, 0.0, 64),  # no overlap at all
        (0, 500, 0.0, 0.0, 64),  # empty left leg
        (1234, 999, 0.0001, 0.00006, 100),  # offsets round to whole frames
    ],
)
def test_alignment_and_padding(
    tmp_path: Path, left_len: int, right_len: int, left_off: float, right_off: float, chunk: int
) -> None:
    left, right = tone(left_len, 500), tone(right_len, -700)
    result = make_stereo(
        write_wav(tmp_path / "l.wav", left),
        write_wav(tmp_path / "r.wav", right),
        tmp_path / "s.wav",
        left_off,
        right_off,
        chunk_frames=chunk,
    )
    lpad, rpad = round(left_off * 8000), round(right_off * 8000)
    assert (result.left_offset_frames, result.right_offset_frames) == (lpad, rpad)
    want = expected(left, right, lpad, rpad)
    _, _, data = read_channels(tmp_path / "s.wav")
    np.testing.assert_array_equal(data, want)
    assert result.frames == len(want)
    assert (result.left_frames, result.right_frames) == (left_len, right_len)


def test_random_audio_with_numpy_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    left = rng.integers(-32768, 32767, 50_001, dtype=np.int16)
    right = rng.integers(-32768, 32767, 40_000, dtype=np.int16)
    make_stereo(
        write_wav(tmp_path / "l.wav", left, 16000),
        write_wav(tmp_path / "r.wav", right, 16000),
        tmp_path / "s.wav",
        right_offset_s=1.5,
        chunk_frames=4096,
    )
    _, rate, data = read_channels(tmp_path / "s.wav")
    assert rate == 16000
    np.testing.assert_array_equal(data, expected(left, right, 0, 24000))


def test_zero_size_header_from_a_killed_worker(tmp_path: Path) -> None:
    caller = tone(4000, 100)
    left = write_wav(tmp_path / "l.wav", caller)
    zero_sizes(left)
    result = make_stereo(left, write_wav(tmp_path / "r.wav", tone(10, 0)), tmp_path / "s.wav")
    assert result.left_repaired and not result.right_repaired
    _, _, data = read_channels(tmp_path / "s.wav")
    np.testing.assert_array_equal(data[:, 0], caller)


def test_truncated_file_uses_whole_frames_present(tmp_path: Path) -> None:
    left = write_wav(tmp_path / "l.wav", tone(1000, 100))
    with open(left, "r+b") as f:
        f.truncate(44 + 2 * 600 + 1)  # header says 1000 frames; 600.5 remain
    result = make_stereo(left, write_wav(tmp_path / "r.wav", tone(10, 0)), tmp_path / "s.wav")
    assert (result.left_frames, result.left_repaired) == (600, True)
    _, _, data = read_channels(tmp_path / "s.wav")
    np.testing.assert_array_equal(data[:, 0], tone(1000, 100)[:600])


def test_unknown_size_marker_and_extra_chunks(tmp_path: Path) -> None:
    samples = tone(300, 42)
    info = b"INFOtest"
    body = samples.astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    raw = (
        b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
        + b"LIST" + struct.pack("<I", len(info) + 1) + info + b"x\x00"  # odd size + pad byte
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", 0xFFFFFFFF) + body
    )  # fmt: skip
    left = tmp_path / "l.wav"
    left.write_bytes(raw)
    result = make_stereo(left, write_wav(tmp_path / "r.wav", tone(1, 0)), tmp_path / "s.wav")
    assert result.left_frames == 300
    _, _, data = read_channels(tmp_path / "s.wav")
    np.testing.assert_array_equal(data[:, 0], samples)


def test_header_only_inputs_give_an_empty_stereo_file(tmp_path: Path) -> None:
    empty = np.zeros(0, dtype=np.int16)
    result = make_stereo(
        write_wav(tmp_path / "l.wav", empty),
        write_wav(tmp_path / "r.wav", empty),
        tmp_path / "s.wav",
    )
    assert result.frames == 0
    channels, _, data = read_channels(tmp_path / "s.wav")
    assert channels == 2 and data.shape == (0, 2)


@pytest.mark.parametrize(
    "content", [b"", b"RIFF\x00\x00", b"RIFX....WAVE", b"RIFF\0\0\0\0WAVEfmt "]
)
def test_unreadable_input(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    with pytest.raises(WavFormatError):
        make_stereo(bad, write_wav(tmp_path / "r.wav", tone(1, 0)), tmp_path / "s.wav")
    assert not (tmp_path / "s.wav").exists()


def test_sample_rate_mismatch_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FormatMismatchError, match="8000 Hz.*16000 Hz"):
        make_stereo(
            write_wav(tmp_path / "l.wav", tone(10, 0), 8000),
            write_wav(tmp_path / "r.wav", tone(10, 0), 16000),
            tmp_path / "s.wav",
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.wav", "r.wav"]


def test_stereo_input_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(FormatMismatchError, match="mono 16-bit"):
        make_stereo(
            write_wav(tmp_path / "l.wav", tone(10, 0), channels=2),
            write_wav(tmp_path / "r.wav", tone(10, 0)),
            tmp_path / "s.wav",
        )


def test_negative_offset_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="left_offset_s"):
        make_stereo(
            write_wav(tmp_path / "l.wav", tone(10, 0)),
            write_wav(tmp_path / "r.wav", tone(10, 0)),
            tmp_path / "s.wav",
            left_offset_s=-0.1,
        )


def test_replaces_an_existing_output(tmp_path: Path) -> None:
    out = tmp_path / "s.wav"
    out.write_bytes(b"old")
    make_stereo(
        write_wav(tmp_path / "l.wav", tone(5, 0)), write_wav(tmp_path / "r.wav", tone(5, 0)), out
    )
    assert read_channels(out)[2].shape == (5, 2)
