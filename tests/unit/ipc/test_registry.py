"""One registry: the unions ``Command``/``Event`` are the list of messages; the codec's
tables, the docs' tables and the failure types agree with it."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from gateway.ipc import doc, errors
from gateway.ipc import protocol as p


def test_codec_tables_are_the_unions() -> None:
    assert list(p.COMMANDS.values()) == list(typing.get_args(p.Command))
    assert list(p.EVENTS.values()) == list(typing.get_args(p.Event))
    for name, cls in [*p.COMMANDS.items(), *p.EVENTS.items()]:
        assert cls.NAME == name
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_leg_state_keeps_the_wire_values() -> None:
    assert [s.value for s in p.LegState] == [
        "calling",
        "early",
        "connecting",
        "confirmed",
        "disconnected",
    ]
    assert p.LegStateChanged.NAME == "leg_state"


def test_every_command_declares_its_result_keys() -> None:
    for cls in p.COMMANDS.values():
        assert isinstance(cls.RESULT, tuple) and all(isinstance(k, str) for k in cls.RESULT)


def test_docs_tables_match_the_registry() -> None:
    text = doc.DOC.read_text()
    assert doc.render(text) == text, "docs/ipc.md is stale: run python -m gateway.ipc.doc"
    for name in [*p.COMMANDS, *p.EVENTS]:
        assert f"| `{name}` |" in text
    for err in errors.ERRORS:
        assert f"| `{err.code}` | `{err.__name__}` |" in text


@pytest.mark.parametrize("cls", errors.ERRORS, ids=lambda c: c.code)
def test_each_wire_code_is_one_exception_type(cls: type[errors.WorkerError]) -> None:
    err = errors.worker_error(cls.code, "w1", "why")
    if cls.on_wire:
        assert type(err) is cls
        assert (err.worker_id, err.message, str(err)) == ("w1", "why", f"w1: {cls.code}: why")
    else:  # worker_gone is the supervisor's; a peer cannot claim it
        assert isinstance(err, errors.WorkerInternal)


def test_codes_are_unique_and_unknown_codes_are_internal() -> None:
    assert len({e.code for e in errors.ERRORS}) == len(errors.ERRORS)
    err = errors.worker_error("teapot", "w2", "short and stout")
    assert isinstance(err, errors.WorkerInternal) and "teapot" in err.message
    assert isinstance(err, errors.WorkerError) and err.worker_id == "w2"
