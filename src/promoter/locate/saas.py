"""app-interface saas files: `ref` of the targets of the resource templates built from `repo`."""

from __future__ import annotations

from collections.abc import Callable

from promoter.locate import Found, LocateError, refuse_anchor, yaml_value
from promoter.locate.yamlnodes import Alias, Mapping, Node, Scalar, Sequence


def same_repo(a: str, b: str) -> bool:
    def norm(url: str) -> str:
        return url.strip().rstrip("/").removesuffix(".git").rstrip("/")

    return norm(a) == norm(b)


def _one(mapping: Mapping, key: str) -> Node | None:
    values = mapping.values_of(key)
    if len(values) > 1:
        lines = " and ".join(str(v.line) for v in values)
        raise LocateError(values[1].line, f"key '{key}' appears twice in one mapping (lines {lines})")
    value = values[0] if values else None
    if isinstance(value, Alias):
        raise LocateError(value.line, f"'{key}' is the alias *{value.name}; promoter does not edit through aliases")
    return value


def find(text: str, roots: list[Node], repo: str, template: str | None, pinned: Callable[[str], bool]) -> list[Found]:
    out: list[Found] = []
    for root in roots:
        if not isinstance(root, Mapping):
            continue
        templates = _one(root, "resourceTemplates")
        if not isinstance(templates, Sequence):
            continue
        for rt in templates.items:
            if isinstance(rt, Alias):
                raise LocateError(
                    rt.line, f"a resource template is the alias *{rt.name}; promoter does not edit through aliases"
                )
            if not isinstance(rt, Mapping):
                continue
            url = _one(rt, "url")
            if not (isinstance(url, Scalar) and same_repo(url.value, repo)):
                continue
            if template is not None:
                name = _one(rt, "name")
                if not (isinstance(name, Scalar) and name.value == template):
                    continue
            targets = _one(rt, "targets")
            if not isinstance(targets, Sequence):
                continue
            for t in targets.items:
                if isinstance(t, Alias):
                    raise LocateError(
                        t.line, f"a saas target is the alias *{t.name}; promoter does not edit through aliases"
                    )
                if not isinstance(t, Mapping):
                    continue
                ref = t.values_of("ref")
                if len(ref) > 1:
                    lines = " and ".join(str(v.line) for v in ref)
                    raise LocateError(ref[1].line, f"key 'ref' appears twice in one mapping (lines {lines})")
                if not ref:
                    continue
                found = yaml_value(text, ref[0], "ref")
                if pinned(found.value):
                    refuse_anchor(ref[0], "ref")
                out.append(found)
    return out
