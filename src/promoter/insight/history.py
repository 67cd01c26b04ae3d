"""Every change of a component's pinned values in the config repository's history.

`build` runs one `git log` limited to the targets' files (globs as `:(glob)` pathspecs), then
reads every version of those files it needs (each touched commit and its first parent) through
one `git cat-file --batch` process, walking trees through the same process for `files:` globs.
Each distinct blob is located once per target with the same locators a promotion uses. A target
whose values differ between a commit and its parent (or, when the parent's version cannot be
read, the last version that could) changed in that commit. Nothing here prints.

With the upstream (`Upstream`), each change whose new value names one upstream commit also
gets its lead time (upstream commit time to promotion commit time) and how many commits of the
branch it was behind as of the promotion (`rev-list --count --before=<time> <value>..<branch>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from promoter.errors import ExternalError, PromoterError, Refused, UsageError
from promoter.locate import LocateError, classify, find
from promoter.locate.yamlnodes import YamlSyntaxError
from promoter.model import Component, Target
from promoter.pipeline.workspace import glob_regex
from promoter.upstream.git import CatFile, Git, GitError
from promoter.upstream.mirror import Upstream

_RS = "\x1e"
_FIELDS = ("%H", "%P", "%cI", "%an", "%ae", "%s")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class ConfigCommit:
    """A commit of the config repository."""

    sha: str
    parents: tuple[str, ...]
    date: datetime  # the commit (committer) date, with its own UTC offset
    author: str
    email: str
    subject: str


@dataclass
class Change:
    """One commit's change of the values of one or more targets (all from `old` to `new`)."""

    commit: ConfigCommit
    old: tuple[str, ...]
    new: tuple[str, ...]
    targets: list[str]
    environments: list[str]
    files: list[str]
    promoted: str | None = None  # the upstream commit `new` names, when known
    upstream_date: datetime | None = None
    lead_time: int | None = None  # seconds from the upstream commit to this promotion
    behind: int | None = None  # commits of the branch, as of this promotion, `new` did not have


@dataclass
class History:
    component: Component
    targets: list[Target]
    changes: list[Change]  # oldest first
    notes: list[str] = field(default_factory=list)
    branch: str | None = None  # the upstream branch, when the upstream was read
    upstream_error: str | None = None

    @property
    def environments(self) -> list[str]:
        return list(dict.fromkeys(t.environment for t in self.targets))

    def weeks(self) -> dict[str, int]:
        """Promotion commits per ISO week (`2024-W05`), oldest week first."""
        seen: dict[str, set[str]] = {}
        for ch in self.changes:
            year, week, _ = ch.commit.date.isocalendar()
            seen.setdefault(f"{year}-W{week:02d}", set()).add(ch.commit.sha)
        return {k: len(v) for k, v in sorted(seen.items())}


def parse_since(text: str) -> datetime:
    """An ISO date or date-time; without a UTC offset it is UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since takes an ISO date such as 2024-01-31, not '{text}'") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class _Reader:
    """The versions of the targets' files, read through one `git cat-file --batch`."""

    def __init__(self, cat: CatFile, comp: Component) -> None:
        self.cat = cat
        self.comp = comp
        self.trees: dict[str, list[tuple[str, str, str]]] = {}  # tree sha -> (mode, name, sha)
        self.located: dict[tuple[str, str], tuple[str, ...] | str] = {}  # (target, blob) -> values | problem

    def _tree(self, sha: str) -> list[tuple[str, str, str]]:
        if sha not in self.trees:
            got = self.cat.read([sha])[0]
            self.trees[sha] = _parse_tree(got[2], len(sha) // 2) if got is not None and got[1] == "tree" else []
        return self.trees[sha]

    def glob_files(self, commits: list[str], pattern: str) -> dict[str, list[tuple[str, str]]]:
        """Per commit, the (path, blob sha) of every file `pattern` matches there."""
        fixed = []
        for part in pattern.split("/"):
            if _GLOB_CHARS.search(part):
                break
            fixed.append(part)
        base = "/".join(fixed[:-1] if len(fixed) == len(pattern.split("/")) else fixed)
        regex = glob_regex(pattern)
        roots = self.cat.read([f"{c}:{base}" if base else f"{c}^{{tree}}" for c in commits])
        out: dict[str, list[tuple[str, str]]] = {}
        for commit, root in zip(commits, roots):
            files: list[tuple[str, str]] = []
            if root is not None and root[1] == "tree":
                self.trees.setdefault(root[0], _parse_tree(root[2], len(root[0]) // 2))
                self._walk(root[0], base, regex, files)
            out[commit] = sorted(files)
        return out

    def _walk(self, tree: str, prefix: str, regex: re.Pattern[str], files: list[tuple[str, str]]) -> None:
        for mode, name, sha in self._tree(tree):
            path = f"{prefix}/{name}" if prefix else name
            if mode == "40000":
                self._walk(sha, path, regex, files)
            elif mode in ("100644", "100755") and regex.fullmatch(path):
                files.append((path, sha))

    def locate(self, target: Target, path: str, blob: str, data: bytes) -> tuple[str, ...] | str:
        """The pinned values of `target` in one version of a file, or why there are none."""
        key = (target.name, blob)
        if key not in self.located:
            self.located[key] = _locate(self.comp, target, path, data)
        return self.located[key]


def _parse_tree(data: bytes, size: int) -> list[tuple[str, str, str]]:
    """(mode, name, object id) of each entry of a raw tree object whose ids have `size` bytes."""
    entries = []
    i = 0
    while i < len(data):
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        name = data[space + 1 : nul].decode("utf-8", "replace")
        entries.append((data[i:space].decode(), name, data[nul + 1 : nul + 1 + size].hex()))
        i = nul + 1 + size
    return entries


def _locate(comp: Component, target: Target, path: str, data: bytes) -> tuple[str, ...] | str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"{path}: not UTF-8 text"
    try:
        found = find(text, comp, target)
    except LocateError as exc:
        return f"{path}:{exc.line}: {exc.message}"
    except YamlSyntaxError as exc:
        return f"{path}:{exc.line}: invalid YAML: {exc.problem}"
    locations, _ = classify(text, path, comp, target, found)
    if not locations:
        return f"{path}: located no pinned value"
    return tuple(dict.fromkeys(loc.value for loc in locations))


@dataclass
class _Version:
    values: tuple[str, ...]
    files: dict[str, tuple[str, ...]]  # path -> its values


def _log(git: Git, pathspecs: list[str]) -> list[ConfigCommit]:
    out = git.run(
        "log",
        "--no-color",
        "--no-mailmap",
        "--no-renames",
        "--reverse",
        "--topo-order",
        "-z",
        "--format=" + "%x1e".join(_FIELDS),
        "HEAD",
        "--",
        *pathspecs,
    ).stdout
    commits = []
    for record in out.split("\0"):
        if not record.strip("\n"):
            continue
        sha, parents, date, name, email, subject = record.lstrip("\n").split(_RS, len(_FIELDS) - 1)
        commits.append(ConfigCommit(sha, tuple(parents.split()), datetime.fromisoformat(date), name, email, subject))
    return commits


def _pathspec(target: Target) -> str:
    if target.file is not None:
        return f":(literal){target.file}"
    return f":(glob){target.files}"


def _versions(
    reader: _Reader, target: Target, revs: list[str], notes: list[str], labels: dict[str, str]
) -> dict[str, _Version | None]:
    """The target's located values at each revision; None when it has none there."""
    if target.file is not None:
        blobs = reader.cat.read([f"{r}:{target.file}" for r in revs])
        files_at = {r: [(target.file, b[0])] if b is not None and b[1] == "blob" else [] for r, b in zip(revs, blobs)}
        data = {b[0]: b[2] for b in blobs if b is not None}
    else:
        assert target.files is not None
        files_at = reader.glob_files(revs, target.files)
        need = sorted({sha for files in files_at.values() for _, sha in files})
        data = {}
        for sha, got in zip(need, reader.cat.read(need)):
            if got is not None:
                data[sha] = got[2]
    out: dict[str, _Version | None] = {}
    for rev in revs:
        files = files_at[rev]
        if not files:
            out[rev] = None
            continue
        per_file: dict[str, tuple[str, ...]] = {}
        problem = None
        for path, blob in files:
            found = reader.locate(target, path, blob, data.get(blob, b""))
            if isinstance(found, str):
                problem = found
                break
            per_file[path] = found
        if problem is not None:
            if rev in labels:  # a version of a touched commit, not just a parent read for comparison
                notes.append(f"{labels[rev]}: target '{target.name}' skipped: {problem}")
            out[rev] = None
            continue
        values = tuple(dict.fromkeys(v for vs in per_file.values() for v in vs))
        out[rev] = _Version(values, per_file)
    return out


def build(
    root: Path,
    comp: Component,
    targets: list[Target],
    upstream: Upstream | None = None,
    since: datetime | None = None,
) -> History:
    """Every change of `targets`' values in the history of the config repository at `root`."""
    git = Git(root)
    history = History(comp, targets, [])
    if not targets:
        return history
    if not git.ok("rev-parse", "--verify", "--quiet", "HEAD^{commit}"):
        return history
    commits = _log(git, list(dict.fromkeys(_pathspec(t) for t in targets)))
    revs = [c.sha for c in commits]
    parent = {c.sha: f"{c.sha}^" for c in commits if c.parents}
    # a merge changes a value only when it differs from every parent's (not just the first's)
    merged = {c.sha: [f"{c.sha}^{i}" for i in range(2, len(c.parents) + 1)] for c in commits if len(c.parents) > 1}
    wanted = list(dict.fromkeys([*revs, *parent.values(), *(r for rs in merged.values() for r in rs)]))
    labels = {c.sha: f"{c.sha[:12]} ({c.date:%Y-%m-%d})" for c in commits}
    per_commit: dict[str, dict[tuple[tuple[str, ...], tuple[str, ...]], Change]] = {}
    with CatFile(root) as cat:
        reader = _Reader(cat, comp)
        for target in targets:
            versions = _versions(reader, target, wanted, history.notes, labels)
            last: _Version | None = None
            for c in commits:
                now = versions[c.sha]
                before = versions.get(parent.get(c.sha, ""))
                before = before if before is not None else last
                if now is None:
                    continue
                others = [versions.get(r) for r in merged.get(c.sha, ())]
                if any(o is not None and o.values == now.values for o in others):
                    last = now
                    continue
                if before is not None and before.values != now.values:
                    key = (before.values, now.values)
                    group = per_commit.setdefault(c.sha, {})
                    ch = group.get(key)
                    if ch is None:
                        ch = group[key] = Change(c, before.values, now.values, [], [], [])
                    ch.targets.append(target.name)
                    if target.environment not in ch.environments:
                        ch.environments.append(target.environment)
                    changed = [p for p, vs in now.files.items() if before.files.get(p) != vs]
                    ch.files.extend(p for p in changed if p not in ch.files)
                last = now
    for c in commits:
        for ch in per_commit.get(c.sha, {}).values():
            if since is None or ch.commit.date >= since:
                history.changes.append(ch)
    if upstream is not None:
        _upstream_facts(history, upstream)
    return history


def _upstream_facts(history: History, up: Upstream) -> None:
    """Lead time and commits behind of every change whose new value names an upstream commit."""
    try:
        up.head()  # fetched when the branch moved
        branch = up.branch()
        history.branch = branch
        full: dict[str, str | None] = {}
        times: dict[str, int] = {}
        for ch in history.changes:
            if len(ch.new) != 1:
                continue
            value = ch.new[0]
            if value not in full:
                full[value] = None if value.startswith("sha256:") else up.find(value)
            sha = full[value]
            if sha is None:
                continue
            if sha not in times:
                times[sha] = up.commit_time(sha)
            when = int(ch.commit.date.timestamp())
            ch.promoted = sha
            ch.upstream_date = datetime.fromtimestamp(times[sha], UTC)
            ch.lead_time = when - times[sha]
            ch.behind = int(
                up.git.out(
                    "rev-list",
                    "--count",
                    f"--before={ch.commit.date.isoformat()}",
                    "--end-of-options",
                    f"{sha}..refs/heads/{branch}",
                    "--",
                )
            )
    except GitError as exc:
        history.upstream_error = str(exc)
    except PromoterError as exc:
        if not isinstance(exc, (ExternalError, Refused)):
            raise
        history.upstream_error = str(exc)
