"""routing/ is pure: it imports only the stdlib and phonenumbers, and never reads a clock."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "routing"
ALLOWED_THIRD_PARTY = {"phonenumbers"}
FORBIDDEN_STDLIB = {"socket", "asyncio", "subprocess", "threading", "time", "random"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _modules() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert files, PACKAGE
    return files


def test_imports_are_stdlib_or_phonenumbers() -> None:
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                ok = (
                    top == "routing"
                    or top in ALLOWED_THIRD_PARTY
                    or (top in sys.stdlib_module_names and top not in FORBIDDEN_STDLIB)
                )
                assert ok, f"{path.name} imports {name}"


def test_no_clock_reads() -> None:
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads a clock"
