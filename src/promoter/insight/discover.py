"""Find the pins of components that no target covers (`discover`).

Nothing here prints. `discover` reads every file git tracks in the config repository once, as
bytes, and searches it with one compiled regex per component of everything that looks like a pin
of it: the versions its targets deploy (full shas and their short prefixes), its image reference,
the keys and dotenv names its targets already use (with a pinned-looking value) and the saas
files that build from its repo. Only files that match are decoded and parsed. A finding on a line
a target already locates is covered and left out; every other finding carries a target snippet
(`snippets`) whose locator has been tried on the file and locates that very value.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promoter.errors import Refused
from promoter.insight import snippets
from promoter.locate import LocateError, saas
from promoter.locate.yamlnodes import Node, YamlSyntaxError, compose
from promoter.model import Component, EnvLocator, Format, KeyLocator, SaasLocator, Target, TargetScan
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


# each target of a component with what it locates, or why it was refused
Scanned = list[tuple[Target, list[TargetScan] | Refused]]


def scan_targets(repo: core.Repo, comp: Component) -> Scanned:
    """Every target of `comp` located on its own: one that fails does not hide the others."""
    out: Scanned = []
    for target in comp.targets:
        try:
            out.append((target, core.scan(repo, comp, [target])))
        except Refused as exc:
            out.append((target, exc))
    return out


def config_file(repo: core.Repo) -> str | None:
    """The config file's path relative to the repository root; None when it lies outside."""
    try:
        return Path(repo.config.path).resolve().relative_to(repo.root.resolve()).as_posix()
    except ValueError:
        return None


def discover(
    repo: core.Repo,
    components: list[Component],
    any_sha: bool = False,
    upstream_of: Callable[[Component], Upstream] | None = None,
) -> Discovery:
    """Every pin of `components` in the files git tracks that no target covers."""
    return uncovered(repo, [(comp, scan_targets(repo, comp)) for comp in components], any_sha, upstream_of)


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


def _pins(comp: Component, scanned: Scanned, any_sha: bool) -> tuple[_Pins, list[str]]:
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


def uncovered(
    repo: core.Repo,
    components: list[tuple[Component, Scanned]],
    any_sha: bool = False,
    upstream_of: Callable[[Component], Upstream] | None = None,
) -> Discovery:
    """`discover` for components whose targets are scanned already (`scan_targets`)."""
    result = Discovery()
    all_pins: list[_Pins] = []
    for comp, scanned in components:
        pins, refused = _pins(comp, scanned, any_sha)
        all_pins.append(pins)
        if refused:
            result.refused[comp.name] = refused
    skip = config_file(repo)
    commits: dict[str, list[tuple[str, bytes, _Hit]]] = {}  # component -> any-sha candidates
    globs = [workspace.glob_regex(g) for g in repo.config.ignore]
    literals = {lit for pins in all_pins for lit in pins.literals}
    # with --any-sha any 40-hex value may be a commit: every file is read; else only those git
    # grep finds a literal in (it runs while ls-files does)
    grep = None if any_sha or not literals else _mentioning(repo.root, literals)
    files: list[str] = []
    for rel in sorted({f for f in _tracked(repo.root).wait().split("\0") if f}):
        if rel == skip:
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
            for hit, start, _, line in spots:
                self.result.findings.append(self._finding(hit, start, line, positions))

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

    def _finding(self, hit: _Hit, start: int, line: int, positions: set[int]) -> Finding:
        comp = hit.pins.component
        line_start, line_text = snippets.line_around(self.text, start)
        target = snippets.target(comp, self.rel, self.text, self.roots(), hit.fmt, start, line, positions)
        matched = hit.needle.matched or hit.value
        if hit.needle.kind in ("version", "image"):
            matched = hit.full or hit.value
        return Finding(
            comp.name,
            self.rel,
            line,
            start - line_start + 1,
            line_text.strip()[:200],
            hit.needle.kind,
            matched,
            hit.value,
            hit.fmt,
            snippets.dump(target),
            target,
        )


__all__ = ["Discovery", "Finding", "Scanned", "config_file", "discover", "scan_targets", "uncovered"]
