"""gateway.logsafe.printable() under arbitrary text and bytes: one printable line, bounded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.logsafe import printable

values = st.one_of(st.text(), st.binary(), st.binary().map(lambda b: b.decode("utf-8", "replace")))


@given(values, st.integers(0, 300))
def test_every_value_becomes_one_printable_line_of_bounded_length(
    value: str | bytes, limit: int
) -> None:
    out = printable(value, limit)
    assert out.isprintable(), repr(out)  # no CR/LF, ESC, NUL, U+202E, lone surrogate ...
    out.encode("utf-8")  # strict: no byte that is not UTF-8 can reach the log
    # every kept character is at most a 10-character escape (\U0010ffff), plus the tail
    assert len(out) <= 10 * limit + len(f"...[{len(value)} more]")


@given(st.text(alphabet=st.characters(blacklist_characters="\\", blacklist_categories=["Cc",
       "Cf", "Cs", "Co", "Cn", "Zl", "Zp"])))  # fmt: skip
def test_printable_text_is_kept_as_it_is_up_to_the_limit(text: str) -> None:
    out = printable(text, limit=len(text) + 1)
    assert out == text if text.isprintable() else out.isprintable()


@given(st.binary(min_size=1))
def test_bytes_that_are_not_utf8_are_escaped_not_replaced(raw: bytes) -> None:
    out = printable(raw, limit=10**6)
    assert "\ufffd" not in out or "\ufffd" in raw.decode("utf-8", "surrogateescape")
