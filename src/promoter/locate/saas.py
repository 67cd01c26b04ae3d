"""app-interface saas files: `ref` of the targets of the resource templates built from `repo`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from promoter.locate.base import Found, LocateError, no_alias, refuse_anchor, single, yaml_value
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence


def repo_key(url: str) -> str:
    """A repository URL without a trailing `/` or `.git`: what two URLs of one repo share."""
    return url.strip().rstrip("/").removesuffix(".git").rstrip("/")


def same_repo(a: str, b: str) -> bool:
    return repo_key(a) == repo_key(b)


def _one(mapping: Mapping, key: str) -> Node | None:
    return no_alias(single(mapping, key), f"'{key}'")


def _templates(roots: list[Node]) -> Iterator[Mapping]:
    """The resource templates of a saas file's documents, in order (an alias refused)."""
    for root in roots:
        if not isinstance(root, Mapping):
            continue
        templates = _one(root, "resourceTemplates")
        if not isinstance(templates, Sequence):
            continue
        for rt in templates.items:
            no_alias(rt, "a resource template")
            if isinstance(rt, Mapping):
                yield rt


def _targets(rt: Mapping) -> Iterator[Mapping]:
    """The target items of a resource template, in order (an alias refused)."""
    targets = _one(rt, "targets")
    if not isinstance(targets, Sequence):
        return
    for t in targets.items:
        no_alias(t, "a saas target")
        if isinstance(t, Mapping):
            yield t


def find(text: str, roots: list[Node], repo: str, template: str | None, pinned: Callable[[str], bool]) -> list[Found]:
    out: list[Found] = []
    for rt in _templates(roots):
        url = _one(rt, "url")
        if not (isinstance(url, Scalar) and same_repo(url.value, repo)):
            continue
        if template is not None:
            name = _one(rt, "name")
            if not (isinstance(name, Scalar) and name.value == template):
                continue
        for t in _targets(rt):
            ref = single(t, "ref")
            if ref is None:
                continue
            found = yaml_value(text, ref, "ref")
            if pinned(found.value):
                refuse_anchor(ref, "ref")
            out.append(found)
    return out


def target_identity(item: Mapping) -> tuple[str | None, str | None, tuple[str, ...]]:
    """What names a saas target item, whatever its position: its namespace `$ref`, its `name`,
    and the include expressions of its `namespaceSelector`."""
    namespace = name = None
    ns = _one(item, "namespace")
    if isinstance(ns, Mapping):
        ref = _one(ns, "$ref")
        if isinstance(ref, Scalar):
            namespace = ref.value
    named = _one(item, "name")
    if isinstance(named, Scalar):
        name = named.value
    selector: tuple[str, ...] = ()
    sel = _one(item, "namespaceSelector")
    if isinstance(sel, Mapping):
        paths = _one(sel, "jsonPathSelectors")
        include = _one(paths, "include") if isinstance(paths, Mapping) else None
        if isinstance(include, Sequence):
            selector = tuple(i.value for i in include.items if isinstance(i, Scalar))
    return namespace, name, selector


# the targets of a file's resource templates, indexed once per composed file (a saas file of
# hundreds of targets is read for each of them): id(roots) -> (roots, its index), the newest last
_INDEXES: dict[int, tuple[list[Node], dict[object, object]]] = {}
_INDEXED = 1024  # files kept indexed (a fleet has hundreds; history reads many versions of a file)


def _index(roots: list[Node], keep: bool) -> dict[object, object]:
    """(template name, repo key) -> {identity: [its ref node or None, in the file's order]}, or
    the LocateError reading them raised (None: one that concerns every template of the file); `keep`
    it for the next target of the same composed file (not for documents composed for one use)."""
    kept = _INDEXES.get(id(roots))
    if kept is not None and kept[0] is roots:
        return kept[1]
    index: dict[object, object] = {}
    try:
        for rt in _templates(roots):
            name, url = _one(rt, "name"), _one(rt, "url")
            if not (isinstance(name, Scalar) and isinstance(url, Scalar)):
                continue
            key = (name.value, repo_key(url.value))
            entry = index.setdefault(key, {})
            if not isinstance(entry, dict):
                continue  # a LocateError already
            try:
                for t in _targets(rt):
                    entry.setdefault(target_identity(t), []).append(single(t, "ref"))
            except LocateError as exc:
                index[key] = exc
    except LocateError as exc:
        index[None] = exc
    if keep:
        _INDEXES[id(roots)] = (roots, index)
        while len(_INDEXES) > _INDEXED:
            del _INDEXES[next(iter(_INDEXES))]
    return index


def find_target(
    text: str,
    roots: list[Node],
    repo: str,
    template: str | None,
    identity: tuple[str | None, str | None, tuple[str, ...]],
    occurrence: int,
    pinned: Callable[[str], bool],
    shared: bool = True,
) -> list[Found]:
    """The `ref` of one saas target item: in the resource templates named `template` whose `url`
    is `repo`, the `occurrence`-th target item with this identity (`target_identity`); with no
    `template`, the top-level `ref` of a saas-file-target file. `shared`: `roots` are a file's
    documents composed once for every target that reads them (its index is kept)."""
    refs: list[Node | None] = []  # None: an item without a ref (it still counts for the occurrence)
    if template is None:
        refs = [single(root, "ref") for root in roots if isinstance(root, Mapping)]
        refs = [r for r in refs if r is not None]
    else:
        index = _index(roots, shared)
        for failed in (index.get(None), index.get((template, repo_key(repo)))):
            if isinstance(failed, LocateError):
                raise failed
        entry = index.get((template, repo_key(repo)))
        refs = entry.get(identity, []) if isinstance(entry, dict) else []
    node = refs[occurrence] if occurrence < len(refs) else None
    if node is None:
        return []
    found = yaml_value(text, node, "ref")
    if pinned(found.value):
        refuse_anchor(node, "ref")
    return [found]
