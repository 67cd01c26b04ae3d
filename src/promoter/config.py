"""Load and validate promotion.yaml into `model.Config`; every error names file and line."""

from __future__ import annotations

import difflib
import posixpath
import re
from pathlib import Path

from promoter.errors import ConfigError
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence, YamlSyntaxError, compose
from promoter.model import (
    Component,
    Config,
    EnvLocator,
    Format,
    KeyLocator,
    Locator,
    PathLocator,
    RegexLocator,
    SaasLocator,
    Target,
)

COMPONENT_KEYS = ("repo", "fetch", "branch", "short_length", "targets")
TARGET_KEYS = ("name", "environment", "file", "files", "format", "optional")
LOCATOR_KEYS = ("saas", "env", "key", "path", "regex")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TRUE = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}
_FALSE = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, node: Node | None, message: str) -> ConfigError:
        return ConfigError(message, self.file, node.line if node else None)

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...]) -> dict[str, tuple[Scalar, Node]]:
        if not isinstance(node, Mapping):
            raise self.error(node, f"{what} must be a mapping")
        out: dict[str, tuple[Scalar, Node]] = {}
        for key, value in node.pairs:
            if not isinstance(key, Scalar):
                raise self.error(key, f"{what}: keys must be plain strings")
            if key.value in out:
                first = out[key.value][0].line
                raise self.error(key, f"{what}: key '{key.value}' appears twice (first at line {first})")
            if allowed and key.value not in allowed:
                near = difflib.get_close_matches(key.value, allowed, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else f"; expected one of: {', '.join(allowed)}"
                raise self.error(key, f"{what}: unknown key '{key.value}'{hint}")
            out[key.value] = (key, value)
        return out

    def string(self, node: Node, what: str) -> str:
        if not isinstance(node, Scalar) or node.tag not in (None, "tag:yaml.org,2002:str", "!"):
            raise self.error(node, f"{what} must be a string")
        if not node.value:
            raise self.error(node, f"{what} must not be empty")
        return node.value

    def integer(self, node: Node, what: str, low: int, high: int) -> int:
        if not isinstance(node, Scalar) or node.style or not node.value.isdigit():
            raise self.error(node, f"{what} must be a whole number from {low} to {high}")
        value = int(node.value)
        if not low <= value <= high:
            raise self.error(node, f"{what} must be a whole number from {low} to {high}, not {value}")
        return value

    def boolean(self, node: Node, what: str) -> bool:
        if isinstance(node, Scalar) and not node.style and node.value in _TRUE | _FALSE:
            return node.value in _TRUE
        raise self.error(node, f"{what} must be true or false")

    def repo_path(self, node: Node, what: str) -> str:
        """A path relative to the repository root that stays inside it."""
        raw = self.string(node, what)
        path = raw.replace("\\", "/")
        if path.startswith("/") or re.match(r"[A-Za-z]:", path):
            raise self.error(node, f"{what} '{raw}' must be relative to the repository root")
        norm = posixpath.normpath(path)
        if norm == ".." or norm.startswith("../"):
            raise self.error(node, f"{what} '{raw}' points outside the repository")
        return norm


def load(config_path: Path, root: Path) -> Config:
    """Read and validate `config_path`; target paths are relative to `root`."""
    shown = str(config_path)
    try:
        raw = config_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such file (create it, or point --config at one)", shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", shown) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", shown) from None
    try:
        docs = compose(text)
    except YamlSyntaxError as exc:
        raise ConfigError(f"invalid YAML: {exc.problem} (column {exc.column})", shown, exc.line) from None
    if len(docs) != 1:
        raise ConfigError("expected exactly one YAML document", shown)
    return _parse(_Reader(shown), docs[0], str(root))


def _parse(r: _Reader, doc: Node, root: str) -> Config:
    top = r.mapping(doc, "top level", ("version", "components"))
    if "version" not in top:
        raise r.error(doc, "missing 'version: 1'")
    vnode = top["version"][1]
    if not (isinstance(vnode, Scalar) and vnode.value == "1" and not vnode.style):
        raise r.error(vnode, "unsupported config version; this promoter reads 'version: 1'")
    if "components" not in top:
        raise r.error(doc, "missing 'components'")
    comps = r.mapping(top["components"][1], "components", ())
    if not comps:
        raise r.error(top["components"][1], "components: define at least one component")
    components: dict[str, Component] = {}
    for name, (key, node) in comps.items():
        if not _NAME.fullmatch(name):
            raise r.error(key, f"component name '{name}' must be letters, digits, '.', '_' or '-'")
        components[name] = _component(r, name, key, node, root)
    return Config(r.file, root, components)


def is_url(location: str) -> bool:
    """A URL (`scheme://...`) or scp-like `user@host:path`, as git reads remote locations."""
    return "://" in location or re.match(r"[\w.-]+@[\w.-]+:", location) is not None


def _component(r: _Reader, name: str, key: Scalar, node: Node, root: str) -> Component:
    what = f"component '{name}'"
    m = r.mapping(node, what, COMPONENT_KEYS)
    if "repo" not in m:
        raise r.error(key, f"{what}: missing 'repo' (the upstream repository URL)")
    repo = r.string(m["repo"][1], f"{what}: repo")
    fetch = r.string(m["fetch"][1], f"{what}: fetch") if "fetch" in m else repo
    if re.match(r"[A-Za-z0-9+.-]+::", fetch):
        raise r.error(
            m["fetch"][1], f"{what}: refusing the git transport of '{fetch}' (remote helpers like ext:: run commands)"
        )
    if not is_url(fetch) and not fetch.startswith(("/", "~")):
        fetch = posixpath.join(root, fetch)  # a local path relative to the repository root
    branch = r.string(m["branch"][1], f"{what}: branch") if "branch" in m else None
    short = r.integer(m["short_length"][1], f"{what}: short_length", 4, 39) if "short_length" in m else 7
    if "targets" not in m:
        raise r.error(key, f"{what}: missing 'targets'")
    tnode = m["targets"][1]
    if not isinstance(tnode, Sequence) or not tnode.items:
        raise r.error(tnode, f"{what}: targets must be a non-empty list")
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for item in tnode.items:
        t = _target(r, what, item)
        if t.name in seen:
            raise r.error(item, f"{what}: duplicate target name '{t.name}' (first at line {seen[t.name]})")
        seen[t.name] = t.line
        targets.append(t)
    return Component(name, repo, fetch, branch, short, tuple(targets), key.line)


def _target(r: _Reader, comp: str, node: Node) -> Target:
    m = r.mapping(node, f"{comp}: target", TARGET_KEYS + LOCATOR_KEYS)
    if "name" not in m:
        raise r.error(node, f"{comp}: target without a 'name'")
    name = r.string(m["name"][1], f"{comp}: target name")
    what = f"{comp}, target '{name}'"
    env = r.string(m["environment"][1], f"{what}: environment") if "environment" in m else name
    if ("file" in m) == ("files" in m):
        raise r.error(node, f"{what}: give exactly one of 'file' or 'files'")
    file = r.repo_path(m["file"][1], f"{what}: file") if "file" in m else None
    files = r.repo_path(m["files"][1], f"{what}: files") if "files" in m else None
    given = [k for k in LOCATOR_KEYS if k in m]
    if len(given) != 1:
        found = f"found {', '.join(given)}" if given else "found none"
        raise r.error(node, f"{what}: give exactly one locator of {', '.join(LOCATOR_KEYS)} ({found})")
    kind = given[0]
    locator = _locator(r, what, kind, m[kind][1])
    default: Format = "sha" if kind in ("saas", "path") else "short"
    fmt: Format = default
    if "format" in m:
        fnode = m["format"][1]
        value = r.string(fnode, f"{what}: format")
        if value not in ("sha", "short"):
            raise r.error(fnode, f"{what}: format must be 'sha' or 'short', not '{value}'")
        fmt = "sha" if value == "sha" else "short"
    elif kind == "regex":
        raise r.error(node, f"{what}: a regex locator needs an explicit 'format' (sha or short)")
    optional = r.boolean(m["optional"][1], f"{what}: optional") if "optional" in m else False
    return Target(name, env, file, files, locator, fmt, optional, node.line)


def _locator(r: _Reader, what: str, kind: str, node: Node) -> Locator:
    if kind == "saas":
        opts = r.mapping(node, f"{what}: saas", ("resource_template",))
        rt = opts.get("resource_template")
        return SaasLocator(r.string(rt[1], f"{what}: saas.resource_template") if rt else None)
    value = r.string(node, f"{what}: {kind}")
    if kind == "env":
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise r.error(node, f"{what}: env '{value}' is not a valid variable name")
        return EnvLocator(value)
    if kind == "key":
        return KeyLocator(value)
    if kind == "path":
        from promoter.locate.jsonpath import JsonPathError, compile_path

        try:
            compile_path(value)
        except JsonPathError as exc:
            raise r.error(node, f"{what}: bad path expression: {exc}") from None
        return PathLocator(value)
    try:
        pattern = re.compile(value)
    except re.error as exc:
        raise r.error(node, f"{what}: bad regex: {exc}") from None
    if "version" not in pattern.groupindex:
        raise r.error(node, f"{what}: the regex needs a named group (?P<version>...)")
    return RegexLocator(value)
