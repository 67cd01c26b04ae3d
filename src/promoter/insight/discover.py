"""Find pins of a component that no target covers (`discover`), and lint a config repo (`check`).

Nothing here prints. `discover` reads every file git tracks in the config repository once, as
bytes, and searches it with one compiled regex per component of everything that looks like a pin
of it: the versions its targets deploy (full shas and their short prefixes), its image reference,
the keys and dotenv names its targets already use (with a pinned-looking value) and the saas
files that build from its repo. Only files that match are decoded and parsed. A finding on a line
a target already locates is covered and left out; every other finding carries a target snippet
(YAML text) whose locator has been tried on the file and locates that very value.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from promoter.errors import Refused
from promoter.locate import LocateError, classify, find, saas
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence, YamlSyntaxError, compose, version_span
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
    TargetScan,
)
from promoter.pipeline import core, workspace
from promoter.upstream.git import Git, Running
from promoter.upstream.mirror import Upstream

_SNIFF = 8192
_B = rb"(?<![0-9A-Za-z])"  # a value starts and ends at a boundary: not inside a longer word
_E = rb"(?![0-9A-Za-z])"
_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Finding:
    component: str
    file: str
    line: int
    column: int  # 1-based, in characters
    text: str  # the line, stripped, at most 200 characters
    kind: str  # version | image | key | env | saas | commit
    matched: str  # what matched: the version, image reference, key or dotenv name, repo url
    value: str  # the pinned value at file:line:column
    format: Format
    snippet: str  # a ready-to-paste target (YAML list item)
    target: dict[str, Any] = field(compare=False)  # the snippet as data


@dataclass
class Discovery:
    findings: list[Finding] = field(default_factory=list)
    scanned: int = 0
    binary: list[str] = field(default_factory=list)
    huge: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)  # component -> targets that did not scan

    @property
    def files(self) -> list[str]:
        return sorted({f.file for f in self.findings})

    def snippets(self, component: str) -> list[str]:
        """The distinct target snippets that cover `component`'s findings, in order."""
        return list(dict.fromkeys(f.snippet for f in self.findings if f.component == component))


# ----------------------------------------------------------------------------------- the needles


@dataclass(frozen=True)
class _Needle:
    kind: str
    matched: str
    fmt: Format | None  # the format the value must have (None: any pinned-looking one)


@dataclass
class _Pins:
    """What a component's pins look like, compiled into one bytes regex."""

    component: Component
    regex: re.Pattern[bytes]
    needles: dict[str, _Needle]  # group name -> needle
    literals: list[bytes]  # a file without any of these cannot match (unless any_sha)
    shas: dict[str, set[str]]  # short prefix -> the full shas deployed with it
    covered: set[tuple[str, int]]  # (file, line) a target locates
    any_sha: bool

    def wanted(self, needle: _Needle, value: str) -> Format | None:
        """The format of `value` when it is a pin this needle stands for, else None."""
        comp = self.component
        if needle.kind == "version":
            if value == needle.matched and len(value) == comp.short_length:
                return "short"
            if len(value) == 40 and (value in self.shas.get(needle.matched, ()) or not self.shas.get(needle.matched)):
                return "sha"
            return None
        if value.startswith("sha256:"):
            return "digest" if needle.fmt in (None, "digest") else None
        for fmt in ("sha", "short"):
            if comp.pinned(value, fmt) and needle.fmt in (None, fmt):
                return fmt
        return None


def _hex_value(formats: set[Format], comp: Component) -> bytes:
    alts = []
    if "sha" in formats:
        alts.append(rb"[0-9a-f]{40}")
    if "short" in formats:
        alts.append(rb"[0-9a-f]{%d}" % comp.short_length)
    if "digest" in formats:
        alts.append(rb"sha256:[0-9a-f]{64}")
    return b"(?:" + b"|".join(alts) + b")"


# each target of a component with what it locates, or why it was refused
_Scanned = list[tuple[Target, list[TargetScan] | Refused]]


def _scan_each(repo: core.Repo, comp: Component) -> _Scanned:
    out: _Scanned = []
    for target in comp.targets:
        try:
            out.append((target, core.scan(repo, comp, [target])))
        except Refused as exc:
            out.append((target, exc))
    return out


def _pins(comp: Component, scanned: _Scanned, any_sha: bool) -> tuple[_Pins, list[str]]:
    refused: list[str] = []
    covered: set[tuple[str, int]] = set()
    values: list[str] = []
    for target, scans in scanned:
        if isinstance(scans, Refused):
            refused.append(target.name)
            continue
        for ts in scans:
            for loc in ts.locations:
                covered.add((loc.file, loc.line))
                values.append(loc.value)
    shas: dict[str, set[str]] = {}
    digests: set[str] = set()
    for v in values:
        if v.startswith("sha256:"):
            digests.add(v)
        else:
            shas.setdefault(comp.short(v), set()).update({v} if len(v) == 40 else set())
    alts: list[bytes] = []
    needles: dict[str, _Needle] = {}
    literals: list[bytes] = []

    def add(kind: str, matched: str, pattern: bytes, fmt: Format | None = None) -> None:
        name = f"g{len(needles)}"
        needles[name] = _Needle(kind, matched, fmt)
        alts.append(b"(?P<%s>%s)" % (name.encode(), pattern))

    if comp.image:
        image = re.escape(comp.image.encode())
        tag = _tag_pattern(comp)
        if tag is not None:
            pattern, fmt = tag
            add("image", f"{comp.image}:{comp.tag}", rb"(?<![\w./-])" + image + b":" + pattern + _E, fmt)
        add("image", f"{comp.image}@sha256", rb"(?<![\w./-])" + image + rb"@(?P<v>sha256:[0-9a-f]{64})" + _E, "digest")
        literals.append(comp.image.encode())
    keys: dict[str, set[Format]] = {}
    envs: dict[str, set[Format]] = {}
    for t in comp.targets:
        if isinstance(t.locator, KeyLocator):
            keys.setdefault(t.locator.name, set()).add(t.format)
        elif isinstance(t.locator, EnvLocator):
            envs.setdefault(t.locator.key, set()).add(t.format)
    for name, fmts in keys.items():
        key = re.escape(name.encode())
        value = _hex_value(fmts, comp)
        add("key", name, rb"(?<![\w.-])[\"']?" + key + rb"[\"']?[ \t]*:[ \t]*[\"']?(?P<v>" + value + b")" + _E)
        literals.append(name.encode())
    for name, fmts in envs.items():
        env = re.escape(name.encode())
        value = _hex_value(fmts, comp)
        add("env", name, rb"(?<![\w.-])" + env + rb"[ \t]*=[ \t]*[\"']?(?P<v>" + value + b")" + _E)
        literals.append(name.encode())
    if any(isinstance(t.locator, SaasLocator) for t in comp.targets):
        url = saas.repo_key(comp.repo)
        add("saas", url, re.escape(url.encode()) + rb"(?:\.git)?/?" + rb"(?![\w.-])")
        literals.append(url.encode())
    for digest in sorted(digests):
        add("version", digest, _B + b"(?P<v>" + re.escape(digest.encode()) + b")" + _E, "digest")
        literals.append(digest.encode())
    for short in sorted(shas):
        rest = 40 - len(short)
        add("version", short, _B + b"(?P<v>" + short.encode() + rb"(?:[0-9a-f]{%d})?)" % rest + _E)
        literals.append(short.encode())
    if any_sha:
        add("commit", "", _B + rb"(?P<v>[0-9a-f]{40})" + _E, "sha")
    # each alternative names its value group v: give every one its own name
    count = 0

    def rename(_: re.Match[bytes]) -> bytes:
        nonlocal count
        count += 1
        return b"(?P<v%d>" % count

    joined = b"|".join(alts) if alts else rb"(?!x)x"
    joined = re.sub(rb"\(\?P<v>", rename, joined)
    return _Pins(comp, re.compile(joined), needles, literals, shas, covered, any_sha), refused


def _tag_pattern(comp: Component) -> tuple[bytes, Format] | None:
    """The image tag template as a regex whose group v is the first version in it."""
    parts = re.split(r"(\{sha\}|\{short\})", comp.tag)
    out: list[bytes] = []
    fmt: Format | None = None
    for part in parts:
        if part in ("{sha}", "{short}"):
            hexes = rb"[0-9a-f]{40}" if part == "{sha}" else rb"[0-9a-f]{%d}" % comp.short_length
            if fmt is None:
                fmt = "sha" if part == "{sha}" else "short"
                out.append(b"(?P<v>" + hexes + b")")
            else:
                out.append(hexes)
        else:
            out.append(re.escape(part.encode()))
    return (b"".join(out), fmt) if fmt is not None else None


# --------------------------------------------------------------------------------------- scanning


def _tracked(root: Path) -> Running:
    return Git(root).start("ls-files", "-z", "--cached", "--full-name")


def _mentioning(root: Path, literals: set[bytes]) -> Running:
    """The tracked files (working tree) holding at least one of `literals`: `git grep -F -l`,
    which searches in C on every core. Binary and huge files are searched too (the caller tells
    them apart)."""
    # a literal that holds another one is implied by it
    needed = sorted(lit for lit in literals if not any(o != lit and o in lit for o in literals))
    patterns = [arg for lit in needed for arg in ("-e", lit.decode("utf-8", "surrogateescape"))]
    return Git(root).start(
        "-c", "grep.patternType=fixed", "grep", "-l", "-z", "-F", "--full-name", "--no-color", "--no-textconv",
        *patterns, "--", ".",
    )  # fmt: skip


def _read(dir_fd: int, rel: str) -> bytes | None:
    """The bytes of a regular file (not through a symlink), or None when it is gone."""
    try:
        fd = os.open(rel, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        chunks = [os.read(fd, size + 1)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


@dataclass
class _Hit:
    pins: _Pins
    needle: _Needle
    start: int  # byte offsets of the value
    end: int
    value: str
    fmt: Format
    full: str = ""  # the whole text the needle matched


def discover(
    repo: core.Repo,
    components: list[Component],
    any_sha: bool = False,
    upstream_of: Callable[[Component], Upstream] | None = None,
) -> Discovery:
    """Every pin of `components` in the files git tracks that no target covers."""
    return _discover(repo, [(comp, _scan_each(repo, comp)) for comp in components], any_sha, upstream_of)


def _discover(
    repo: core.Repo,
    components: list[tuple[Component, _Scanned]],
    any_sha: bool = False,
    upstream_of: Callable[[Component], Upstream] | None = None,
) -> Discovery:
    result = Discovery()
    all_pins: list[_Pins] = []
    for comp, scanned in components:
        pins, refused = _pins(comp, scanned, any_sha)
        all_pins.append(pins)
        if refused:
            result.refused[comp.name] = refused
    config_file = _relative(repo, Path(repo.config.path))
    commits: dict[str, list[tuple[str, bytes, _Hit]]] = {}  # component -> any-sha candidates
    globs = [workspace.glob_regex(g) for g in repo.config.ignore]
    literals = {lit for pins in all_pins for lit in pins.literals}
    # with --any-sha any 40-hex value may be a commit: every file is read; else only those git
    # grep finds a literal in (it runs while ls-files does)
    grep = None if any_sha or not literals else _mentioning(repo.root, literals)
    files: list[str] = []
    for rel in sorted({f for f in _tracked(repo.root).wait().split("\0") if f}):
        if rel == config_file:
            continue
        if globs and any(g.fullmatch(rel) for g in globs):
            result.ignored.append(rel)
            continue
        files.append(rel)
    result.scanned = len(files)
    if not any_sha:
        found = {f for f in grep.wait(ok=(0, 1)).split("\0") if f} if grep else set()  # 1: no match
        files = [rel for rel in files if rel in found]
    dir_fd = os.open(repo.root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for rel in files:
            try:
                st = os.stat(rel, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                continue  # deleted in the working tree
            if not stat.S_ISREG(st.st_mode):
                continue  # a symlink or a submodule
            if st.st_size > workspace.MAX_FILE_BYTES:
                result.huge.append(rel)
                continue
            data = _read(dir_fd, rel)
            if data is None:
                continue
            hits: list[_Hit] = []
            for pins in all_pins:
                if pins.any_sha or any(lit in data for lit in pins.literals):
                    hits += _hits(pins, data)
            if not hits:
                continue
            if b"\0" in data[:_SNIFF]:
                result.binary.append(rel)  # it mentions a pin, but it is not text: not parsed
                continue
            _File(repo, rel, data, result, commits).add(hits)
    finally:
        os.close(dir_fd)
    for pins in all_pins:
        pending = commits.get(pins.component.name)
        if pending:
            up = (upstream_of or Upstream)(pins.component)
            known = _commits(up, sorted({h.value for _, _, h in pending}))
            by_file: dict[str, tuple[bytes, list[_Hit]]] = {}
            for rel, data, hit in pending:
                if hit.value in known:
                    by_file.setdefault(rel, (data, []))[1].append(hit)
            for rel, (data, hits) in sorted(by_file.items()):
                _File(repo, rel, data, result, None).add(hits)
    result.findings.sort(key=lambda f: (f.file, f.line, f.column, f.component))
    return result


def _relative(repo: core.Repo, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(repo.root.resolve()).as_posix()
    except ValueError:
        return None


def _hits(pins: _Pins, data: bytes) -> list[_Hit]:
    out: list[_Hit] = []
    pinned: bool | None = None  # does the file hold a pinned-looking value at all?
    for m in pins.regex.finditer(data):
        name = m.lastgroup
        assert name is not None
        needle = pins.needles[name]
        if needle.kind == "saas":
            if pinned is None:
                short = pins.component.short_length
                pinned = re.search(_B + rb"(?:[0-9a-f]{40}|[0-9a-f]{%d})" % short + _E, data) is not None
            if pinned:  # else every ref of the file tracks a branch: no need to parse it
                out.append(_Hit(pins, needle, m.start(), m.end(), needle.matched, "sha"))
            continue
        if needle.kind in ("key", "env") and _commented(data, m.start()):
            continue  # `# KEY=…` is no assignment and `# key: …` no key (a version or image there is still shown)
        vstart, vend = next(m.span(g) for g in m.re.groupindex if g.startswith("v") and m.start(g) >= 0)
        value = data[vstart:vend].decode("ascii")
        fmt = pins.wanted(needle, value) if needle.kind != "commit" else "sha"
        if fmt is not None:
            out.append(_Hit(pins, needle, vstart, vend, value, fmt, m.group().decode("utf-8", "replace")))
    return out


def _commented(data: bytes, offset: int) -> bool:
    """Whether `offset` is inside a `#` comment: the line starts with `#`, or a `#` after white
    space comes before it (YAML's and the shell's comments; a `#` inside quotes can fool this,
    which only hides a finding)."""
    line = data[data.rfind(b"\n", 0, offset) + 1 : offset]
    return line.lstrip().startswith(b"#") or b" #" in line or b"\t#" in line


def _commits(up: Upstream, candidates: list[str]) -> set[str]:
    """Which of `candidates` are commits of the upstream: one `git cat-file --batch-check`."""
    up.head()  # the mirror exists and holds the branch as it is now (fetched when it moved)
    proc = up.git.run(
        "cat-file", "--batch-check=%(objectname) %(objecttype)", input="".join(f"{c}^{{commit}}\n" for c in candidates)
    )
    return {line.split()[0] for line in proc.stdout.splitlines() if line.endswith(" commit")}


class _File:
    """One matched file: decoded and parsed at most once, however many hits it has."""

    def __init__(
        self,
        repo: core.Repo,
        rel: str,
        data: bytes,
        result: Discovery,
        commits: dict[str, list[tuple[str, bytes, _Hit]]] | None,
    ) -> None:
        self.repo = repo
        self.rel = rel
        self.data = data
        self.result = result
        self.commits = commits
        self.text = data.decode("utf-8", "replace")
        self._roots: list[Node] | bool | None = False  # False: not parsed yet; None: not YAML

    def roots(self) -> list[Node] | None:
        if self._roots is False:
            self._roots = None
            if self.rel.lower().endswith(_YAML_SUFFIXES):
                try:
                    self._roots = compose(self.text)
                except YamlSyntaxError:
                    self._roots = None
        return self._roots if isinstance(self._roots, list) else None

    def char(self, offset: int) -> int:
        return len(self.data[:offset].decode("utf-8", "replace"))

    def add(self, hits: list[_Hit]) -> None:
        by_comp: dict[str, list[tuple[_Hit, int, int, int]]] = {}  # hits as (hit, char start, char end, line)
        seen: set[tuple[str, int]] = set()
        for hit in hits:
            comp = hit.pins.component
            if hit.needle.kind == "saas":
                spots = self._saas_refs(hit.pins)
            else:
                start = self.char(hit.start)
                spots = [(hit, start, start + len(hit.value), self.data.count(b"\n", 0, hit.start) + 1)]
            for spot in spots:
                h, start, _, line = spot
                if (self.rel, line) in h.pins.covered or (comp.name, start) in seen:
                    continue
                if h.needle.kind == "commit" and self.commits is not None:
                    self.commits.setdefault(comp.name, []).append((self.rel, self.data, h))
                    continue
                seen.add((comp.name, start))
                by_comp.setdefault(comp.name, []).append(spot)
        for spots in by_comp.values():
            positions = {start for _, start, _, _ in spots}
            for hit, start, end, line in spots:
                self.result.findings.append(self._finding(hit, start, end, line, positions))

    def _saas_refs(self, pins: _Pins) -> list[tuple[_Hit, int, int, int]]:
        """The pinned refs of the resource templates built from the component's repo."""
        comp = pins.component
        roots = self.roots()
        if roots is None:
            return []
        try:
            found = saas.find(self.text, roots, comp.repo, None, lambda v: False)
        except LocateError:
            return []
        out = []
        for f in found:
            fmt: Format
            if comp.pinned(f.value, "sha"):
                fmt = "sha"
            elif comp.pinned(f.value, "short"):
                fmt = "short"
            else:
                continue
            hit = _Hit(pins, _Needle("saas", comp.repo, fmt), -1, -1, f.value, fmt)
            out.append((hit, f.start, f.end, f.line))
        return out

    def _finding(self, hit: _Hit, start: int, end: int, line: int, positions: set[int]) -> Finding:
        comp = hit.pins.component
        lines = self.text.split("\n")
        line_text = lines[line - 1] if line - 1 < len(lines) else ""
        line_start = sum(len(x) + 1 for x in lines[: line - 1])
        column = start - line_start + 1
        target = self._target(comp, hit.fmt, start, line, line_start, line_text, positions)
        snippet = yaml.safe_dump([target], sort_keys=False, default_flow_style=False, width=1 << 20, allow_unicode=True)
        matched = hit.needle.matched or hit.value
        if hit.needle.kind in ("version", "image"):
            matched = hit.full or hit.value
        return Finding(
            comp.name,
            self.rel,
            line,
            column,
            line_text.strip()[:200],
            hit.needle.kind,
            matched,
            hit.value,
            hit.fmt,
            snippet,
            target,
        )

    # -- the snippet -----------------------------------------------------------------------------
    def _works(self, comp: Component, locator: Locator, fmt: Format, start: int, positions: set[int]) -> int | None:
        """The first line a target with `locator` locates, when it locates the value at `start`
        and nothing that is not an uncovered pin of the component; else None."""
        target = Target("t", "t", self.rel, None, locator, fmt, False, 0)
        try:
            located, _ = classify(self.text, self.rel, comp, target, find(self.text, comp, target))
        except (LocateError, YamlSyntaxError, re.error):
            return None
        starts = {loc.start for loc in located}
        if start in starts and starts <= positions:
            return min(loc.line for loc in located)
        return None

    def _target(
        self,
        comp: Component,
        fmt: Format,
        start: int,
        line: int,
        line_start: int,
        line_text: str,
        positions: set[int],
    ) -> dict[str, Any]:
        head, _, base = self.rel.rpartition("/")
        base = base.lstrip(".")
        base = base.rsplit(".", 1)[0] if "." in base else base  # .env -> env, a/b.yaml -> a-b
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{head}/{base}".replace("/", "-")).strip("-.") or "file"
        candidates: list[tuple[str, Locator, str, Any]] = []
        roots = self.roots()
        if roots is not None:
            candidates.append((stem, SaasLocator(), "saas", {}))
            key = _key_of(self.text, roots, start)
            if key is not None:
                name, path = key
                candidates.append((f"{stem}-{name}", KeyLocator(name), "key", name))
                candidates.append((f"{stem}-{name}", PathLocator(path), "path", path))
        env = re.match(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", line_text)
        if env:
            candidates.append((f"{stem}-{env.group(1)}", EnvLocator(env.group(1)), "env", env.group(1)))
        for pattern in _regexes(line_text, start - line_start, fmt, comp.short_length):
            candidates.append((stem, RegexLocator(pattern), "regex", pattern))
        for name, locator, kind, arg in candidates:
            first = self._works(comp, locator, fmt, start, positions)
            if first is not None:
                if kind == "regex":
                    name = f"{stem}-{first}"  # the same regex for every line it locates
                return {"name": self._name(comp, name), "file": self.rel, kind: arg, "format": fmt}
        pattern = _regexes(line_text, start - line_start, fmt, comp.short_length)[-1]
        return {"name": self._name(comp, f"{stem}-{line}"), "file": self.rel, "regex": pattern, "format": fmt}

    def _name(self, comp: Component, name: str) -> str:
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


def _key_of(text: str, roots: list[Node], start: int) -> tuple[str, str] | None:
    """The mapping key whose scalar value starts at `start`, and a JSONPath to that value."""

    def visit(node: Node, path: str) -> tuple[str, str] | None:
        if isinstance(node, Mapping):
            for k, v in node.pairs:
                if not isinstance(k, Scalar):
                    continue
                step = f".{k.value}" if re.fullmatch(r"[\w$-]+", k.value) else "['" + _jp_quote(k.value) + "']"
                if isinstance(v, Scalar):
                    span = version_span(text, v)
                    if span is not None and span[0] == start:
                        return k.value, path + step
                elif v.start <= start <= v.end:
                    found = visit(v, path + step)
                    if found:
                        return found
        elif isinstance(node, Sequence):
            for i, item in enumerate(node.items):
                if item.start <= start <= item.end:
                    found = visit(item, f"{path}[{i}]")
                    if found:
                        return found
        return None

    for root in roots:
        if root.start <= start <= root.end:
            found = visit(root, "$")
            if found:
                return found
    return None


def _jp_quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")


# ------------------------------------------------------------------------------------------ check


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    hint: str


def check(repo: core.Repo, components: list[Component]) -> list[Problem]:
    """Every problem of the config repository: targets that do not locate their pins, environments
    whose targets disagree, pins no target covers (outside `ignore:`)."""
    config_file = _relative(repo, Path(repo.config.path)) or repo.config.path
    problems: list[Problem] = []
    everything = [(comp, _scan_each(repo, comp)) for comp in components]
    for comp, scanned in everything:
        values: dict[str, dict[str, list[str]]] = {}  # environment -> version -> targets
        for target, scans in scanned:
            if isinstance(scans, Refused):
                for message in str(scans).splitlines():
                    problems.append(
                        Problem(
                            config_file,
                            target.line,
                            f"{comp.name}: {message}",
                            f"fix target '{target.name}' (its file or locator) so that it locates the pinned "
                            "value, or set 'optional: true' if the value may be absent",
                        )
                    )
                continue
            for ts in scans:
                for v in ts.values:
                    shown = v if v.startswith("sha256:") else comp.short(v)
                    names = values.setdefault(target.environment, {}).setdefault(shown, [])
                    if target.name not in names:
                        names.append(target.name)
        for env, versions in values.items():
            if len(versions) > 1:
                first = min(t.line for t in comp.targets if t.environment == env)
                listed = "; ".join(f"{v} ({', '.join(names)})" for v, names in versions.items())
                problems.append(
                    Problem(
                        config_file,
                        first,
                        f"{comp.name}: environment '{env}' runs {len(versions)} versions: {listed}",
                        f"promote the environment to one version: promoter promote {comp.name} REV --env {env}",
                    )
                )
    found = _discover(repo, everything)
    for f in found.findings:
        problems.append(
            Problem(
                f.file,
                f.line,
                f"{f.component}: {f.value} is pinned here ({_what(f)}) but no target covers it",
                f"add this target to component '{f.component}' in {config_file}, "
                f"or add '{f.file}' to its ignore: list:\n{f.snippet.rstrip()}",
            )
        )
    return problems


def _what(f: Finding) -> str:
    if f.kind == "version":
        return "the deployed version"
    if f.kind == "image":
        return f"image {f.matched}"
    if f.kind == "key":
        return f"key {f.matched}"
    if f.kind == "env":
        return f"variable {f.matched}"
    if f.kind == "saas":
        return "a saas file of the component's repo"
    return "a commit of the upstream"


__all__ = ["Discovery", "Finding", "Problem", "check", "discover"]
