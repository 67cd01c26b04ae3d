"""What every locator shares: the span it finds, the refusal it raises, the YAML checks that
keep an edit from changing more than one place."""

from __future__ import annotations

from promoter.locate.yamlnodes import Alias, Mapping, Node, Scalar, version_span
from promoter.records import record


class LocateError(Exception):
    """A value was found but cannot be edited safely (alias, anchor, duplicate key, ...)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def single(mapping: Mapping, key: str) -> Node | None:
    """The value of `key` in `mapping`, refused when the key is written more than once."""
    found: Node | None = None
    count = 0
    for k, v in mapping.pairs:  # (the common case, by the thousand: one pass, no list)
        if type(k) is Scalar and k.value == key:
            found, count = v, count + 1
    if count < 2:
        return found
    pairs = [(k, v) for k, v in mapping.pairs if isinstance(k, Scalar) and k.value == key]
    if len(pairs) > 1:
        lines = [str(k.line) for k, _ in pairs]
        times = "twice" if len(pairs) == 2 else f"{len(pairs)} times"
        raise LocateError(
            pairs[1][0].line,
            f"key '{key}' appears {times} in one mapping (lines {', '.join(lines[:-1])} and {lines[-1]})",
        )
    return pairs[0][1] if pairs else None


def no_alias(node: Node | None, what: str) -> Node | None:
    """`node`, refused when it is an alias: what lies below it belongs to its anchor."""
    if isinstance(node, Alias):
        raise LocateError(node.line, f"{what} is the alias *{node.name}; promoter does not edit through aliases")
    return node


@record(frozen=True)
class Found:
    start: int
    end: int
    line: int
    value: str
    plain_yaml: bool = False


def yaml_value(text: str, node: Node, what: str) -> Found:
    """The editable span of a located YAML value, or a LocateError saying why it is not one."""
    if isinstance(node, Alias):
        where = "defined in another file" if node.target is None else f"anchored at line {node.target.line}"
        raise LocateError(
            node.line, f"{what} is the alias *{node.name} ({where}); editing it would change every place that uses it"
        )
    if not isinstance(node, Scalar):
        raise LocateError(node.line, f"{what} is a {type(node).__name__.lower()}, expected a string")
    span = version_span(text, node)
    if span is None:
        raise LocateError(node.line, f"{what} is not written verbatim on one line (escaped or block scalar)")
    return Found(span[0], span[1], node.line, node.value, plain_yaml=node.style == "")


def refuse_anchor(node: Node, what: str) -> None:
    """Refuse a value whose text is shared: it carries an anchor, or sits inside an aliased one."""
    if node.anchor:
        raise LocateError(
            node.line, f"{what} carries the anchor &{node.anchor}; editing it would change every alias of it"
        )
    shared = node.shared_by_alias()
    if shared is not None:
        raise LocateError(
            node.line,
            f"{what} is inside &{shared.anchor} (line {shared.line}), which an alias reuses; "
            "editing it would change every place that uses it",
        )
