"""acd/ is sans-IO: it imports only the standard library, and none of its I/O, clock,
concurrency or randomness-from-the-OS modules (parsed with ast, nothing imported)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_PACKAGES = ["acd"]
# stdlib modules that would read a clock, touch the OS or run concurrently
FORBIDDEN = {
    "asyncio", "concurrent", "datetime", "io", "multiprocessing", "os", "pathlib",
    "select", "selectors", "shutil", "signal", "socket", "sqlite3", "subprocess", "sys",
    "tempfile", "threading", "time", "urllib", "http", "logging", "secrets",
}  # fmt: skip


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


def _files() -> list[Path]:
    return sorted(p for pkg in PURE_PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_package_imports_only_allowed_stdlib(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    for line, module in _imports(path):
        top = module.split(".")[0]
        where = f"{path.relative_to(ROOT)}:{line} imports {module}"
        assert top != "__import__", f"{where}: dynamic import"
        if top == package or top == "__future__":
            continue
        assert top in sys.stdlib_module_names, f"{where}: not the standard library"
        assert top not in FORBIDDEN, f"{where}: I/O, clock or concurrency in a pure package"


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom asyncio import sleep\nimport acd.engine\n")
    assert [m for _, m in _imports(bad)] == ["time", "asyncio", "acd.engine"]
