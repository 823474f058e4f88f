"""Network text in log lines: the helper, and log lines built at the call sites."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest

from gateway.logsafe import printable
from gateway.managed_process import ManagedProcess

HOSTILE = "alice\r\n2026-01-01 ERROR gateway: forged\x1b[31mred\x00\udcff"
RAW = ("\r", "\n", "\x1b", "\x00", "\udcff", "\xff")


def assert_clean(text: str) -> None:
    assert not [c for c in RAW if c in text], repr(text)
    assert text.isprintable(), repr(text)


def test_control_characters_and_bad_bytes_become_escapes() -> None:
    assert printable("a\r\nb") == "a\\x0d\\x0ab"
    assert printable("\x1b[2J") == "\\x1b[2J"
    assert printable("nul\x00") == "nul\\x00"
    assert printable(b"\xff\xfeok") == "\\xff\\xfeok"  # not UTF-8: each byte escaped
    assert printable("\udcff") == "\\xff"  # a byte kept by surrogateescape
    assert printable("del\x7f tab\t") == "del\\x7f tab\\x09"
    assert printable("\u202eevil") == "\\u202eevil"  # right-to-left override
    assert printable("\u2028") == "\\u2028"  # a line separator for some log viewers


def test_printable_text_is_kept_and_backslashes_stay_unambiguous() -> None:
    assert printable("sip:+15551230000@carrier;tag=ab") == "sip:+15551230000@carrier;tag=ab"
    assert printable("Zoë 电话") == "Zoë 电话"
    assert printable(b"caf\xc3\xa9") == "café"
    assert printable("a\\x0d") == "a\\\\x0d"  # a literal backslash is not an escape


def test_length_is_capped_and_the_cut_is_said() -> None:
    assert printable("x" * 10, limit=4) == "xxxx...[6 more]"
    assert printable("x" * 4, limit=4) == "xxxx"
    assert len(printable("\x00" * 5000)) < 1000  # default cap: 200 characters escaped


def test_anything_with_a_str_is_accepted() -> None:
    assert printable(ValueError("bad\nline")) == "bad\\x0aline"
    assert_clean(printable(HOSTILE))


# ------------------------------------------------------------------ at the call sites
class Chatty(ManagedProcess):
    """A child that prints hostile bytes (as Kamailio quotes a malformed datagram)."""

    name = "chatty"

    def command(self) -> list[str]:
        script = (
            "import sys, time\n"
            "sys.stdout.buffer.write(b'ERROR: parse_msg(): message=<INVITE \\x1b[2J\\x00\\xff"
            "\\rX\\r\\n')\n"
            "sys.stdout.flush(); time.sleep(30)\n"
        )
        return [sys.executable, "-c", script]

    async def wait_ready(self, proc: asyncio.subprocess.Process) -> None:
        for _ in range(200):
            if self.log_tail:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("no output from the child")


async def test_a_childs_output_is_relayed_escaped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    child = Chatty(
        cwd=tmp_path, log=logging.getLogger("test.chatty"), child_log=logging.getLogger("test.c")
    )
    caplog.set_level(logging.DEBUG, logger="test.c")
    await child.start()
    try:
        (record,) = [r for r in caplog.records if r.name == "test.c"]
    finally:
        await child.stop()
    line = record.getMessage()
    assert line == "ERROR: parse_msg(): message=<INVITE \\x1b[2J\\x00\\xff\\x0dX"
    assert_clean(line)
    assert list(child.log_tail) == [line]  # the tail (health, error messages) too
