"""Position and estimated-wait announcements, composed from the shipped prompts.

The worker plays one file per Play command, so "You are caller number | three |
Your estimated waiting time is | two | minutes" is concatenated once into a cached
WAV named after its content, and re-used by every call that needs the same sentence.
Composition is cheap (a few KB) and runs on the event loop only on a cache miss.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

MAX_SPOKEN_NUMBER = 30


class PromptSet:
    """The prompt directory plus a cache directory for composed announcements."""

    def __init__(self, prompt_dir: Path, cache_dir: Path) -> None:
        self.prompt_dir = prompt_dir
        self.cache_dir = cache_dir

    def path(self, name: str) -> Path:
        """A shipped prompt by name ("greeting") or an explicit path to a WAV."""
        candidate = Path(name)
        if candidate.suffix == ".wav" and candidate.is_absolute():
            return candidate
        return self.prompt_dir / f"{name}.wav"

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def voicemail_intro(self) -> Path:
        """ "Please leave a message after the tone" followed by the beep."""
        out = self.cache_dir / "voicemail_intro.wav"
        if not out.is_file():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            concatenate([self.path("leave_message"), self.path("beep")], out)
        return out

    def position_and_wait(self, position: int, ewt_seconds: float | None) -> Path:
        parts = sentence_for(position, ewt_seconds)
        key = "_".join(parts)
        out = self.cache_dir / f"announce_{key}.wav"
        if not out.is_file():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            concatenate([self.path(p) for p in parts], out)
        return out


def sentence_for(position: int, ewt_seconds: float | None) -> list[str]:
    """Prompt names for a position/EWT announcement; numbers above 30 are not spoken."""
    parts: list[str] = []
    if 1 <= position <= MAX_SPOKEN_NUMBER:
        parts += ["caller_number", f"number_{position:02d}"]
    if ewt_seconds is not None:
        minutes = math.ceil(ewt_seconds / 60.0)
        if ewt_seconds < 60:
            parts += ["wait_time", "less_than_minute"]
        elif minutes <= MAX_SPOKEN_NUMBER:
            parts += ["wait_time", f"number_{minutes:02d}", "minutes"]
    return parts or ["greeting"]


def concatenate(inputs: list[Path], out: Path) -> None:
    """Join WAVs of one format into `out` (written to a temp name, then renamed)."""
    params = None
    tmp = out.with_suffix(".part")
    with wave.open(str(tmp), "wb") as writer:
        for path in inputs:
            with wave.open(str(path), "rb") as reader:
                current = (reader.getnchannels(), reader.getsampwidth(), reader.getframerate())
                if params is None:
                    params = current
                    writer.setnchannels(current[0])
                    writer.setsampwidth(current[1])
                    writer.setframerate(current[2])
                elif current != params:
                    raise ValueError(f"{path}: format {current} differs from {params}")
                writer.writeframes(reader.readframes(reader.getnframes()))
    tmp.replace(out)
