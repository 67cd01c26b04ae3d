"""app-interface saas files: `ref` of the targets of the resource templates built from `repo`."""

from __future__ import annotations

from collections.abc import Callable

from promoter.locate.base import Found, no_alias, refuse_anchor, single, yaml_value
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence


def repo_key(url: str) -> str:
    """A repository URL without a trailing `/` or `.git`: what two URLs of one repo share."""
    return url.strip().rstrip("/").removesuffix(".git").rstrip("/")


def same_repo(a: str, b: str) -> bool:
    return repo_key(a) == repo_key(b)


def _one(mapping: Mapping, key: str) -> Node | None:
    return no_alias(single(mapping, key), f"'{key}'")


def find(text: str, roots: list[Node], repo: str, template: str | None, pinned: Callable[[str], bool]) -> list[Found]:
    out: list[Found] = []
    for root in roots:
        if not isinstance(root, Mapping):
            continue
        templates = _one(root, "resourceTemplates")
        if not isinstance(templates, Sequence):
            continue
        for rt in templates.items:
            no_alias(rt, "a resource template")
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
                no_alias(t, "a saas target")
                if not isinstance(t, Mapping):
                    continue
                ref = single(t, "ref")
                if ref is None:
                    continue
                found = yaml_value(text, ref, "ref")
                if pinned(found.value):
                    refuse_anchor(ref, "ref")
                out.append(found)
    return out
