"""YAML: the values a JSONPath expression (app-interface's subset) selects."""

from __future__ import annotations

from collections.abc import Callable

from promoter.locate.base import Found, refuse_anchor, yaml_value
from promoter.locate.jsonpath import compile_path
from promoter.locate.yamlnodes import Node


def find(text: str, roots: list[Node], expr: str, pinned: Callable[[str], bool]) -> list[Found]:
    nodes = compile_path(expr).find(roots)
    out: list[Found] = []
    for node in nodes:
        found = yaml_value(text, node, f"the value at {expr}")
        if pinned(found.value):
            refuse_anchor(node, "the value")
        out.append(found)
    return out
