"""The ready-to-paste target for a pin that no target covers.

Given a file, the character offset of a pinned value in it and its format, `target` returns the
simplest target that locates exactly that value and nothing that is not a pin of the component:
`saas: {}`, `key:`, `path:`, `env:`, or a `regex:` built from the literal text before the value
(shortest first). Each candidate is tried on the file with the locators a promotion uses.
Nothing here reads files, scans a repository or prints.
"""

from __future__ import annotations

import re

import yaml

from promoter.locate import LocateError, classify, find
from promoter.locate.jsonpath import key_path
from promoter.locate.yamlnodes import Node, YamlSyntaxError
from promoter.model import (
    Component,
    EnvLocator,
    Format,
    KeyLocator,
    Locator,
    PathLocator,
    RegexLocator,
    SaasLocator,
    Target,
)

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any


def target(
    comp: Component,
    rel: str,
    text: str,
    roots: list[Node] | None,
    fmt: Format,
    start: int,
    line: int,
    positions: set[int],
) -> dict[str, Any]:
    """A target of `comp` (as data) that locates the value at character `start` of `text` (line
    `line` of the file `rel`, whose YAML documents are `roots`, None when it is no YAML) and no
    value of the file whose start is not in `positions`, the uncovered pins of the component."""
    line_start, line_text = line_around(text, start)
    head, _, base = rel.rpartition("/")
    base = base.lstrip(".")
    base = base.rsplit(".", 1)[0] if "." in base else base  # .env -> env, a/b.yaml -> a-b
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{head}/{base}".replace("/", "-")).strip("-.") or "file"
    candidates: list[tuple[str, Locator, str, Any]] = []
    if roots is not None:
        candidates.append((stem, SaasLocator(), "saas", {}))
        key = key_path(text, roots, start)
        if key is not None:
            name, path = key
            candidates.append((f"{stem}-{name}", KeyLocator(name), "key", name))
            candidates.append((f"{stem}-{name}", PathLocator(path), "path", path))
    env = re.match(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", line_text)
    if env:
        candidates.append((f"{stem}-{env.group(1)}", EnvLocator(env.group(1)), "env", env.group(1)))
    patterns = _regexes(line_text, start - line_start, fmt, comp.short_length)
    candidates += [(stem, RegexLocator(pattern), "regex", pattern) for pattern in patterns]
    for name, locator, kind, arg in candidates:
        first = _works(comp, rel, text, locator, fmt, start, positions)
        if first is not None:
            if kind == "regex":
                name = f"{stem}-{first}"  # the same regex for every line it locates
            return {"name": _name(comp, name), "file": rel, kind: arg, "format": fmt}
    return {"name": _name(comp, f"{stem}-{line}"), "file": rel, "regex": patterns[-1], "format": fmt}


def line_around(text: str, offset: int) -> tuple[int, str]:
    """Where the line holding character `offset` starts, and its text (without the newline)."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return start, text[start : end if end >= 0 else len(text)]


def dump(target: dict[str, Any]) -> str:
    """The target as the YAML list item to paste under the component's `targets:`."""
    return yaml.safe_dump([target], sort_keys=False, default_flow_style=False, width=1 << 20, allow_unicode=True)


def _works(
    comp: Component, rel: str, text: str, locator: Locator, fmt: Format, start: int, positions: set[int]
) -> int | None:
    """The first line a target with `locator` locates, when it locates the value at `start`
    and nothing that is not an uncovered pin of the component; else None."""
    target = Target("t", "t", rel, None, locator, fmt, False, 0)
    try:
        located, _ = classify(text, rel, comp, target, find(text, comp, target))
    except (LocateError, YamlSyntaxError, re.error):
        return None
    starts = {loc.start for loc in located}
    if start in starts and starts <= positions:
        return min(loc.line for loc in located)
    return None


def _name(comp: Component, name: str) -> str:
    """`name`, or `name-2`, `name-3`… when the component has a target of that name already."""
    taken = {t.name for t in comp.targets}
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{name}-{n}"
    return out


_SPECIAL = set(".^$*+?{}[]\\|()")


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def _version_pattern(fmt: Format, short_length: int) -> str:
    if fmt == "digest":
        return r"(?P<version>sha256:[0-9a-f]{64})"
    size = 40 if fmt == "sha" else short_length
    return rf"(?P<version>[0-9a-f]{{{size}}})(?![0-9a-f])"


def _regexes(line_text: str, column: int, fmt: Format, short_length: int) -> list[str]:
    """Regexes for the value at `column` of the line, from the shortest literal text before it to
    the whole line up to it (anchored)."""
    prefix = line_text[:column]
    version = _version_pattern(fmt, short_length)
    out: list[str] = []
    starts = [i for i in range(len(prefix)) if not prefix[i].isspace() and (i == 0 or prefix[i - 1].isspace())]
    for i in reversed(starts):
        piece = prefix[i:]
        if len(piece.strip()) >= 2:
            out.append(_escape(piece) + version)
    lead = len(prefix) - len(prefix.lstrip(" \t"))
    out.append("^[ \\t]*" + _escape(prefix[lead:]) + version)
    return list(dict.fromkeys(out))


__all__ = ["dump", "line_around", "target"]
