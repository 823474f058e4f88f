"""Position / EWT sentences and their composition from the shipped prompts."""

from __future__ import annotations

import wave
from pathlib import Path

from gateway.control.announcements import PromptSet, sentence_for

PROMPTS = Path(__file__).resolve().parents[3] / "config" / "prompts"


def test_sentences_speak_position_and_rounded_up_minutes() -> None:
    assert sentence_for(3, 130.0) == [
        "caller_number",
        "number_03",
        "wait_time",
        "number_03",
        "minutes",
    ]
    assert sentence_for(1, 20.0) == ["caller_number", "number_01", "wait_time", "less_than_minute"]
    assert sentence_for(2, None) == ["caller_number", "number_02"]
    # beyond what the prompts can say: stay silent on that part
    assert sentence_for(45, 3600.0) == ["greeting"]


def test_composed_announcement_is_the_concatenation_and_is_cached(tmp_path: Path) -> None:
    prompts = PromptSet(PROMPTS, tmp_path)
    out = prompts.position_and_wait(3, 130.0)
    frames = 0
    for name in sentence_for(3, 130.0):
        with wave.open(str(PROMPTS / f"{name}.wav")) as part:
            frames += part.getnframes()
    with wave.open(str(out)) as whole:
        assert (whole.getnframes(), whole.getframerate(), whole.getnchannels()) == (frames, 8000, 1)
    mtime = out.stat().st_mtime_ns
    assert prompts.position_and_wait(3, 130.0) == out and out.stat().st_mtime_ns == mtime
