"""What a caller hears and keys after accepting the callback offer (pure, no I/O).

    read back the number ("We will call you back at 4 9 3 0 ..., to confirm press 1,
    to enter another number press 2") --1--> confirmed
                                         --2--> "enter your number, then #" --#--> read back
                                                (an invalid number: "not valid", again)

The caller's own number (caller id) is read back first when it is a valid number in the
queue's region; else the caller is asked to key one in. A keyed-in number is validated
with `routing.normalise` (E.164 in the region, and in a range `phonenumbers` knows to be
assigned: it will be dialled); `*` clears what was keyed.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing import normalise
from routing.numbers import NumberStatus

CONFIRM, CHANGE, END, CLEAR = "1", "2", "#", "*"
MAX_DIGITS = 20


def digit_prompts(number: str) -> list[str]:
    """A number read digit by digit with the shipped number prompts (zero: number_00)."""
    return [f"number_{int(d):02d}" for d in number if d.isdigit()]


def key_prompt(key: str) -> str:
    return {"*": "key_star", "#": "key_hash"}.get(key) or f"number_{int(key):02d}"


def valid_number(raw: str | None, region: str | None, *, strict: bool) -> str | None:
    parsed = normalise(raw, region, strict=strict)
    return parsed.e164 if parsed.status is NumberStatus.OK else None


@dataclass(slots=True)
class Step:
    play: list[str]  # prompt names to play now (empty: nothing new)
    confirmed: str | None = None  # the number, once the caller confirmed it


class CallbackDialog:
    def __init__(self, caller: str | None, region: str | None) -> None:
        self.region = region
        self.number = valid_number(caller, region, strict=False)  # the carrier's caller id
        self.state = "confirm" if self.number else "enter"
        self.keyed = ""

    def start(self) -> list[str]:
        return self._readback() if self.number else ["callback_enter"]

    def digit(self, key: str) -> Step:
        if self.state == "confirm":
            if key == CONFIRM and self.number:
                self.state = "done"
                return Step(["callback_confirmed"], confirmed=self.number)
            if key == CHANGE:
                self.state, self.keyed = "enter", ""
                return Step(["callback_enter"])
            return Step([])
        if self.state != "enter":
            return Step([])
        if key == CLEAR:
            self.keyed = ""
        elif key == END:
            number = valid_number(self.keyed, self.region, strict=True)  # a real range
            self.keyed = ""
            if number is None:
                return Step(["callback_invalid", "callback_enter"])
            self.number, self.state = number, "confirm"
            return Step(self._readback())
        elif key.isdigit() and len(self.keyed) < MAX_DIGITS:
            self.keyed += key
        return Step([])

    def _readback(self) -> list[str]:
        assert self.number is not None
        return ["callback_number", *digit_prompts(self.number), "callback_confirm"]
