"""YAML documents as nodes that know where they are in the text.

PyYAML's composer fails on an alias whose anchor lives in another file (Jenkins Job Builder's
`<<: *local_defaults`), and it hides aliases by returning the anchored node itself. This module
composes nodes from the (libyaml) event stream instead: an alias stays an `Alias` that points at
its anchor, or at nothing when the anchor is defined elsewhere, so locators can refuse values
that depend on one. Offsets are code-point indexes into the text as given, BOM included.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

BOM = "\ufeff"

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


class YamlSyntaxError(Exception):
    def __init__(self, problem: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {problem}")
        self.problem = problem
        self.line = line
        self.column = column


class Node:
    """One node of a document: where it is (code-point offsets and a 1-based line), its anchor
    and tag; `owner` is the nearest enclosing collection that carries an anchor, `aliased`
    whether an alias in the file uses this node. Made by the thousand while composing, so plain
    classes with slots (identity, not value, is their equality)."""

    __slots__ = ("aliased", "anchor", "end", "line", "owner", "start", "tag")

    def __init__(self, start: int, end: int, line: int, anchor: str | None, tag: str | None) -> None:
        self.start = start
        self.end = end
        self.line = line
        self.anchor = anchor
        self.tag = tag
        self.owner: Node | None = None
        self.aliased = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(start={self.start}, end={self.end}, line={self.line})"

    def shared_by_alias(self) -> Node | None:
        """The anchored node (this one or one around it) that an alias in this file reuses."""
        n: Node | None = self
        while n is not None:
            if n.anchor and n.aliased:
                return n
            n = n.owner
        return None


class Scalar(Node):
    __slots__ = ("plain_implicit", "style", "value")

    def __init__(
        self,
        start: int,
        end: int,
        line: int,
        anchor: str | None,
        tag: str | None,
        value: str,
        style: str,  # "" plain, "'" or '"' quoted, "|" or ">" block
        plain_implicit: bool,
    ) -> None:
        # Node's fields set here, not through super().__init__: scalars are made by the ten thousand
        self.start, self.end, self.line, self.anchor, self.tag = start, end, line, anchor, tag
        self.owner: Node | None = None
        self.aliased = False
        self.value = value
        self.style = style
        self.plain_implicit = plain_implicit


class Sequence(Node):
    __slots__ = ("flow", "items")

    def __init__(
        self, start: int, end: int, line: int, anchor: str | None, tag: str | None, flow: bool = False
    ) -> None:
        super().__init__(start, end, line, anchor, tag)
        self.items: list[Node] = []
        self.flow = flow


class Mapping(Node):
    __slots__ = ("flow", "pairs")

    def __init__(
        self, start: int, end: int, line: int, anchor: str | None, tag: str | None, flow: bool = False
    ) -> None:
        super().__init__(start, end, line, anchor, tag)
        self.pairs: list[tuple[Node, Node]] = []
        self.flow = flow


class Alias(Node):
    __slots__ = ("name", "target")

    def __init__(
        self,
        start: int,
        end: int,
        line: int,
        name: str,
        target: Node | None,  # None: the anchor is in another file
    ) -> None:
        super().__init__(start, end, line, None, None)
        self.name = name
        self.target = target


# libyaml's scanner slows down with the nesting depth, quadratically (40 000 levels of '[':
# 4 s; a 64 MB file of them: hours); no real document comes near this
MAX_DEPTH = 200


def parse_events(text: str) -> Iterator[yaml.Event]:
    """libyaml events of `text`; marks are relative to the text without its BOM."""
    body = text[1:] if text.startswith(BOM) else text
    depth = 0
    opening, closing = _OPENING, _CLOSING
    try:
        for ev in _parse(body):
            kind = type(ev)
            if kind in opening:
                depth += 1
                if depth > MAX_DEPTH:
                    m = ev.start_mark
                    where = (m.line + 1, m.column + 1) if m is not None else (0, 0)
                    raise YamlSyntaxError(f"nested more than {MAX_DEPTH} levels deep; promoter refuses it", *where)
            elif kind in closing:
                depth -= 1
            yield ev
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        col = mark.column + 1 if mark else 0
        if exc.problem == "exceeded maximum nesting depth":
            # newer libyaml (PyYAML >= 6.0.4) stops at 1000 levels itself, and its scanner, looking
            # ahead for a simple key, can get there before the parser hands over level 201
            raise YamlSyntaxError(f"nested more than {MAX_DEPTH} levels deep; promoter refuses it", line, col) from None
        raise YamlSyntaxError(str(exc.problem or exc.context or "invalid YAML"), line, col) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: where it is, from its position
        at = exc.position
        line, column = body.count("\n", 0, at) + 1, at - body.rfind("\n", 0, at)
        shown = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise YamlSyntaxError(f"{exc.reason} ({shown})", line, column) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), 0, 0) from None


_OPENING = frozenset({yaml.SequenceStartEvent, yaml.MappingStartEvent})
_CLOSING = frozenset({yaml.SequenceEndEvent, yaml.MappingEndEvent})


def _parse(body: str) -> Iterator[yaml.Event]:
    """`yaml.parse` with libyaml's parser asked once per event (it answers None after the stream's
    end), instead of twice through PyYAML's generic loop: a saas file has thousands of events."""
    if _Loader is yaml.SafeLoader:  # pragma: no cover - PyYAML built without libyaml
        yield from yaml.parse(body, Loader=_Loader)
        return
    loader = _Loader(body)
    try:
        get = loader.get_event
        while (ev := get()) is not None:
            yield ev
    finally:
        loader.dispose()


def mark(m: Any) -> tuple[int, int]:
    """(code-point index, 1-based line) of an event mark (libyaml always sets both)."""
    return (m.index, m.line + 1) if m is not None else (0, 0)


def compose(text: str) -> list[Node]:
    """The root node of every document in `text` (empty documents are left out)."""
    shift = 1 if text.startswith(BOM) else 0
    roots: list[Node] = []
    anchors: dict[str, Node] = {}
    stack: list[Node] = []
    pending_key: list[Node | None] = []

    def add(node: Node) -> None:
        if not stack:
            roots.append(node)
            return
        parent = stack[-1]  # a Sequence or a Mapping
        node.owner = parent if parent.anchor else parent.owner
        if type(parent) is Sequence:
            parent.items.append(node)
        else:
            assert isinstance(parent, Mapping)
            key = pending_key[-1]
            if key is None:
                pending_key[-1] = node
            else:
                parent.pairs.append((key, node))
                pending_key[-1] = None

    scalar_event, alias_event, document_start = yaml.ScalarEvent, yaml.AliasEvent, yaml.DocumentStartEvent
    sequence_start, mapping_start = yaml.SequenceStartEvent, yaml.MappingStartEvent
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    ev: Any  # (by the thousand: the event's class compared, not narrowed by isinstance; marks read once)
    for ev in parse_events(text):
        kind = type(ev)
        start_mark, end_mark = ev.start_mark, ev.end_mark
        if start_mark is None or end_mark is None:  # pragma: no cover - libyaml always sets both
            (s, line), (e, _) = mark(start_mark), mark(end_mark)
        else:
            s, line, e = start_mark.index, start_mark.line + 1, end_mark.index
        s, e = s + shift, e + shift
        if kind is scalar_event:
            node: Node = Scalar(s, e, line, ev.anchor, ev.tag, ev.value, ev.style or "", bool(ev.implicit[0]))
            if ev.anchor:
                anchors[ev.anchor] = node
            add(node)
        elif kind is mapping_start or kind is sequence_start:
            flow = bool(ev.flow_style)
            node = (
                Sequence(s, e, line, ev.anchor, ev.tag, flow=flow)
                if kind is sequence_start
                else Mapping(s, e, line, ev.anchor, ev.tag, flow=flow)
            )
            if ev.anchor:
                anchors[ev.anchor] = node
            add(node)
            stack.append(node)
            pending_key.append(None)
        elif kind in ends:
            done = stack.pop()
            pending_key.pop()
            done.end = e
        elif kind is alias_event:
            name = ev.anchor or ""
            target = anchors.get(name)
            if target is not None:
                target.aliased = True
            add(Alias(s, e, line, name, target))
        elif kind is document_start:
            anchors = {}
    return roots


def walk(node: Node, through_aliases: bool = False) -> Iterator[Node]:
    """Every node below `node`, depth first, in document order (keys before their values)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, Mapping):
            for k, v in reversed(n.pairs):
                todo.append(v)
                todo.append(k)
        elif isinstance(n, Sequence):
            todo.extend(reversed(n.items))
        elif through_aliases and isinstance(n, Alias) and n.target is not None:
            todo.append(n.target)


def version_span(text: str, node: Scalar) -> tuple[int, int] | None:
    """Where the scalar's characters stand in `text`, or None when they are not written verbatim
    on one line (escapes, folding, block scalars) and so cannot be spliced safely."""
    if node.style in ("|", ">"):
        return None
    quote = 1 if node.style in ("'", '"') else 0
    end = node.end - quote
    start = end - len(node.value)
    if start < node.start or text[start:end] != node.value:
        return None
    if quote and text[start - 1] != node.style:
        return None
    return start, end
