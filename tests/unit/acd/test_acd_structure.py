"""The shape of acd/ (issue 7): imports go one way, no module reads another's private
members, and each state has one writer."""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ACD = Path(__file__).resolve().parents[3] / "acd"


def _trees() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(), filename=str(p)) for p in ACD.glob("*.py")}


def _imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "acd":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("acd."):
            found.add(node.module.split(".")[1])  # type: ignore[union-attr]
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("acd.")}
    return found


def test_imports_within_acd_are_acyclic() -> None:
    graph = {name: _imports(tree) - {name} for name, tree in _trees().items()}
    graph.pop("__init__")  # the package façade re-exports; nothing imports it inside
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as e:  # pragma: no cover - the failure message
        raise AssertionError(f"import cycle in acd/: {e.args[1]}") from None
    assert order.index("engine") > order.index("matcher") > order.index("waitlist")
    assert order.index("matcher") > order.index("roster")


def test_no_module_reads_another_objects_private_members() -> None:
    offenders = []
    for name, tree in _trees().items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                offenders.append(f"{name}.py:{node.lineno} .{node.attr}")
    assert offenders == []


def test_states_change_in_one_place_each() -> None:
    """Only Roster.to assigns an agent's state, only Waitlist.to a call's."""
    writers = {
        (path.name, line.strip())
        for path in ACD.glob("*.py")
        for line in path.read_text().splitlines()
        if re.search(r"\.state = ", line) and "self.state = " not in line
    }
    assert writers == {
        ("roster.py", "a.state = new"),
        ("waitlist.py", "call.state = call_next(call.state, trigger)"),
    }
