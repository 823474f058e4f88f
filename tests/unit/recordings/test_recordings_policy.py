"""naming (safe deterministic paths) and retention (pure policy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recordings import (
    EVALUATED,
    LEGAL_HOLD,
    NamingError,
    RecordingRef,
    RetentionRules,
    due_for_deletion,
    judge,
    recording_dir,
    recording_paths,
    safe_component,
)

T0 = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)

# -- naming -------------------------------------------------------------------


def test_layout_uses_the_utc_date() -> None:
    paris = T0.astimezone(timezone(timedelta(hours=1)))  # already 23 Nov locally
    assert recording_dir("abc123@host", paris) == PurePosixPath("2026/11/22/abc123@host")
    assert recording_dir("abc123@host", T0.timestamp()) == recording_dir("abc123@host", T0)
    paths = recording_paths("/srv/rec", "abc123@host", T0)
    assert paths.directory == Path("/srv/rec/2026/11/22/abc123@host")
    assert (paths.caller.name, paths.agent.name, paths.stereo.name) == (
        "caller.wav",
        "agent.wav",
        "stereo.wav",
    )


@pytest.mark.parametrize(
    "call_id", ["../../etc/passwd", "..", ".", "/abs", "a/b", "a\\b", "x\x00y"]
)
def test_no_traversal(tmp_path: Path, call_id: str) -> None:
    paths = recording_paths(tmp_path, call_id, T0)
    assert paths.directory.parent == tmp_path / "2026" / "11" / "22"
    assert paths.stereo.resolve().is_relative_to(tmp_path.resolve())
    assert not paths.directory.name.startswith(".")


def test_distinct_ids_stay_distinct_and_names_are_deterministic() -> None:
    assert safe_component("a/b") != safe_component("a_b") == "a_b"
    assert safe_component("a/b") == safe_component("a/b")
    long = "x" * 500
    assert len(safe_component(long)) <= 96 + 13
    assert safe_component(long) != safe_component(long + "y")


def test_bad_inputs() -> None:
    with pytest.raises(NamingError):
        safe_component("")
    with pytest.raises(NamingError):
        recording_dir("x", datetime(2026, 1, 1))


@given(st.text(min_size=1, max_size=300))
def test_any_call_id_gives_one_safe_component(call_id: str) -> None:
    name = safe_component(call_id)
    assert name == safe_component(call_id)
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert name not in (".", "..") and not name.startswith(".")
    assert len(name) <= 96 + 13
    assert name.isascii()


# -- retention ----------------------------------------------------------------

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def ref(rid: str, age_days: float, queue: str | None = "sales", *flags: str) -> RecordingRef:
    return RecordingRef(rid, NOW - timedelta(days=age_days), queue, frozenset(flags))


RULES = RetentionRules(
    default_days=30,
    queue_days={"sales": 90, "support": None, "tmp": 0},
    flag_days={EVALUATED: 365},
)


def test_queue_days_default_and_forever() -> None:
    refs = [
        ref("sales-new", 89.9),
        ref("sales-old", 90),
        ref("other-old", 31, "billing"),
        ref("other-new", 29, "billing"),
        ref("no-queue", 30, None),
        ref("support-ancient", 5000, "support"),
        ref("tmp", 0, "tmp"),
    ]
    assert due_for_deletion(refs, RULES, NOW) == ["sales-old", "other-old", "no-queue", "tmp"]


def test_flags_extend_never_shorten() -> None:
    assert not judge(ref("e", 200, "sales", EVALUATED), RULES, NOW).delete
    assert judge(ref("e", 365, "sales", EVALUATED), RULES, NOW).delete
    short = RetentionRules(default_days=100, flag_days={EVALUATED: 10})
    assert not judge(ref("e", 50, None, EVALUATED), short, NOW).delete
    forever = RetentionRules(default_days=1, flag_days={"dispute": None})
    assert judge(ref("d", 999, None, "dispute"), forever, NOW).expires_at is None


def test_legal_hold_always_wins() -> None:
    verdict = judge(ref("h", 10_000, "tmp", LEGAL_HOLD, EVALUATED), RULES, NOW)
    assert (verdict.delete, verdict.expires_at, verdict.reason) == (False, None, "legal hold")


def test_verdict_expiry() -> None:
    verdict = judge(ref("s", 10), RULES, NOW)
    assert verdict.expires_at == NOW + timedelta(days=80) and not verdict.delete


def test_no_rules_keeps_everything() -> None:
    assert due_for_deletion([ref("a", 10_000)], RetentionRules(), NOW) == []


def test_invalid_rules_and_naive_times() -> None:
    with pytest.raises(ValueError):
        RetentionRules(default_days=-1)
    with pytest.raises(ValueError):
        RetentionRules(queue_days={"q": -5})
    with pytest.raises(ValueError):
        judge(RecordingRef("x", datetime(2026, 1, 1)), RULES, NOW)
