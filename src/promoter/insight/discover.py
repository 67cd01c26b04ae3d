"""Find the pins of components that no target covers (`discover`).

Nothing here prints. What a component's pins look like becomes its needles: the versions its
targets deploy (full shas and their short prefixes), its image reference, the keys and dotenv
names its targets already use (with a pinned-looking value) and the URL of its repo (saas files),
each starting with a literal text. One pass serves every component: `git grep -E` (in C, on every
core) names the tracked files that hold any component's literal, each of them is read once as
bytes, and one trie-shaped regex of all the literals finds every place where some needle may
start; only that needle is tried there, and a literal maps back to its component. Only files with
a pin are decoded and parsed, once. A finding on a line a target already locates is covered and
left out; every other finding carries a target snippet (`snippets`) whose locator has been tried
on the file and locates that very value.

A component with no targets yet (`targets: []`, or `promoter init`) is found from zero: every
tracked file is read for saas files of its repo, its image (when it has one) and any value that
looks like one of its versions (40 hex digits, or `short_length`) and is a commit of its upstream
(one `git cat-file --batch-check` in the mirror). `bootstrap` makes a whole config of them.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from promoter.errors import Refused
from promoter.insight import snippets
from promoter.locate import LocateError, saas
from promoter.locate.base import single
from promoter.locate.yamlnodes import Mapping, Node, Scalar, YamlSyntaxError, compose, version_span, walk
from promoter.model import Component, EnvLocator, Format, KeyLocator, SaasLocator, Target, TargetScan
from promoter.pipeline import core, workspace
from promoter.records import field, record
from promoter.upstream.git import Git, Running

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

    from promoter.upstream.mirror import Upstream

_SNIFF = 8192
_B = rb"(?<![0-9A-Za-z])"  # a value starts and ends at a boundary: not inside a longer word
_E = rb"(?![0-9A-Za-z])"
# what a release tag looks like (v1.4.2, 1.4.2, 1.5.0-rc.1+b.7), not inside a longer version
_TAGLIKE = (
    rb"v?(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)"
    rb"(?:-[0-9A-Za-z.-]*[0-9A-Za-z])?(?:\+[0-9A-Za-z.-]*[0-9A-Za-z])?"
)
_TB = rb"(?<![0-9A-Za-z.+-])"
_TE = rb"(?![0-9A-Za-z+-]|\.[0-9A-Za-z])"
_YAML_SUFFIXES = (".yaml", ".yml")
# bytes of one `git grep -e` pattern: Linux refuses an argument over 128 KiB, and each grep thread
# compiles each pattern into its own automaton, whose memory grows faster than the pattern
_GREP_CHUNK = 8 * 1024
# up to this many literals, `git grep -F -e ... -e ...` beats one `-E` regex of them all: measured
# on the real snapshot (9,594 files), 6 literals 43 ms against 51, 48 literals 64 ms against 78,
# 96 literals 86 ms against 79 (bench/README.md)
_FIXED_MAX = 48


@record(frozen=True)
class Finding:
    component: str
    file: str
    line: int
    column: int  # 1-based, in characters
    text: str  # the line, stripped, at most 200 characters
    kind: str  # version | image | key | env | saas | commit (a commit of the upstream: --any-sha, from zero)
    matched: str  # what matched: the version, image reference, key or dotenv name, repo url
    value: str  # the pinned value at file:line:column
    format: Format
    snippet: str  # a ready-to-paste target (YAML list item)
    target: dict[str, Any] = field(compare=False)  # the snippet as data


@record
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


def own_files(repo: core.Repo) -> set[str]:
    """promoter's own files in the repository, never scanned for pins: the config file and the
    holds file (a rollback's reason names the version it leaves)."""
    return {f for f in (config_file(repo), repo.config.holds) if f is not None}


def discover(
    repo: core.Repo,
    components: list[Component],
    any_sha: bool = False,
    upstream_of: Callable[[Component], Upstream] | None = None,
) -> Discovery:
    """Every pin of `components` in the files git tracks that no target covers."""
    return uncovered(repo, [(comp, scan_targets(repo, comp)) for comp in components], any_sha, upstream_of)


# ----------------------------------------------------------------------------------- the needles


@record(frozen=True, eq=False)
class _Needle:
    """One kind of pin of one component: the literal text it starts with (b"" for any commit) and
    the regex that matches it there (its group v is the value)."""

    pins: _Pins = field(repr=False)
    kind: str
    matched: str
    fmt: Format | None  # the format the value must have (None: any pinned-looking one)
    literal: bytes
    regex: re.Pattern[bytes]
    order: int  # where two needles of a component match at one place, the first wins
    pattern: str | None = None  # format tag: the tag pattern the value is written with


@record(eq=False)
class _Pins:
    """What a component's pins look like."""

    component: Component
    shas: dict[str, set[str]]  # short prefix -> the full shas deployed with it
    covered: set[tuple[str, int]]  # (file, line) a target locates
    any_sha: bool
    # saas files whose every ref of the component's resource templates a target located, as a pin
    # or as a branch it tracks: no ref there can be uncovered (nothing to parse again)
    saas_seen: set[str] = field(default_factory=set)
    needles: list[_Needle] = field(default_factory=list)
    ignore: list[re.Pattern[str]] = field(default_factory=list)  # the component's own `ignore:`

    def wanted(self, needle: _Needle, value: str) -> Format | None:
        """The format of `value` when it is a pin this needle stands for, else None."""
        comp = self.component
        if needle.fmt == "tag":  # a release tag: the one deployed, or any tag of the component's image
            return "tag" if needle.kind != "version" or value == needle.matched else None
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
        if needle.fmt is None and comp.release_version(value) is not None:
            return "tag"
        return None

    def pattern(self, value: str) -> str | None:
        """The tag pattern of the component's `format: tag` targets that reads `value`."""
        for t in self.component.targets:
            if t.format == "tag" and t.pattern.read(value) is not None:
                return t.tag_pattern
        return None


@functools.cache
def _compiled(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern)


def _skip(literal: str) -> bytes:
    """The literal in a needle's regex, which is only ever tried where the literal stands."""
    return rb"(?s:.{%d})" % len(literal.encode())


def _hex_value(formats: set[Format], comp: Component) -> bytes:
    alts = []
    if "sha" in formats:
        alts.append(rb"[0-9a-f]{40}")
    if "short" in formats:
        alts.append(rb"[0-9a-f]{%d}" % comp.short_length)
    if "digest" in formats:
        alts.append(rb"sha256:[0-9a-f]{64}")
    if "tag" in formats:
        alts.append(rb"[^\s\"'#,{}\[\]]+")  # what the target's tag pattern reads (`wanted` checks)
    return b"(?:" + b"|".join(alts) + b")"


def _pins(comp: Component, scanned: Scanned, any_sha: bool) -> tuple[_Pins, list[str]]:
    refused: list[str] = []
    covered: set[tuple[str, int]] = set()
    values: list[str] = []
    saas_seen: set[str] = set()
    for target, scans in scanned:
        if isinstance(scans, Refused):
            refused.append(target.name)
            continue
        for ts in scans:
            for loc in ts.locations:
                covered.add((loc.file, loc.line))
                values.append(loc.value)
            if isinstance(target.locator, SaasLocator) and target.locator.resource_template is None:
                # its refs that are no pin of its format but look like one may be uncovered pins
                odd = {t.file for t in ts.tracking if comp.pinned(t.value, "sha") or comp.pinned(t.value, "short")}
                saas_seen.update(f for f in ts.files if f not in odd)
    shas: dict[str, set[str]] = {}
    digests: set[str] = set()
    tags = {v for v in values if comp.release_version(v) is not None and not comp.pinned(v, "short")}
    for v in values:
        if v in tags:
            continue
        if v.startswith("sha256:"):
            digests.add(v)
        else:
            shas.setdefault(comp.short(v), set()).update({v} if len(v) == 40 else set())
    pins = _Pins(comp, shas, covered, any_sha, saas_seen, ignore=[workspace.glob_regex(g) for g in comp.ignore])

    def add(
        kind: str, matched: str, literal: str, pattern: bytes, fmt: Format | None = None, written: str | None = None
    ) -> None:
        needle = _Needle(pins, kind, matched, fmt, literal.encode(), _compiled(pattern), len(pins.needles), written)
        pins.needles.append(needle)

    zero = not comp.targets  # from zero: any saas file of its repo, any commit or release of its upstream

    if comp.image:
        image = rb"(?<![\w./-])" + _skip(comp.image)
        tag = _tag_pattern(comp)
        if tag is not None:
            pattern, fmt = tag
            add("image", f"{comp.image}:{comp.tag}", comp.image, image + b":" + pattern + _E, fmt)
        add("image", f"{comp.image}@sha256", comp.image, image + rb"@(?P<v>sha256:[0-9a-f]{64})" + _E, "digest")
        if zero or comp.released:  # its image tagged with a release: `quay.io/org/app:v1.4.2`
            add("image", f"{comp.image}:<release>", comp.image, image + b":(?P<v>" + _TAGLIKE + b")" + _TE, "tag")
        # the image named on its own, a YAML value (Helm's `repository:`): its tag is the mapping's `tag:`
        add("repository", comp.image, comp.image, image + rb"[\"']?[ \t]*(?:#[^\n]*)?(?=\r?\n|\Z)")
    keys: dict[str, set[Format]] = {}
    envs: dict[str, set[Format]] = {}
    for t in comp.targets:
        if isinstance(t.locator, KeyLocator):
            keys.setdefault(t.locator.name, set()).add(t.format)
        elif isinstance(t.locator, EnvLocator):
            envs.setdefault(t.locator.key, set()).add(t.format)
    # a key may be quoted: `"key": v` matches where `key` starts, as `(?<![\w.-])["']?key` would
    for name, fmts in keys.items():
        value = _hex_value(fmts, comp)
        add("key", name, name, rb"(?<![\w.-])" + _skip(name) + rb"[\"']?[ \t]*:[ \t]*[\"']?(?P<v>" + value + b")" + _E)
    for name, fmts in envs.items():
        value = _hex_value(fmts, comp)
        add("env", name, name, rb"(?<![\w.-])" + _skip(name) + rb"[ \t]*=[ \t]*[\"']?(?P<v>" + value + b")" + _E)
    if zero or any(isinstance(t.locator, SaasLocator) for t in comp.targets):
        url = saas.repo_key(comp.repo)
        add("saas", url, url, _skip(url) + rb"(?:\.git)?/?(?![\w.-])")
    for release in sorted(tags):
        add("version", release, release, _TB + b"(?P<v>" + _skip(release) + b")" + _TE, "tag", pins.pattern(release))
    for digest in sorted(digests):
        add("version", digest, digest, _B + b"(?P<v>" + _skip(digest) + b")" + _E, "digest")
    for short in sorted(shas):
        rest = 40 - len(short)
        add("version", short, short, _B + b"(?P<v>" + _skip(short) + rb"(?:[0-9a-f]{%d})?)" % rest + _E)
    if any_sha or zero:
        add("commit", "", "", _B + rb"(?P<v>[0-9a-f]{40})" + _E, "sha")
    if zero:
        add("commit", "", "", _B + rb"(?P<v>[0-9a-f]{%d})" % comp.short_length + _E, "short")
        add("release", "", "", _TB + b"(?P<v>" + _TAGLIKE + b")" + _TE, "tag")  # asked of its tags
    return pins, refused


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


class _Literals:
    """The literals of every component's needles in one regex whose alternatives branch byte by
    byte (a trie): one pass over a file finds each place where some needle may start."""

    def __init__(self, all_pins: list[_Pins]) -> None:
        self.needles: dict[bytes, list[_Needle]] = {}
        for pins in all_pins:
            for needle in pins.needles:
                if needle.kind not in ("commit", "release"):
                    self.needles.setdefault(needle.literal, []).append(needle)
        self.regex = re.compile(_trie(sorted(self.needles))) if self.needles else None
        self._starting: dict[bytes, list[_Needle]] = {}

    def find(self, data: bytes) -> Iterator[tuple[int, _Needle]]:
        """Each place in `data` where a literal starts, with every needle of that literal."""
        if self.regex is None:
            return
        pos = 0
        while (m := self.regex.search(data, pos)) is not None:
            for needle in self._at(m.group()):
                yield m.start(), needle
            pos = m.start() + 1

    def _at(self, longest: bytes) -> list[_Needle]:
        """The needles of `longest`, the longest literal found at a place, and of the literals
        that are prefixes of it: they stand there too."""
        if longest not in self._starting:
            self._starting[longest] = [n for i in range(len(longest) + 1) for n in self.needles.get(longest[:i], ())]
        return self._starting[longest]


def _trie(words: list[bytes]) -> bytes:
    """A regex matching any of `words` (the longest one where several start at one place)."""
    end = -1
    root: dict[int, Any] = {}
    for word in words:
        node = root
        for byte in word:
            node = node.setdefault(byte, {})
        node[end] = {}

    def build(node: dict[int, Any]) -> bytes:
        alts = [re.escape(bytes([byte])) + build(child) for byte, child in sorted(node.items()) if byte != end]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        return b"(?:" + body + b")?" if end in node else body

    return build(root)


# --------------------------------------------------------------------------------------- scanning


def _tracked(root: Path) -> Running:
    return Git(root).start("ls-files", "-z", "--cached", "--full-name")


_ERE_SPECIAL = re.compile(rb"[\\.\[\]()*+?{}|^$]")


def _mentioning(root: Path, literals: set[bytes]) -> Running:
    """The tracked files (working tree) holding at least one of `literals`: `git grep -l`, in C on
    every core. A few literals are as many `-F -e` patterns (git looks for each with a fast
    string search); past `_FIXED_MAX` (where git, which tries the patterns one by one, grows
    slower than one automaton) they are one extended regex. Binary and huge files are searched
    too (the caller tells them apart)."""
    # one core left to `git ls-files` and to this process, which run meanwhile (on two cores, git
    # grep alone is quicker with one thread than with two: bench/README.md)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = f"grep.threads={max(1, cores - 1)}"
    if len(literals) <= _FIXED_MAX:
        fixed = [arg for lit in sorted(literals) for arg in ("-e", lit.decode("utf-8", "surrogateescape"))]
        return Git(root).start(
            "-c", threads, "grep", "-l", "-z", "-F", "--full-name", "--no-color", "--no-textconv", *fixed, "--", ".",
        )  # fmt: skip
    escaped = sorted(_ERE_SPECIAL.sub(lambda m: b"\\" + m.group(), lit) for lit in literals)
    chunks: list[bytes] = []
    for lit in escaped:
        if chunks and len(chunks[-1]) + len(lit) < _GREP_CHUNK:
            chunks[-1] += b"|" + lit
        else:
            chunks.append(lit)
    patterns = [arg for chunk in chunks for arg in ("-e", chunk.decode("utf-8", "surrogateescape"))]
    return Git(root).start(
        "-c", threads, "-c", "grep.patternType=extended",
        "grep", "-l", "-z", "-E", "--full-name", "--no-color", "--no-textconv", *patterns, "--", ".",
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


@record
class _Hit:
    pins: _Pins
    kind: str
    matched: str
    start: int  # byte offsets of the value
    end: int
    value: str
    fmt: Format
    full: str = ""  # the whole text the needle matched
    pattern: str | None = None  # format tag: the tag pattern it is written with (None: v{semver})


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
    literals = _Literals(all_pins)
    skip = own_files(repo)
    covered = {place for pins in all_pins for place in pins.covered}  # by any component's target
    commits: dict[str, list[tuple[str, bytes, _Hit]]] = {}  # component -> any-sha candidates
    globs = [workspace.glob_regex(g) for g in repo.config.ignore]
    # with --any-sha any 40-hex value may be a commit: every file is read; else only those git
    # grep finds a literal in (it runs while ls-files does)
    read_all = any_sha or any(not comp.targets for comp, _ in components)
    prefilter = not read_all and b"" not in literals.needles
    grep = _mentioning(repo.root, set(literals.needles)) if prefilter and literals.needles else None
    files: list[str] = []
    for rel in sorted({f for f in _tracked(repo.root).wait().split("\0") if f}):
        if rel in skip:
            continue
        if globs and any(g.fullmatch(rel) for g in globs):
            result.ignored.append(rel)
            continue
        files.append(rel)
    result.scanned = len(files)
    if prefilter:
        found = {f for f in grep.wait(ok=(0, 1)).split("\0") if f} if grep else set()  # 1: no match
        files = [rel for rel in files if rel in found]
    commit_needles = [n for pins in all_pins for n in pins.needles if n.kind in ("commit", "release")]
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
            hits = _hits(rel, data, literals, commit_needles)
            if not hits:
                continue
            if b"\0" in data[:_SNIFF]:
                result.binary.append(rel)  # it mentions a pin, but it is not text: not parsed
                continue
            _File(repo, rel, data, result, commits, covered).add(hits)
    finally:
        os.close(dir_fd)
    for pins in all_pins:
        pending = commits.get(pins.component.name)
        if pending:
            make = upstream_of
            if make is None:  # imported here: only a component found from zero asks its upstream
                from promoter.upstream.mirror import Upstream

                make = Upstream
            up = make(pins.component)
            known = _commits(up, sorted({h.value for _, _, h in pending if h.kind == "commit"}))
            released = _releases(up, sorted({h.value for _, _, h in pending if h.kind == "release"}))
            by_file: dict[str, tuple[bytes, list[_Hit]]] = {}
            for rel, data, hit in pending:
                if hit.kind == "release" and hit.value in released:
                    hit.pattern = released[hit.value]
                    by_file.setdefault(rel, (data, []))[1].append(hit)
                elif hit.kind == "commit" and hit.value in known:
                    by_file.setdefault(rel, (data, []))[1].append(hit)
            for rel, (data, hits) in sorted(by_file.items()):
                _File(repo, rel, data, result, None, covered).add(hits)
    result.findings.sort(key=lambda f: (f.file, f.line, f.column, f.component))
    # a value found twice (a saas file's ref, and the same value as a commit of the upstream): once
    seen: set[tuple[str, str, int, int]] = set()
    result.findings = [f for f in result.findings if not _seen(seen, (f.component, f.file, f.line, f.column))]
    result.findings = _named_apart(result.findings, {c.name: {t.name for t in c.targets} for c, _ in components})
    return result


def _named_apart(findings: list[Finding], taken: dict[str, set[str]]) -> list[Finding]:
    """The findings with the targets they suggest named apart within each component: a name two
    suggestions share goes to the first; the next is prefixed with its directory, or numbered."""
    names: dict[tuple[str, str], str] = {}  # (component, snippet) -> its name
    out: list[Finding] = []
    for f in findings:
        key = (f.component, f.snippet)
        if key not in names:
            used = taken.setdefault(f.component, set())
            name = f.target["name"]
            if name in used:
                head = f.file.rpartition("/")[0].rpartition("/")[2]
                name = snippets.stem(f"{head}-{name}.x") if head else name
                base, n = name, 1
                while name in used:
                    n += 1
                    name = f"{base}-{n}"
            used.add(name)
            names[key] = name
        name = names[key]
        if name == f.target["name"]:
            out.append(f)
            continue
        target = {**f.target, "name": name}
        out.append(
            Finding(
                f.component,
                f.file,
                f.line,
                f.column,
                f.text,
                f.kind,
                f.matched,
                f.value,
                f.format,
                snippets.dump(target),
                target,
            )
        )
    return out


def _seen(seen: set[tuple[str, str, int, int]], key: tuple[str, str, int, int]) -> bool:
    if key in seen:
        return True
    seen.add(key)
    return False


_IMAGE_REF = re.compile(r"(?:^|[\s\"'=,(\[])((?:[\w.-]+(?::[0-9]+)?/)+[\w.-]+):$")


def same_image(a: str, b: str) -> bool:
    """Whether two image names may name one image: their last components agree (`app` in a
    kustomization's `name:` is `quay.io/org/app`, and so is a mirror's `registry.local/org/app`;
    `quay.io/org/worker` and `nginx` are not)."""
    return _last(a) == _last(b)


def _last(image: str) -> str:
    """An image name's last component, without its tag or digest."""
    return image.partition("@")[0].rpartition("/")[2].partition(":")[0]


_Match = tuple[int, int, re.Match[bytes], _Needle]  # start, the needle's order, the match, the needle


def _hits(rel: str, data: bytes, literals: _Literals, commit_needles: list[_Needle]) -> list[_Hit]:
    """The pins of every component in the file `rel` whose bytes are `data`: each needle tried
    only where its literal stands."""
    matches: dict[_Pins, list[_Match]] = {}
    for start, needle in literals.find(data):
        m = needle.regex.match(data, start)
        if m is not None:
            matches.setdefault(needle.pins, []).append((start, needle.order, m, needle))
    by_regex: dict[re.Pattern[bytes], list[_Needle]] = {}
    for needle in commit_needles:  # any 40-hex value (or short_length hex, from zero), per component
        by_regex.setdefault(needle.regex, []).append(needle)
    for regex, needles in by_regex.items():
        for m in regex.finditer(data):
            for needle in needles:
                matches.setdefault(needle.pins, []).append((m.start(), needle.order, m, needle))
    out: list[_Hit] = []
    pinned: dict[int, bool] = {}  # short length -> does the file hold a pinned-looking value at all?
    for pins, found in matches.items():
        # as one alternation of the component's needles would match, left to right: the first
        # needle at a place wins, and no match starts inside the one before
        end = 0
        for start, _, m, needle in sorted(found, key=lambda f: (f[0], f[1])):
            if start < end:
                continue
            end = max(m.end(), start + 1)
            if needle.kind == "saas":
                if rel in pins.saas_seen:
                    continue
                short = pins.component.short_length
                if short not in pinned:
                    looks = _compiled(_B + rb"(?:[0-9a-f]{40}|[0-9a-f]{%d})" % short + _E)
                    pinned[short] = looks.search(data) is not None
                if pinned[short]:  # else every ref of the file tracks a branch: no need to parse it
                    out.append(_Hit(pins, "saas", needle.matched, m.start(), m.end(), needle.matched, "sha"))
                continue
            if needle.kind == "repository":
                if rel.lower().endswith(_YAML_SUFFIXES):
                    out.append(_Hit(pins, "repository", needle.matched, m.start(), m.end(), "", "short"))
                continue
            if needle.kind in ("key", "env") and _commented(data, start):
                continue  # `# KEY=…` is no assignment and `# key: …` no key (a version or image there is still shown)
            vstart, vend = m.span("v")
            value = data[vstart:vend].decode("ascii")
            fmt = pins.wanted(needle, value) if needle.kind not in ("commit", "release") else needle.fmt
            if fmt is not None:
                out.append(
                    _Hit(
                        pins,
                        needle.kind,
                        needle.matched,
                        vstart,
                        vend,
                        value,
                        fmt,
                        m.group().decode("utf-8", "replace"),
                        needle.pattern if needle.pattern is not None else _written(value) if fmt == "tag" else None,
                    )
                )
    return out


def _tag_like(value: str) -> bool:
    return re.fullmatch(_TAGLIKE.decode(), value) is not None


def _commented(data: bytes, offset: int) -> bool:
    """Whether `offset` is inside a `#` comment: the line starts with `#`, or a `#` after white
    space comes before it (YAML's and the shell's comments; a `#` inside quotes can fool this,
    which only hides a finding)."""
    line = data[data.rfind(b"\n", 0, offset) + 1 : offset]
    return line.lstrip().startswith(b"#") or b" #" in line or b"\t#" in line


def _written(value: str) -> str | None:
    """The tag pattern a release tag is written with, as far as it shows: `1.4.2` `{semver}`,
    `v1.4.2` the default (None)."""
    return None if value.startswith("v") else "{semver}"


def _releases(up: Upstream, candidates: list[str]) -> dict[str, str | None]:
    """Which of `candidates` (values that look like release tags) one of the upstream's releases
    gives through a pattern: its tag itself (`v1.4.2`), or its version (`1.4.2` for the tag
    `v1.4.2`); each with the tag pattern it is written with (None: `v{semver}`)."""
    if not candidates:
        return {}
    from promoter.semver import tag_version

    versions = {r.version for r in up.releases()}
    out: dict[str, str | None] = {}
    for value in candidates:
        v = tag_version(value)
        if v is not None and str(v) in versions:
            out[value] = _written(value)
    return out


def _commits(up: Upstream, candidates: list[str]) -> set[str]:
    """Which of `candidates` (full shas, short prefixes) name one commit of the upstream: one
    `git cat-file --batch-check` (a prefix several objects share is no answer)."""
    up.head()  # the mirror exists and holds the branch as it is now (fetched when it moved)
    found, _ = up.lookup(candidates)
    return set(found)


class _File:
    """One matched file: decoded and parsed at most once, however many hits it has."""

    def __init__(
        self,
        repo: core.Repo,
        rel: str,
        data: bytes,
        result: Discovery,
        commits: dict[str, list[tuple[str, bytes, _Hit]]] | None,
        covered: set[tuple[str, int]],
    ) -> None:
        self.repo = repo
        self.covered = covered
        self.rel = rel
        self.data = data
        self.result = result
        self.commits = commits
        self.text = data.decode("utf-8", "replace")
        self.ascii = data.isascii()
        self._roots: list[Node] | bool | None = False  # False: not parsed yet; None: not YAML

    def roots(self) -> list[Node] | None:
        if self._roots is False:
            self._roots = None
            if self.rel.lower().endswith(_YAML_SUFFIXES):
                try:
                    self._roots = self._compose()
                except YamlSyntaxError:
                    self._roots = None
        return self._roots if isinstance(self._roots, list) else None

    def _compose(self) -> list[Node]:
        """The file's YAML documents; the workspace's, composed once per command, when its text is
        the one read here (it is UTF-8 and unchanged)."""
        try:
            if self.repo.workspace.read(self.rel) == self.text:
                return self.repo.workspace.nodes(self.rel)
        except Refused:
            pass
        return compose(self.text)

    def char(self, offset: int) -> int:
        """The character offset of byte `offset`."""
        return offset if self.ascii else len(self.data[:offset].decode("utf-8", "replace"))

    def add(self, hits: list[_Hit]) -> None:
        by_comp: dict[str, list[tuple[_Hit, int, int, int]]] = {}  # hits as (hit, char start, char end, line)
        seen: set[tuple[str, int]] = set()
        for hit in hits:
            comp = hit.pins.component
            if hit.pins.ignore and any(g.fullmatch(self.rel) for g in hit.pins.ignore):
                continue  # the component's own ignore:
            if hit.kind == "saas":
                spots = self._saas_refs(hit.pins)
            elif hit.kind == "repository":
                spots = self._tag_beside(hit)
            else:
                start = self.char(hit.start)
                spots = [(hit, start, start + len(hit.value), self.data.count(b"\n", 0, hit.start) + 1)]
            for spot in spots:
                h, start, _, line = spot
                if (self.rel, line) in self.covered or (comp.name, start) in seen:
                    continue  # a target of this component, or of another (a monorepo's), covers it
                if h.kind in ("commit", "release") and self.commits is not None:
                    self.commits.setdefault(comp.name, []).append((self.rel, self.data, h))
                    continue
                if h.kind not in ("image", "saas") and comp.image and self._other_image(start, comp.image):
                    continue  # the tag of another image (one built from the same repository, say)
                seen.add((comp.name, start))
                by_comp.setdefault(comp.name, []).append(spot)
        for spots in by_comp.values():
            positions = {start for _, start, _, _ in spots}
            for hit, start, _, line in spots:
                self.result.findings.append(self._finding(hit, start, line, positions))

    def _other_image(self, start: int, image: str) -> bool:
        """Whether the value at character `start` is the tag of an image other than `image`: it
        follows `<another image>:` on its line, or its YAML mapping names another image
        (`repository:` beside a Helm `tag:`, a kustomize `images[]` item's `newName`/`name`)."""
        line_start, line_text = snippets.line_around(self.text, start)
        before = _IMAGE_REF.search(line_text[: start - line_start])
        if before is not None:
            return not same_image(before.group(1), image)
        roots = self.roots()
        if roots is None:
            return False
        from promoter.locate.jsonpath import place

        try:
            where = place(self.text, roots, start)
        except LocateError:
            return False
        return where is not None and where.image is not None and not same_image(where.image, image)

    def _tag_beside(self, hit: _Hit) -> list[tuple[_Hit, int, int, int]]:
        """The pinned tag beside the component's image where a YAML mapping names it on its own
        (Helm's `repository:`, a chart's `image:`, kustomize's `newName:`): the same mapping's
        `tag:`, `newTag:` or `digest:`."""
        roots = self.roots()
        if roots is None:
            return []
        comp = hit.pins.component
        at = self.char(hit.start)
        for root in roots:
            for node in walk(root):
                if not isinstance(node, Mapping) or not node.start <= at <= node.end:
                    continue
                named = any(
                    isinstance(v, Scalar) and (span := version_span(self.text, v)) is not None and span[0] == at
                    for _, v in node.pairs
                )
                if not named:
                    continue
                out = []
                formats: tuple[Format, ...] = ("sha", "short", "digest")
                for key in ("tag", "newTag", "digest"):
                    try:
                        value = single(node, key)
                    except LocateError:
                        continue
                    if not isinstance(value, Scalar) or (span := version_span(self.text, value)) is None:
                        continue
                    fmt = next((f for f in formats if comp.pinned(value.value, f)), None)
                    written = None
                    if fmt is None and (not comp.targets or comp.released) and _tag_like(value.value):
                        fmt, written = "tag", _written(value.value)  # the image's release tag
                    if fmt is not None:
                        tag = _Hit(
                            hit.pins,
                            "image",
                            comp.image or "",
                            -1,
                            -1,
                            value.value,
                            fmt,
                            f"{comp.image} {key}",
                            written,
                        )
                        out.append((tag, span[0], span[1], value.line))
                return out
        return []

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
            out.append((_Hit(pins, "saas", comp.repo, -1, -1, f.value, fmt), f.start, f.end, f.line))
        return out

    def _finding(self, hit: _Hit, start: int, line: int, positions: set[int]) -> Finding:
        comp = hit.pins.component
        line_start, line_text = snippets.line_around(self.text, start)
        target = snippets.target(comp, self.rel, self.text, self.roots(), hit.fmt, start, line, positions, hit.pattern)
        matched = hit.matched or hit.value
        if hit.kind in ("version", "image"):
            matched = hit.full or hit.value
        return Finding(
            comp.name,
            self.rel,
            line,
            start - line_start + 1,
            line_text.strip()[:200],
            hit.kind,
            matched,
            hit.value,
            hit.fmt,
            snippets.dump(target),
            target,
        )


__all__ = [
    "Discovery",
    "Finding",
    "Scanned",
    "config_file",
    "discover",
    "own_files",
    "same_image",
    "scan_targets",
    "uncovered",
]
