"""Read YAML into plain Python data while remembering where every key came from.

PyYAML's ``safe_load`` throws line numbers away, so we ``compose`` the node tree and
build the data ourselves: mapping keys are always taken as their source text (so
``+15551230001:`` stays a string instead of becoming an int), scalar values go
through PyYAML's safe constructor, and every key path is recorded in a
:class:`LineIndex` that the loader uses to put ``file:line`` in front of errors.

Duplicate keys are rejected (PyYAML silently keeps the last one, which hides typos);
``<<`` merge keys and anchors/aliases work as in YAML 1.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from gateway.settings.errors import ConfigIssue, SettingsError

Path = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(slots=True)
class LineIndex:
    """1-based line of each key path; the root maps to line 1."""

    file: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """Line of ``path`` or of its nearest ancestor that exists in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1


def load_yaml(text: str, file: str) -> tuple[dict[str, Any], LineIndex]:
    """Parse ``text``; return the top-level mapping and its line index."""
    index = LineIndex(file=file, lines={(): 1})
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or str(exc)
        raise SettingsError([ConfigIssue(file, line, "", f"invalid YAML: {problem}")]) from exc
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise SettingsError([ConfigIssue(file, 1, "", f"invalid YAML: {exc}")]) from exc
    if root is None:
        return {}, index
    if not isinstance(root, yaml.MappingNode):
        raise SettingsError(
            [ConfigIssue(file, root.start_mark.line + 1, "", "the top level must be a mapping")]
        )
    builder = _Builder(index)
    data = builder.build(root, ())
    assert isinstance(data, dict)
    return data, index


class _Builder:
    def __init__(self, index: LineIndex) -> None:
        self._index = index
        self._constructor = yaml.SafeLoader("")  # only its construct_* methods are used

    def build(self, node: yaml.Node, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for position, child in enumerate(node.value):
                self._index.lines[(*path, position)] = child.start_mark.line + 1
                items.append(self.build(child, (*path, position)))
            return items
        return self._constructor.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                for source in self._merge_sources(value_node, path):
                    for key, value in self._mapping(source, path).items():
                        merged.setdefault(key, value)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail(key_node, path, "keys must be plain scalars")
            key = str(key_node.value)
            if key in result:
                self._fail(key_node, (*path, key), "duplicate key")
            self._index.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_sources(self, node: yaml.Node, path: Path) -> Iterator[yaml.MappingNode]:
        if isinstance(node, yaml.MappingNode):
            yield node
        elif isinstance(node, yaml.SequenceNode):
            for child in node.value:
                yield from self._merge_sources(child, path)
        else:
            self._fail(node, (*path, "<<"), "a merge value must be a mapping")

    def _fail(self, node: yaml.Node, path: Path, problem: str) -> None:
        line = node.start_mark.line + 1
        raise SettingsError([ConfigIssue(self._index.file, line, format_path(path), problem)])


def format_path(path: Path) -> str:
    """``("trunks", 0, "password")`` -> ``trunks[0].password``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
