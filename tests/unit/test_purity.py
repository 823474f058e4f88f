"""What each core package may import, checked by parsing its source (nothing imported):

- acd/ is sans-IO: the standard library only, none of its I/O, clock, concurrency or
  randomness-from-the-OS modules;
- routing/ is pure too: the stdlib (no I/O or clock modules) and phonenumbers, and it
  never calls a clock (it imports datetime for types, so calls are checked as well);
- recordings/ is file work but must run anywhere: the stdlib only (no pjsua2, no numpy).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# stdlib modules that would read a clock, touch the OS or run concurrently
FORBIDDEN = {
    "asyncio", "concurrent", "datetime", "io", "multiprocessing", "os", "pathlib",
    "select", "selectors", "shutil", "signal", "socket", "sqlite3", "subprocess", "sys",
    "tempfile", "threading", "time", "urllib", "http", "logging", "secrets",
}  # fmt: skip
# package -> (third-party modules allowed, stdlib modules forbidden)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "acd": (set(), FORBIDDEN),
    "routing": ({"phonenumbers"}, {"socket", "asyncio", "subprocess", "threading", "time",
                                   "random"}),
    "recordings": (set(), set()),
}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            found.append((node.lineno, "__import__"))
    return found


def _files(*packages: str) -> list[Path]:
    files = sorted(p for pkg in packages or RULES for p in (ROOT / pkg).rglob("*.py"))
    assert files
    return files


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_package_imports_only_allowed_stdlib(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    for line, module in _imports(path):
        top = module.split(".")[0]
        where = f"{path.relative_to(ROOT)}:{line} imports {module}"
        assert top != "__import__", f"{where}: dynamic import"
        allowed, forbidden = RULES[package]
        if top == package or top == "__future__" or top in allowed:
            continue
        assert top in sys.stdlib_module_names, f"{where}: not the standard library"
        assert top not in forbidden, f"{where}: I/O, clock or concurrency in a pure package"


@pytest.mark.parametrize("path", _files("acd", "routing"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_package_never_calls_a_clock(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, (
                f"{path.relative_to(ROOT)}:{node.lineno} reads a clock")


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom asyncio import sleep\nimport acd.engine\n")
    assert [m for _, m in _imports(bad)] == ["time", "asyncio", "acd.engine"]
