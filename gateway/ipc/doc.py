"""The message and error tables of docs/ipc.md, rendered from the registry.

``python -m gateway.ipc.doc`` rewrites the generated regions of docs/ipc.md (between
``<!-- BEGIN registry:NAME -->`` and ``<!-- END registry:NAME -->``);
``--check`` exits 1 if they differ from the registry (a unit test does the same).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import inspect
import json
import re
import sys
import typing
from collections.abc import Callable, Iterable
from pathlib import Path

from gateway.ipc.errors import ERRORS
from gateway.ipc.protocol import COMMANDS, EVENTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "ipc.md"
_REGION = re.compile(r"(<!-- BEGIN registry:(\w+) -->\n)(.*?)(<!-- END registry:\2 -->)", re.DOTALL)


def _summary(obj: object) -> str:
    """A docstring on one line (``|`` escaped for the table)."""
    text = " ".join((inspect.getdoc(obj) or "").split())
    return text.replace("``", "`").replace("|", "\\|")


def _default(f: dataclasses.Field[object]) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return f"`{f.name}`"
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{f.name}`={json.dumps(value)}"


def _arg_list(cls: type) -> str:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        text = _default(f)
        hint = hints[f.name]
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            text += " (" + " \\| ".join(f"`{m.value}`" for m in hint) + ")"
        out.append(text)
    return ", ".join(out) or "–"


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def commands_table() -> str:
    return _table(
        ("name", "args (defaults)", "result data", "what it does"),
        (
            (
                f"`{name}`",
                _arg_list(cls),
                ", ".join(f"`{k}`" for k in cls.RESULT) or "–",
                _summary(cls),
            )
            for name, cls in COMMANDS.items()
        ),
    )


def events_table() -> str:
    return _table(
        ("name", "data", "meaning"),
        ((f"`{name}`", _arg_list(cls), _summary(cls)) for name, cls in EVENTS.items()),
    )


def errors_table() -> str:
    return _table(
        ("code", "exception (`gateway.ipc.errors`)", "meaning"),
        ((f"`{e.code}`", f"`{e.__name__}`", _summary(e)) for e in ERRORS),
    )


RENDERERS: dict[str, Callable[[], str]] = {
    "commands": commands_table,
    "events": events_table,
    "errors": errors_table,
}


def render(text: str) -> str:
    """``text`` with every generated region replaced by what the registry says."""

    def fill(m: re.Match[str]) -> str:
        renderer = RENDERERS.get(m.group(2))
        if renderer is None:
            raise KeyError(f"no renderer for region {m.group(2)!r}")
        return m.group(1) + renderer() + m.group(4)

    return _REGION.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gateway.ipc.doc", description=__doc__)
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/ipc.md is stale")
    args = ap.parse_args(argv)
    text = DOC.read_text()
    fresh = render(text)
    if args.check:
        if fresh != text:
            print(f"{DOC} is stale: run python -m gateway.ipc.doc", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
