"""YAML: the value of every mapping key NAME, at any depth, in every document."""

from __future__ import annotations

from collections.abc import Callable

from promoter.locate import Found, LocateError, refuse_anchor, yaml_value
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence, walk


def find(text: str, roots: list[Node], name: str, pinned: Callable[[str], bool]) -> list[Found]:
    out: list[Found] = []
    for root in roots:
        for node in walk(root):
            if not isinstance(node, Mapping):
                continue
            values = node.values_of(name)
            if len(values) > 1:
                lines = " and ".join(str(v.line) for v in values)
                raise LocateError(values[1].line, f"key '{name}' appears twice in one mapping (lines {lines})")
            for value in values:
                if isinstance(value, (Mapping, Sequence)):
                    continue
                what = f"the value of '{name}'"
                found = yaml_value(text, value, what)
                if isinstance(value, Scalar) and pinned(value.value):
                    refuse_anchor(value, what)
                out.append(found)
    return out
