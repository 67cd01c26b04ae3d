"""JSONPath (the subset app-interface's promotion code uses), evaluated over positioned YAML nodes.

Grammar; whitespace may separate tokens inside brackets, nowhere else::

    path     := '$' segment*
    segment  := '.' name | '.*' | '..' name | '..*' | '..' bracket | bracket
    bracket  := '[' ( string | integer | '*' | '?(' filter ')' ) ']'
    filter   := test ( '&&' test )*
    test     := '@' field* ( '==' | '!=' ) ( string | integer )
    field    := '.' name | '[' string ']'
    name     := one or more letters, digits, '_', '-' or '$'   (anything else needs ['...'])
    string   := '...' or "..."; a backslash makes the next character literal
    integer  := '-'? digits

Semantics:

- `.name` / `['name']` select the value of the mapping key whose scalar text is `name` (a dotted name of
  digits is still a key: `.0` is the key '0', `[0]` the first item).
- `[i]` selects item i of a sequence, negative from the end; `*` every value of a mapping or item of a
  sequence. A step that does not apply (an index on a mapping, a name on a scalar) selects nothing.
- `..x` applies `x` to the current node and to every value and item below it (keys are not searched).
- `[?(...)]` keeps the items of a sequence for which every test holds. A test compares the scalar text
  at `@` plus its fields with the literal (an integer literal too: `3` matches `3` and `'3'`, not `03`);
  a missing field, or one that is a mapping or sequence, fails the test, for `!=` as well.
- `find` returns the selected nodes of every document in document order, each once. A step that needs
  a key written twice in one mapping, or that would select or look into an alias, raises
  `AliasOrDuplicateError`; the anchor of a selected scalar is left for the caller to refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from promoter.locate.base import LocateError, single
from promoter.locate.yamlnodes import Alias, Mapping, Node, Scalar, Sequence, version_span
from promoter.records import field, record

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import TypeAlias

_INTEGER = re.compile(r"-?[0-9]+")
_NAME = re.compile(r"[\w$-]+")
_OPERATOR = re.compile(r"[=!<>&|~]+")


class JsonPathError(ValueError):
    """A malformed expression; `column` is the 1-based character where it goes wrong."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column


AliasOrDuplicateError = LocateError  # the path needs a duplicated key or goes through an alias


# ---------------------------------------------------------------------------------------------- parsing


@record(frozen=True)
class _Token:
    kind: str  # "root", "name", "string", "op", "end", or the punctuation itself: . .. [ ] ( ) * ? @
    text: str
    column: int


def _tokens(expr: str) -> Iterator[_Token]:
    """Tokens of `expr`, lazily, so that the first error from the left is the one reported."""
    i, depth = 0, 0
    while i < len(expr):
        c, column = expr[i], i + 1
        if c.isspace():
            if depth == 0:
                raise JsonPathError(column, "unexpected whitespace outside brackets")
            i += 1
        elif c == "$" and i == 0:
            yield _Token("root", c, column)
            i += 1
        elif c == ".":
            dots = ".." if expr.startswith("..", i) else "."
            yield _Token(dots, dots, column)
            i += len(dots)
        elif c in "'\"":
            chars: list[str] = []
            i += 1
            while i < len(expr) and expr[i] != c:
                if expr[i] == "\\" and i + 1 < len(expr):
                    i += 1
                chars.append(expr[i])
                i += 1
            if i == len(expr):
                raise JsonPathError(column, f"expected a closing {c} for the string that starts here")
            yield _Token("string", "".join(chars), column)
            i += 1
        elif match := _NAME.match(expr, i) or _OPERATOR.match(expr, i):
            yield _Token("name" if match.re is _NAME else "op", match.group(), column)
            i = match.end()
        elif c in "[]()*?@":
            if c == "[":
                depth += 1
            elif c == "]":
                depth = max(depth - 1, 0)
            yield _Token(c, c, column)
            i += 1
        else:
            raise JsonPathError(column, f"unexpected character {c!r}")
    yield _Token("end", "", len(expr) + 1)


@record(frozen=True)
class _Child:
    name: str


@record(frozen=True)
class _Index:
    index: int


@record(frozen=True)
class _Wildcard:
    pass


@record(frozen=True)
class _Test:
    fields: tuple[str, ...]
    op: str  # "==" or "!="
    literal: str


@record(frozen=True)
class _Filter:
    tests: tuple[_Test, ...]


@record(frozen=True)
class _Descend:
    step: _Step


_Step: TypeAlias = _Child | _Index | _Wildcard | _Filter | _Descend


class _Parser:
    def __init__(self, expr: str) -> None:
        self._tokens = _tokens(expr)
        self.tok = next(self._tokens)

    def take(self) -> _Token:
        tok = self.tok
        if tok.kind != "end":
            self.tok = next(self._tokens)
        return tok

    def fail(self, message: str) -> JsonPathError:
        return JsonPathError(self.tok.column, message)

    def close(self, after: str) -> None:
        if self.tok.kind != "]":
            raise self.fail(f"expected ']' after {after}")
        self.take()

    def path(self) -> tuple[_Step, ...]:
        if self.tok.kind != "root":
            raise self.fail("expected '$' at the start of the expression")
        self.take()
        steps: list[_Step] = []
        while self.tok.kind != "end":
            tok = self.tok
            if tok.kind not in (".", "..", "["):
                raise self.fail("expected '.', '..', '[' or the end of the expression")
            self.take()
            if tok.kind == "[":
                steps.append(self.bracket())
            else:
                step = self.member(descend=tok.kind == "..")
                steps.append(_Descend(step) if tok.kind == ".." else step)
        return tuple(steps)

    def member(self, descend: bool) -> _Step:
        """What follows '.' (a name or '*') or '..' (also a bracket)."""
        tok = self.tok
        if tok.kind == "name":
            self.take()
            return _Child(tok.text)
        if tok.kind == "*":
            self.take()
            return _Wildcard()
        if descend and tok.kind == "[":
            self.take()
            return self.bracket()
        raise self.fail("expected a name, '*' or '[' after '..'" if descend else "expected a name or '*' after '.'")

    def bracket(self) -> _Step:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            self.close("name")
            return _Child(tok.text)
        if tok.kind == "name" and _INTEGER.fullmatch(tok.text):
            self.take()
            self.close("index")
            return _Index(int(tok.text))
        if tok.kind == "*":
            self.take()
            self.close("'*'")
            return _Wildcard()
        if tok.kind != "?":
            raise self.fail("expected a quoted name, an index, '*' or '?(' after '['")
        self.take()
        if self.tok.kind != "(":
            raise self.fail("expected '(' after '?'")
        self.take()
        tests = [self.test()]
        while self.tok.kind == "op" and self.tok.text == "&&":
            self.take()
            tests.append(self.test())
        if self.tok.kind == "op":
            raise self.fail(f"unknown operator '{self.tok.text}', expected '&&' or ')'")
        if self.tok.kind != ")":
            raise self.fail("expected '&&' or ')' after the comparison")
        self.take()
        self.close("the filter")
        return _Filter(tuple(tests))

    def test(self) -> _Test:
        if self.tok.kind != "@":
            raise self.fail("expected '@' at the start of a filter test")
        self.take()
        fields: list[str] = []
        while self.tok.kind in (".", "["):
            bracketed = self.take().kind == "["
            if self.tok.kind != ("string" if bracketed else "name"):
                raise self.fail("expected a quoted name after '['" if bracketed else "expected a name after '.'")
            fields.append(self.take().text)
            if bracketed:
                self.close("name")
        op = self.tok
        if op.kind != "op":
            raise self.fail("expected '==' or '!=' after the field")
        if op.text not in ("==", "!="):
            raise self.fail(f"unknown operator '{op.text}', expected '==' or '!='")
        self.take()
        literal = self.tok
        if literal.kind != "string" and not (literal.kind == "name" and _INTEGER.fullmatch(literal.text)):
            raise self.fail(f"expected a quoted string or an integer after '{op.text}'")
        self.take()
        return _Test(tuple(fields), op.text, literal.text)


# ------------------------------------------------------------------------------------------- evaluation


@record(frozen=True)
class JsonPath:
    """A compiled expression; constructing one parses `expr` and raises JsonPathError if it is bad."""

    expr: str
    _steps: tuple[_Step, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.expr.strip():
            raise JsonPathError(1, "empty expression")
        object.__setattr__(self, "_steps", _Parser(self.expr).path())

    def find(self, roots: list[Node]) -> list[Node]:
        """The nodes the path selects in the documents `roots`, in document order, each once."""
        current = list(roots)
        for step in self._steps:
            selected: dict[int, Node] = {}
            for node in current:
                for found in _apply(step, node):
                    selected.setdefault(id(found), found)
            current = list(selected.values())
        if len(current) < 2:
            return current
        rank = {id(node): n for n, node in enumerate(node for root in roots for node in _below(root))}
        return sorted(current, key=lambda node: rank[id(node)])


def compile_path(expr: str) -> JsonPath:
    return JsonPath(expr)


def _children(node: Node) -> list[Node]:
    if isinstance(node, Mapping):
        return [value for _, value in node.pairs]
    if isinstance(node, Sequence):
        return list(node.items)
    return []


def _below(node: Node) -> Iterator[Node]:
    """`node` and every value and item below it, in document order; aliases are not followed."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(reversed(_children(current)))


def _select(node: Node) -> Node:
    if isinstance(node, Alias):
        raise AliasOrDuplicateError(
            node.line,
            f"path goes through alias *{node.name} at line {node.line}; "
            "editing it would change every place that uses the anchor",
        )
    return node


def _lookup(mapping: Mapping, key: str) -> Node | None:
    value = single(mapping, key)
    return _select(value) if value is not None else None


def _apply(step: _Step, node: Node) -> Iterator[Node]:
    _select(node)  # only a document root can still be an alias here
    if isinstance(step, _Descend):
        for below in _below(node):
            if not isinstance(below, Alias):
                yield from _apply(step.step, below)
    elif isinstance(step, _Child):
        value = _lookup(node, step.name) if isinstance(node, Mapping) else None
        if value is not None:
            yield value
    elif isinstance(step, _Index):
        if isinstance(node, Sequence) and -len(node.items) <= step.index < len(node.items):
            yield _select(node.items[step.index])
    elif isinstance(step, _Wildcard):
        yield from (_select(child) for child in _children(node))
    elif isinstance(node, Sequence):
        yield from (item for item in node.items if all(_holds(test, _select(item)) for test in step.tests))


def _holds(test: _Test, item: Node) -> bool:
    node: Node | None = item
    for name in test.fields:
        node = _lookup(node, name) if isinstance(node, Mapping) else None
    return isinstance(node, Scalar) and (node.value == test.literal) == (test.op == "==")


# the fields whose value tells an item of a sequence of mappings from its siblings, in the order a
# filter prefers them: a name, then what an image or a source is, then a saas target's namespace
_DISTINGUISHING: tuple[tuple[str, ...], ...] = (
    ("name",),
    ("repository",),
    ("image",),
    ("newName",),
    ("url",),
    ("repoURL",),
    ("id",),
    ("key",),
    ("environment",),
    ("namespace", "$ref"),
    ("namespace",),
)
# a value that holds a version (a sha, a short one, a digest) changes with it: no filter on it
_VERSIONISH = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{7,64}(?![0-9A-Za-z])|sha256:")
_PLAIN_FIELD = re.compile(r"[A-Za-z_][\w-]*")


@record(frozen=True)
class Place:
    """Where a located value stands in its document, for a person and for a target."""

    key: str  # the mapping key whose value it is
    path: str  # a JSONPath selecting exactly it: sequence items by a distinguishing field, else by index
    shape: str  # the path with every sequence step as [*]: what the places of one kind share
    image: str | None  # the image it is the tag of: a sibling `repository` (Helm), `newName`/`name` (kustomize)


def place(text: str, roots: list[Node], start: int) -> Place | None:
    """The place of the mapping value whose scalar starts at `start` in `text`: its key, a path
    that selects exactly it (`$.image.tag`, `$.images[?(@.name == 'app')].newTag`), its shape
    (`$.images[*].newTag`) and the image it is the tag of, if its mapping says."""
    for root in roots:
        if root.start <= start <= root.end:
            found = _visit(text, root, start, "$", "$", "$")
            if found is not None:
                key, path, indexed, shape, mapping, node = found
                chosen = path
                try:
                    if JsonPath(path).find(roots) != [node]:
                        chosen = indexed  # the filter is not unique after all (another document)
                except (JsonPathError, LocateError):
                    chosen = indexed
                return Place(key, chosen, shape, _image_of(mapping, key))
    return None


def key_path(text: str, roots: list[Node], start: int) -> tuple[str, str] | None:
    """The mapping key whose scalar value starts at `start` in `text`, and a JSONPath (this
    module's subset) that selects exactly that value: `$.image.tag`, `$.a['b-c'][?(@.name ==
    'x')].ref` (an item of a sequence by a field that tells it from its siblings, else `[0]`)."""
    found = place(text, roots, start)
    return (found.key, found.path) if found is not None else None


_Visit = tuple[str, str, str, str, Mapping, Node]  # key, filtered path, indexed path, shape, its mapping, node


def _visit(text: str, node: Node, start: int, path: str, indexed: str, shape: str) -> _Visit | None:
    if isinstance(node, Mapping):
        for k, v in node.pairs:
            if not isinstance(k, Scalar):
                continue
            step = f".{k.value}" if re.fullmatch(r"[\w$-]+", k.value) else "['" + _jp_quote(k.value) + "']"
            if isinstance(v, Scalar):
                span = version_span(text, v)
                if span is not None and span[0] == start:
                    return k.value, path + step, indexed + step, shape + step, node, v
            elif v.start <= start <= v.end:
                found = _visit(text, v, start, path + step, indexed + step, shape + step)
                if found:
                    return found
    elif isinstance(node, Sequence):
        for i, item in enumerate(node.items):
            if item.start <= start <= item.end:
                step = _item_filter(node, item, start) or f"[{i}]"
                found = _visit(text, item, start, path + step, f"{indexed}[{i}]", shape + "[*]")
                if found:
                    return found
    return None


def _field(item: Node, fields: tuple[str, ...]) -> Scalar | None:
    node: Node | None = item
    for name in fields:
        if not isinstance(node, Mapping):
            return None
        try:
            node = single(node, name)
        except LocateError:
            return None
    return node if isinstance(node, Scalar) else None


def _item_filter(sequence: Sequence, item: Node, start: int) -> str | None:
    """`[?(@.name == 'app')]`: a filter on the first distinguishing field whose value this item
    alone has among its siblings (and that is not the located value, nor holds a version)."""
    if not isinstance(item, Mapping):
        return None
    for fields in _DISTINGUISHING:
        value = _field(item, fields)
        if value is None or not value.value or value.start <= start <= value.end or _VERSIONISH.search(value.value):
            continue
        if sum(1 for other in sequence.items if (o := _field(other, fields)) and o.value == value.value) != 1:
            continue
        at = "".join(f".{f}" if _PLAIN_FIELD.fullmatch(f) else f"['{_jp_quote(f)}']" for f in fields)
        return f"[?(@{at} == '{_jp_quote(value.value)}')]"
    return None


def _image_of(mapping: Mapping, key: str) -> str | None:
    """The image whose tag the value of `key` in `mapping` is, when the mapping names it: Helm's
    `repository` (after `registry`), kustomize's `newName` or `name`, a chart's `image`."""

    def text(name: str) -> str | None:
        if name == key:
            return None
        node = _field(mapping, (name,))
        return node.value if node is not None and node.value else None

    repository = text("repository")
    if repository is not None:
        registry = text("registry")
        return f"{registry.rstrip('/')}/{repository}" if registry else repository
    if text("newName") is not None:
        return text("newName")
    if key in ("newTag", "digest") and text("name") is not None:
        return text("name")
    return text("image")


def _jp_quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")
