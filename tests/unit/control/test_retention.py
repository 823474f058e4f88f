"""The retention sweep over the recordings tree (real files in a temp dir)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.control.retention import LEGAL_HOLD, sweep


def make_call(root: Path, day: str, call: str) -> Path:
    folder = root / day / call
    folder.mkdir(parents=True)
    (folder / "stereo.wav").write_bytes(b"RIFF")
    return folder


def test_folders_older_than_the_retention_go_and_the_rest_stay(tmp_path: Path) -> None:
    old = make_call(tmp_path, "2026/01/10", "a")
    held = make_call(tmp_path, "2026/01/10", "b")
    (held / LEGAL_HOLD).write_text("case 42")
    edge = make_call(tmp_path, "2026/01/20", "c")  # ends 2026-01-21 00:00, 10 days before now
    fresh = make_call(tmp_path, "2026/01/25", "d")
    stray = tmp_path / "notes.txt"
    stray.write_text("not a recording")
    now = datetime(2026, 1, 31, 0, 0, tzinfo=UTC)

    deleted = sweep(tmp_path, 10, now)
    assert deleted == [old, edge]
    assert not old.exists() and not edge.exists()
    assert held.exists() and fresh.exists() and stray.exists()
    assert not (tmp_path / "2026/01/20").exists(), "emptied day folders are removed"
    assert sweep(tmp_path, None, now) == [], "retention_days: null keeps everything"


def test_a_call_is_never_deleted_before_its_full_retention(tmp_path: Path) -> None:
    late = make_call(tmp_path, "2026/01/20", "late")  # made at 23:59 that day, say
    assert sweep(tmp_path, 10, datetime(2026, 1, 30, 23, 59, tzinfo=UTC)) == []
    assert late.exists()
