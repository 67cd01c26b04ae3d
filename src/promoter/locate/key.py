"""YAML: the value of every mapping key NAME, at any depth, in every document."""

from __future__ import annotations

from collections.abc import Callable

from promoter.locate.base import Found, refuse_anchor, single, yaml_value
from promoter.locate.yamlnodes import Mapping, Node, Sequence, walk


def find(text: str, roots: list[Node], name: str, pinned: Callable[[str], bool]) -> list[Found]:
    out: list[Found] = []
    for root in roots:
        for node in walk(root):
            if not isinstance(node, Mapping):
                continue
            value = single(node, name)
            if value is None or isinstance(value, (Mapping, Sequence)):
                continue
            what = f"the value of '{name}'"
            found = yaml_value(text, value, what)
            if pinned(found.value):
                refuse_anchor(value, what)
            out.append(found)
    return out
