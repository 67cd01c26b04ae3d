"""The ready-to-paste target for a pin that no target covers.

Given a file, the character offset of a pinned value in it and its format, `target` returns the
simplest target that locates exactly that value and nothing that is not a pin of the component:
`saas: {}`, `key:` (only where every value of that key in the file is one kind of place: one key
path shape, one image), `path:` (sequence items picked by a field that tells them apart,
`$.images[?(@.name == 'app')].newTag`, not by index), `env:`, or a `regex:` built from the
literal text before the value (shortest first). Each candidate is tried on the file with the
locators a promotion uses. The target is named after the file and what it pins
(`values-production-image-tag`, `kustomization-app-newTag`) and given the environment its place
suggests (`guess_environment`). Nothing here reads files, scans a repository or prints.
"""

from __future__ import annotations

import re

import yaml

from promoter.locate import LocateError, classify, find
from promoter.locate.jsonpath import Place, place
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


# words of a path or a namespace that name an environment, the most specific first: an `-int` or
# `stage` namespace of production (`app-interface-production-int`) is integration or stage
_ENVIRONMENT_WORDS = (
    ({"int", "integration"}, "integration"),
    ({"stage", "staging", "stg"}, "stage"),
    ({"prod", "production", "prd"}, "production"),
    ({"dev", "development"}, "dev"),
)
_WORD = re.compile(r"[a-z0-9]+")


def _named(text: str) -> str | None:
    words = set(_WORD.findall(text.lower()))
    return next((env for names, env in _ENVIRONMENT_WORDS if words & names), None)


def _item_lines(text: str, line: int) -> list[str]:
    """The lines of the YAML list item around line `line` (1-based): those above it up to its
    `- ` and those below it while they are indented deeper than it (the item's other keys, such
    as a saas target's `namespace:`)."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return []
    here = lines[line - 1]
    indent = len(here) - len(here.lstrip())
    out = [here]
    for above in reversed(lines[: line - 1]):
        stripped = above.lstrip()
        if not stripped:
            continue
        depth = len(above) - len(stripped)
        if depth < indent and not stripped.startswith("- "):
            break
        out.append(above)
        if stripped.startswith("- ") and depth < indent:
            break
    for below in lines[line:]:
        stripped = below.lstrip()
        if not stripped:
            continue
        if len(below) - len(stripped) < indent or (len(below) - len(stripped) == indent and stripped.startswith("- ")):
            break
        out.append(below)
    return out


def guess_environment(rel: str, text: str, line: int) -> str:
    """The environment a pin at line `line` of the file `rel` (whose text is `text`) belongs to:
    a word of its list item (a saas target's namespace, `…-production-int.yml`), else of its path
    (`ci-int/`, `stage/`, `…-prod.yaml`): integration, stage, production, dev; else the name of
    the file's directory (`default` at the repository's root)."""
    item = [ln for ln in _item_lines(text, line) if "namespace" in ln or "$ref" in ln or "environment" in ln]
    for hint in (*item, rel):
        env = _named(hint)
        if env is not None:
            return env
    head = rel.rpartition("/")[0]
    return head.rpartition("/")[2] or "default"


def stem(rel: str) -> str:
    """The file's name without its directory and extension: `helm/values-prod.yaml` -> `values-prod`."""
    base = rel.rpartition("/")[2].lstrip(".")
    return _clean(base.rsplit(".", 1)[0] if "." in base else base) or "file"


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")


def target(
    comp: Component,
    rel: str,
    text: str,
    roots: list[Node] | None,
    fmt: Format,
    start: int,
    line: int,
    positions: set[int],
    pattern: str | None = None,
) -> dict[str, Any]:
    """A target of `comp` (as data) that locates the value at character `start` of `text` (line
    `line` of the file `rel`, whose YAML documents are `roots`, None when it is no YAML) and no
    value of the file whose start is not in `positions`, the uncovered pins of the component;
    named after the file and what it pins, in the environment its place suggests. A release tag
    (`fmt` tag) is read through `pattern` (None: `v{semver}`), said in the target when given."""
    line_start, line_text = line_around(text, start)
    base = stem(rel)
    environment = guess_environment(rel, text, line)
    candidates: list[tuple[str, Locator, str, Any]] = []  # what it pins (for the name), locator, kind, argument
    where: Place | None = None
    if roots is not None:
        candidates.append(("", SaasLocator(), "saas", {}))
        where = place(text, roots, start)
        if where is not None:
            candidates.append((where.key, KeyLocator(where.key), "key", where.key))
            candidates.append((path_words(where.path), PathLocator(where.path), "path", where.path))
    env = re.match(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", line_text)
    if env:
        candidates.append((env.group(1), EnvLocator(env.group(1)), "env", env.group(1)))
    patterns = _regexes(line_text, start - line_start, fmt, comp.short_length)
    label = _label(line_text[: start - line_start])
    candidates += [(label, RegexLocator(regex), "regex", regex) for regex in patterns]
    written = {"tag_pattern": pattern} if fmt == "tag" and pattern is not None else {}
    for what, locator, kind, arg in candidates:
        first = _works(comp, rel, text, locator, fmt, start, positions, pattern)
        if first is None:
            continue
        if kind == "key" and roots is not None and len(kinds(text, roots, comp, locator, fmt, pattern)) > 1:
            continue  # the key stands for other things too in this file: a path says which
        if kind == "regex" and not what:
            what = str(first)  # the same regex for every line it locates
        name = _clean(f"{base}-{what}") if what else base
        return {"name": _name(comp, name), "environment": environment, "file": rel, kind: arg, "format": fmt, **written}
    name = f"{base}-{label or line}"
    return {
        "name": _name(comp, name),
        "environment": environment,
        "file": rel,
        "regex": patterns[-1],
        "format": fmt,
        **written,
    }


def kinds(
    text: str, roots: list[Node], comp: Component, locator: Locator, fmt: Format, pattern: str | None = None
) -> dict[tuple[str, str | None], list[tuple[int, Place]]]:
    """The places a `key:` or `path:` locator finds in a file (pinned or not), by kind: the image
    they are the tag of, or where they name none, the shape of their key path (`$.images[*].newTag`);
    each with its line. The tags of one image are one kind wherever they stand."""
    out: dict[tuple[str, str | None], list[tuple[int, Place]]] = {}
    t = Target("t", "t", None, None, locator, fmt, False, 0, pattern)
    for found in find(text, comp, t, roots):
        where = place(text, roots, found.start)
        if where is not None:
            kind = ("", where.image) if where.image is not None else (where.shape, None)
            out.setdefault(kind, []).append((found.line, where))
    return out


_FILTER = re.compile(r"\[\?\(@[^=!]*==\s*'((?:[^'\\]|\\.)*)'\)\]")
_STEP = re.compile(r"\.([\w$-]+)|\['((?:[^'\\]|\\.)*)'\]|\[[^\]]*\]")


def path_words(path: str) -> str:
    """What a path pins, in words: the value of its last filter and the names after it
    (`app-newTag`), else its last names (`image-tag`)."""
    words: list[str] = []
    pos = 1  # after the $
    while pos < len(path):
        f = _FILTER.match(path, pos)
        if f is not None:
            value = f.group(1).replace("\\", "")
            value = value.rstrip("/").rpartition("/")[2]
            words = [re.sub(r"\.(ya?ml|json)$", "", value)]
            pos = f.end()
            continue
        m = _STEP.match(path, pos)
        if m is None:
            break
        name = m.group(1) or m.group(2)
        if name is not None:
            words.append(name.lstrip("$"))
        else:
            words = []  # an index: what comes before it says little
        pos = m.end()
    return "-".join(w for w in words[-3:] if w)


_IMAGE_BEFORE = re.compile(r"(?:^|[\s\"'=,(\[])((?:[\w.-]+(?::[0-9]+)?/)+([\w.-]+)):$")
_KEY_BEFORE = re.compile(r"([A-Za-z_][\w-]*)[\"']?[ \t]*[:=][ \t]*[\"']?$")


def _label(prefix: str) -> str:
    """What the text before a value on its line says it is: an image's tag (`app-image`), the
    value of a key (`version`); else nothing."""
    image = _IMAGE_BEFORE.search(prefix)
    if image is not None:
        return f"{image.group(2)}-image"
    key = _KEY_BEFORE.search(prefix)
    return key.group(1) if key is not None else ""


def line_around(text: str, offset: int) -> tuple[int, str]:
    """Where the line holding character `offset` starts, and its text (without the newline)."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return start, text[start : end if end >= 0 else len(text)]


def dump(target: dict[str, Any]) -> str:
    """The target as the YAML list item to paste under the component's `targets:`."""
    return yaml.safe_dump([target], sort_keys=False, default_flow_style=False, width=1 << 20, allow_unicode=True)


def _works(
    comp: Component,
    rel: str,
    text: str,
    locator: Locator,
    fmt: Format,
    start: int,
    positions: set[int],
    pattern: str | None = None,
) -> int | None:
    """The first line a target with `locator` locates, when it locates the value at `start`
    and nothing that is not an uncovered pin of the component; else None."""
    target = Target("t", "t", rel, None, locator, fmt, False, 0, pattern)
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
    if fmt == "tag":  # what a tag pattern reads: up to a quote, a space, a comment
        return r"(?P<version>[^\s'\"#,]+)"
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
