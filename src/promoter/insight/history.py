"""Every change of a component's pinned values in the config repository's history.

`build` runs one `git log` limited to the targets' files (globs as `:(glob)` pathspecs), then
reads the target's files at every commit it lists and at each of that commit's parents through
one `git cat-file --batch` process (walking trees for `files:` globs). A target changed in a
commit when its files there differ from those of each parent (blob for blob) and the values they
pin differ too; a merge whose files or values equal one parent's is no change of its own. Each
distinct blob is located once per target with the locators a promotion uses: a file that pins
nothing adds no value (a glob keeps the values of its other files), one that cannot be read keeps
the values its previous version had; both are noted. A file created or removed is a change from or
to no value. One commit is one change, with every target it changed.

With the upstream (`Upstream`), the branch's whole commit graph is read once (`rev-list`) and
each promoted value gets its lead time (upstream commit time to promotion commit time), how many
commits of the branch it lacked as of the promotion (what `rev-list --count --before=<time>
<value>..<branch>` counts), and whether it is an ancestor of the value it replaced (a rollback):
ancestor sets are bitsets over the branch's commits ranked by commit time, so every figure is a
popcount, and values off the branch fall back to one git call each. Nothing here prints; a
`progress` callback hears how far it got.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promoter.errors import ExternalError, PromoterError, Refused, UsageError
from promoter.locate import LocateError, classify, find
from promoter.locate.yamlnodes import YamlSyntaxError
from promoter.model import Component, SaasTargetLocator, Target
from promoter.pipeline.workspace import glob_regex
from promoter.records import field, record
from promoter.upstream.git import CatFile, Git, GitError
from promoter.upstream.mirror import Upstream

Progress = Callable[[str], None]

_RS = "\x1e"
_FIELDS = ("%H", "%P", "%cI", "%an", "%ae", "%s")
_GLOB_CHARS = re.compile(r"[*?\[]")
_HEX = re.compile(r"[0-9a-f]+")
_FULL = re.compile(r"[0-9a-f]{40}")
_CHUNK = 512  # revisions read between two progress reports


@record(frozen=True)
class ConfigCommit:
    """A commit of the config repository."""

    sha: str
    parents: tuple[str, ...]
    date: datetime  # the commit (committer) date, with its own UTC offset
    author: str
    email: str
    subject: str
    trust: tuple[tuple[str, str], ...] = ()  # the Trusted-* trailers of a promotion made with `trust:`


@record
class Facts:
    """What the upstream says of one promoted value."""

    promoted: str | None = None  # the upstream commit the value names
    upstream_date: datetime | None = None
    lead_time: int | None = None  # seconds from the upstream commit to the promotion
    behind: int | None = None  # commits of the branch, as of the promotion, the value did not have
    problem: str | None = None  # why `promoted` is unknown: "ambiguous", "not in upstream"


@record
class TargetChange:
    """How one target's values changed in one commit (`()`: the target pinned nothing)."""

    target: str
    environment: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    files: list[str]
    facts: Facts | None = None  # of its new value, when it has exactly one and the upstream was read
    rollback: bool | None = None  # None: not known (offline, or a value upstream cannot name)


@record
class Change:
    """One commit's change of one or more targets: `old` and `new` are their values, each version
    once (a full sha stands for its short prefix)."""

    commit: ConfigCommit
    old: tuple[str, ...]
    new: tuple[str, ...]
    target_changes: list[TargetChange]
    facts: dict[str, Facts] = field(default_factory=dict)  # per value of `new`, with the upstream

    @property
    def targets(self) -> list[str]:
        return [tc.target for tc in self.target_changes]

    @property
    def environments(self) -> list[str]:
        return list(dict.fromkeys(tc.environment for tc in self.target_changes))

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(f for tc in self.target_changes for f in tc.files))

    @property
    def rollback(self) -> bool | None:
        """True when a target went back to an ancestor of what it ran; None when not known."""
        flags = [tc.rollback for tc in self.target_changes]
        return True if True in flags else None if None in flags else False

    def _single(self) -> Facts | None:
        return self.facts.get(self.new[0]) if len(self.new) == 1 else None

    @property
    def promoted(self) -> str | None:
        f = self._single()
        return f.promoted if f else None

    @property
    def upstream_date(self) -> datetime | None:
        f = self._single()
        return f.upstream_date if f else None

    @property
    def lead_time(self) -> int | None:
        f = self._single()
        return f.lead_time if f else None

    @property
    def behind(self) -> int | None:
        f = self._single()
        return f.behind if f else None

    @property
    def unresolved(self) -> dict[str, str]:
        """The values of `new` the upstream names no commit for, and why."""
        return {v: f.problem for v, f in self.facts.items() if f.problem is not None}


@record(frozen=True)
class Note:
    """A version of a target's file that gave no value: `reason` is the same text for the same
    cause in the same file (notes are summarised by target and reason), `detail` says where."""

    commit: str
    date: datetime
    target: str
    reason: str  # "no pin in pipelines/tekton-c.yaml", "invalid YAML in deploy/prod.yaml"
    detail: str  # "deploy/prod.yaml:2: invalid YAML: did not find expected ',' or ']'"


@record(frozen=True)
class Segment:
    """What an environment's targets pinned from `start` to `end` (None: still)."""

    start: datetime
    end: datetime | None
    values: tuple[str, ...]
    change: Change | None  # the change that started it; None: it started before --since
    rollback: bool | None


@record(frozen=True)
class Clamp:
    """A first-parent commit dated after the time of judging (a committer's clock was wrong): what
    it brought is counted from `used` instead, the time of judging or, when earlier, the date of
    the first-parent commits made after it."""

    commit: ConfigCommit
    used: datetime


@record(frozen=True)
class Lag:
    """When each environment first ran one version."""

    version: str  # the upstream commit, or the pinned value when the upstream was not read
    arrivals: dict[str, datetime]  # environment -> first time, in the order they got it

    @property
    def seconds(self) -> int:
        times = list(self.arrivals.values())
        return int((max(times) - min(times)).total_seconds())


class BranchIndex:
    """The commits of the upstream branch ranked by commit time, and the ancestor set of each value
    asked for, as an int whose bit r is the commit of rank r.

    Built in one walk, parents before children; a commit's set is dropped once all its children
    have theirs (unless it is a value asked for), so memory stays at the width of the graph times
    N/8 bytes. `behind(v, t)` is `rev-list --count --before=t v..<branch>`: the commits committed
    at or before t (ranks below k) that v lacks, all of them reachable from the branch's head."""

    def __init__(self, graph: list[tuple[str, int, tuple[str, ...]]], keep: set[str], progress: Progress | None = None):
        order = sorted(range(len(graph)), key=lambda i: graph[i][1])
        rank = [0] * len(graph)
        for r, i in enumerate(order):
            rank[i] = r
        self.times = [graph[i][1] for i in order]
        self.time = {sha: when for sha, when, _ in graph}
        self.rank = {graph[i][0]: rank[i] for i in range(len(graph))}
        pos = {sha: i for i, (sha, _, _) in enumerate(graph)}
        children = [0] * len(graph)
        for _, _, parents in graph:
            for p in parents:
                j = pos.get(p)
                if j is not None:
                    children[j] += 1
        self.ancestors: dict[str, int] = {}
        live: dict[int, int] = {}
        meter = _Meter(progress, f"reading {len(graph)} upstream commits", len(graph))
        for i, (sha, _, parents) in enumerate(graph):
            bits = 1 << rank[i]
            for p in parents:
                j = pos.get(p)
                if j is None:
                    continue  # a shallow or grafted history
                bits |= live[j]
                children[j] -= 1
                if children[j] == 0:
                    del live[j]
            if children[i]:
                live[i] = bits
            if sha in keep:
                self.ancestors[sha] = bits
            meter.step()

    def __contains__(self, sha: str) -> bool:
        return sha in self.ancestors

    def behind(self, sha: str, when: int) -> int:
        k = bisect_right(self.times, when)
        return k - (self.ancestors[sha] & ((1 << k) - 1)).bit_count()

    def is_ancestor(self, old: str, new: str) -> bool:
        """Whether `old` is `new` or in its history (both asked for)."""
        return bool(self.ancestors[new] >> self.rank[old] & 1)


@record
class History:
    component: Component
    targets: list[Target]
    changes: list[Change]  # oldest first (parents before children)
    notes: list[Note] = field(default_factory=list)
    branch: str | None = None  # the upstream branch, when the upstream was read
    upstream_error: str | None = None
    since: datetime | None = None
    earlier: list[Change] = field(default_factory=list)  # before --since: what ran when the period starts
    resolved: dict[str, str] = field(default_factory=dict)  # value -> the upstream commit it names
    index: BranchIndex | None = None
    first_parent: bool = False  # what ran on the branch: its first-parent history (the policy's view)
    boundary: ConfigCommit | None = None  # a shallow clone's last commit, reached with the targets' files in it
    clamped: list[Clamp] = field(default_factory=list)  # first-parent commits dated after the time of judging
    until: datetime | None = None  # the end of the period asked for (--until); None: the last change
    landed: dict[str, datetime] = field(default_factory=dict)  # a change's commit -> when it reached the branch
    _timelines: dict[str, list[Segment]] = field(default_factory=dict)
    _versions: dict[str, str] = field(default_factory=dict)  # a short value -> the one full value it starts
    _runs: dict[str, list[tuple[datetime, tuple[str, ...], Change, bool | None]]] = field(default_factory=dict)

    def runs(self, env: str) -> list[tuple[datetime, tuple[str, ...], Change, bool | None]]:
        """Every state `env` was in, before --since too: from when (the change's date, or when it
        reached the branch), its values, the change that brought it, whether that was a rollback
        (None: not known); oldest first."""
        return self._runs.get(env, [])

    @property
    def environments(self) -> list[str]:
        return list(dict.fromkeys(t.environment for t in self.targets))

    def weeks(self, empty: bool = False) -> dict[str, tuple[int, int]]:
        """(promotions, rollbacks) per ISO week (`2024-W05`), oldest week first; with `empty`, the
        weeks between the first and the last that have none too."""
        seen: dict[str, list[int]] = {}
        for ch in self.changes:
            year, week, _ = ch.commit.date.isocalendar()
            seen.setdefault(f"{year}-W{week:02d}", [0, 0])[1 if ch.rollback else 0] += 1
        if empty and self.changes:
            day = min(ch.commit.date.date() for ch in self.changes)
            last = max(ch.commit.date.date() for ch in self.changes)
            day -= timedelta(days=day.weekday())
            while day <= last:
                year, week, _ = day.isocalendar()
                seen.setdefault(f"{year}-W{week:02d}", [0, 0])
                day += timedelta(days=7)
        return {k: (v[0], v[1]) for k, v in sorted(seen.items())}

    def version(self, value: str) -> str:
        """The version a value stands for: its upstream commit when known, else its longest form."""
        return self.resolved.get(value) or self._versions.get(value, value)

    def timeline(self, env: str) -> list[Segment]:
        """What `env` ran from the start of the period (--since) on, oldest first."""
        return self._timelines.get(env, [])

    def behind_at(self, env: str, times: list[int]) -> list[int | None]:
        """How many commits of the branch `env` lacked at each of `times` (Unix times; the most any
        of its values lacked); None where it ran nothing the branch has, or the upstream was not read."""
        segs = self.timeline(env)
        starts = [s.start.timestamp() for s in segs]
        out: list[int | None] = []
        for when in times:
            i = bisect_right(starts, when) - 1
            figures = []
            if i >= 0 and self.index is not None:
                for value in segs[i].values:
                    sha = self.resolved.get(value)
                    if sha is not None and sha in self.index:
                        figures.append(self.index.behind(sha, when))
            out.append(max(figures) if figures else None)
        return out

    def lags(self) -> list[Lag]:
        """Each version two or more environments ran, with when each first ran it; oldest first."""
        arrivals: dict[str, dict[str, datetime]] = {}
        for env in self.environments:
            for seg in self._timelines.get(env, []):
                for value in seg.values:
                    arrivals.setdefault(self.version(value), {}).setdefault(env, seg.start)
        lags = [
            Lag(v, dict(sorted(a.items(), key=lambda kv: kv[1])))
            for v, a in arrivals.items()
            if len(a) > 1 and (self.since is None or min(a.values()) >= self.since)
        ]
        return sorted(lags, key=lambda lag: min(lag.arrivals.values()))


def parse_since(text: str, option: str = "--since") -> datetime:
    """An ISO date or date-time; without a UTC offset it is UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} takes an ISO date such as 2024-01-31, not '{text}'") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def forms(values: Iterable[str]) -> tuple[str, ...]:
    """`values` with each version once, in order: a short sha is left out when a longer value among
    them starts with it (the longest form is kept; a release tag is never a form of another:
    `v1.4` is not `v1.4.2`)."""
    vs = list(dict.fromkeys(values))
    return tuple(v for v in vs if not any(_longer_form(w, v) for w in vs))


def _longer_form(w: str, v: str) -> bool:
    """Whether `w` is a longer form of the same version as `v` (a full sha of its short prefix)."""
    return len(w) > len(v) and w.startswith(v) and _HEX.fullmatch(w) is not None


def _longest(value: str, among: Iterable[str]) -> str:
    return max((w for w in among if w == value or _longer_form(w, value)), key=len, default=value)


def promoted_tags(root: Path, component: str, rev: str = "HEAD") -> dict[str, str]:
    """The release tags promoter promoted `component` to in the history of `rev` of the config
    repository at `root`, each with the commit it named then (its promotion commit's trailer
    `Promoted-Tag: v1.4.2 <sha>`; the newest promotion of a tag wins): what a moved tag is
    told by."""
    git = Git(root)
    if not git.ok("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"):
        return {}
    out = git.out(
        "log", "--fixed-strings", f"--grep=Promoted-Component: {component}", "--grep=Promoted-Tag: ", "--all-match",
        "--format=%(trailers:key=Promoted-Component,valueonly,separator=%x1f)%x1e"
        "%(trailers:key=Promoted-Tag,valueonly,separator=%x1f)%x1d",
        "--end-of-options", rev, "--",
    )  # fmt: skip
    seen: dict[str, str] = {}
    for entry in out.split("\x1d"):
        names, _, tags = entry.strip().partition("\x1e")
        if component not in names.split("\x1f"):
            continue
        for item in tags.split("\x1f"):
            tag, _, sha = item.strip().partition(" ")
            if tag and _FULL.fullmatch(sha):
                seen.setdefault(tag, sha)
    return seen


class _Meter:
    """Reports `label… N%` to `progress` each time the percentage moves."""

    def __init__(self, progress: Progress | None, label: str, total: int) -> None:
        self.progress, self.label, self.total = progress, label, max(total, 1)
        self.done = 0
        self.shown = -1
        self.step(0)

    def step(self, n: int = 1) -> None:
        if self.progress is None:
            return
        self.done += n
        pct = min(self.done * 100 // self.total, 100)
        if pct != self.shown:
            self.shown = pct
            self.progress(f"{self.label}… {pct}%")


@record(frozen=True)
class _Problem:
    reason: str
    detail: str
    readable: bool  # True: the file was read and pins nothing


_Located = tuple[str, ...] | _Problem
_Files = tuple[tuple[str, str], ...]  # (path, blob sha) of each file of a target, sorted


class _Reader:
    """The versions of the targets' files, read through one `git cat-file --batch`."""

    def __init__(self, cat: CatFile, comp: Component) -> None:
        self.cat = cat
        self.comp = comp
        self.trees: dict[str, list[tuple[str, str, str]]] = {}  # tree sha -> (mode, name, sha)
        self.located: dict[tuple[str, str, str], _Located] = {}  # (target, path, blob) -> values | problem

    def _tree(self, sha: str) -> list[tuple[str, str, str]]:
        if sha not in self.trees:
            got = self.cat.read([sha])[0]
            self.trees[sha] = _parse_tree(got[2], len(sha) // 2) if got is not None and got[1] == "tree" else []
        return self.trees[sha]

    def files(self, target: Target, revs: list[str], meter: _Meter) -> dict[str, _Files]:
        """The target's files at each revision, each version located (once per blob)."""
        out: dict[str, _Files] = {}
        for i in range(0, len(revs), _CHUNK):
            chunk = revs[i : i + _CHUNK]
            if target.file is not None:
                got = self.cat.read([f"{r}:{target.file}" for r in chunk])
                for rev, obj in zip(chunk, got):
                    if obj is None or obj[1] != "blob":
                        out[rev] = ()
                        continue
                    out[rev] = ((target.file, obj[0]),)
                    key = (target.name, target.file, obj[0])
                    if key not in self.located:
                        self.located[key] = _locate(self.comp, target, target.file, obj[2])
            else:
                assert target.files is not None
                found = self.glob_files(chunk, target.files)
                need = sorted(
                    {(p, b) for files in found.values() for p, b in files if (target.name, p, b) not in self.located}
                )
                blobs = self.cat.read(list(dict.fromkeys(b for _, b in need)))
                data = {obj[0]: obj[2] for obj in blobs if obj is not None}
                for path, blob in need:
                    self.located[(target.name, path, blob)] = _locate(self.comp, target, path, data.get(blob, b""))
                out.update(found)
            meter.step(len(chunk))
        return out

    def glob_files(self, commits: list[str], pattern: str) -> dict[str, _Files]:
        """Per commit, the (path, blob sha) of every file `pattern` matches there."""
        fixed = []
        for part in pattern.split("/"):
            if _GLOB_CHARS.search(part):
                break
            fixed.append(part)
        base = "/".join(fixed[:-1] if len(fixed) == len(pattern.split("/")) else fixed)
        regex = glob_regex(pattern)
        roots = self.cat.read([f"{c}:{base}" if base else f"{c}^{{tree}}" for c in commits])
        out: dict[str, _Files] = {}
        for commit, root in zip(commits, roots):
            files: list[tuple[str, str]] = []
            if root is not None and root[1] == "tree":
                self.trees.setdefault(root[0], _parse_tree(root[2], len(root[0]) // 2))
                self._walk(root[0], base, regex, files)
            out[commit] = tuple(sorted(files))
        return out

    def _walk(self, tree: str, prefix: str, regex: re.Pattern[str], files: list[tuple[str, str]]) -> None:
        for mode, name, sha in self._tree(tree):
            path = f"{prefix}/{name}" if prefix else name
            if mode == "40000":
                self._walk(sha, path, regex, files)
            elif mode in ("100644", "100755") and regex.fullmatch(path):
                files.append((path, sha))


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


def _locate(comp: Component, target: Target, path: str, data: bytes) -> _Located:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _Problem(f"{path} is not UTF-8 text", f"{path}: not UTF-8 text", False)
    try:
        found = find(text, comp, target)
    except LocateError as exc:
        return _Problem(f"cannot read the pin in {path}", f"{path}:{exc.line}: {exc.message}", False)
    except YamlSyntaxError as exc:
        return _Problem(f"invalid YAML in {path}", f"{path}:{exc.line}: invalid YAML: {exc.problem}", False)
    locations, tracking = classify(text, path, comp, target, found)
    if not locations and tracking and isinstance(target.locator, SaasTargetLocator):
        return ()  # a saas target that follows a branch (`ref: master`) then: no pin, and nothing wrong
    if not locations:
        return _Problem(f"no pin in {path}", f"{path}: located no pinned value", True)
    return tuple(dict.fromkeys(loc.value for loc in locations))


TRUST_TRAILERS = ("Trusted-Digest", "Trusted-Signer", "Trusted-Builder", "Trusted-Source", "Trusted-Tlog")
_TRAILERS = "%(trailers:" + ",".join(f"key={k}" for k in TRUST_TRAILERS) + ",unfold,separator=%x1f)"


def _log(
    git: Git,
    pathspecs: list[str],
    rev: str = "HEAD",
    first_parent: bool = False,
    trailers: bool = False,
    exclude: str | None = None,
) -> list[ConfigCommit]:
    """The commits of `rev` that touch `pathspecs`, oldest first (with `exclude`, only those it
    does not have: `exclude..rev`); with `trailers`, each with the trust evidence its message's
    trailers record (`Trusted-*`, written by a promotion)."""
    fields = (*_FIELDS, _TRAILERS) if trailers else _FIELDS
    out = git.run(
        "log",
        "--no-color",
        "--no-mailmap",
        "--no-renames",
        "--reverse",
        "--topo-order",
        *(["--first-parent"] if first_parent else []),
        "-z",
        "--format=" + "%x1e".join(fields),
        "--end-of-options",
        rev,
        *([f"^{exclude}"] if exclude else []),
        "--",
        *pathspecs,
    ).stdout
    commits = []
    for entry in out.split("\0"):
        if not entry.strip("\n"):
            continue
        sha, parents, date, name, email, subject, *rest = entry.lstrip("\n").split(_RS, len(fields) - 1)
        trust = tuple(
            (k.strip(), v.strip()) for k, _, v in (t.partition(":") for t in "".join(rest).split("\x1f")) if v.strip()
        )
        commits.append(
            ConfigCommit(sha, tuple(parents.split()), datetime.fromisoformat(date), name, email, subject, trust)
        )
    return commits


def last_change(root: Path, targets: list[Target], values: Iterable[str], rev: str = "HEAD") -> ConfigCommit | None:
    """The newest commit of `rev` that brought one of `values` into `targets`' files (git's
    pickaxe: a commit that changed how often the value occurs there): when what an environment
    runs was last promoted, and by whom. One `git log -1 -S` per value; None when none did."""
    git = Git(root)
    specs = list(dict.fromkeys(_pathspec(t) for t in targets))
    found: list[ConfigCommit] = []
    for value in dict.fromkeys(values):
        out = git.run(
            "log", "-1", "--no-color", "--no-mailmap", "-z", "--format=" + "%x1e".join(_FIELDS), f"-S{value}",
            "--end-of-options", rev, "--", *specs, check=False,
        ).stdout  # fmt: skip
        entry = out.split("\0")[0].strip("\n")
        if entry:
            sha, parents, date, name, email, subject = entry.split(_RS, len(_FIELDS) - 1)
            found.append(ConfigCommit(sha, tuple(parents.split()), datetime.fromisoformat(date), name, email, subject))
    return max(found, key=lambda c: c.date, default=None)


def _pathspec(target: Target) -> str:
    if target.file is not None:
        return f":(literal){target.file}"
    return f":(glob){target.files}"


def _target_changes(
    target: Target,
    commits: list[ConfigCommit],
    parents: dict[str, list[str]],
    files_at: dict[str, _Files],
    reader: _Reader,
    notes: list[Note],
    out: dict[str, list[TargetChange]],
    meter: _Meter,
) -> None:
    """Each commit's change of `target`, compared file by file with its parents."""
    located = reader.located
    carried: dict[tuple[str, str], tuple[str, ...]] = {}  # (path, unreadable blob) -> the values before it

    def values_of(path: str, blob: str) -> tuple[str, ...]:
        got = located[(target.name, path, blob)]
        if isinstance(got, tuple):
            return got
        return () if got.readable else carried.get((path, blob), ())

    def values(files: _Files) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for path, blob in files for v in values_of(path, blob)))

    for c in commits:
        meter.step()
        now = files_at[c.sha]
        befores = [files_at[p] for p in parents[c.sha]] or [()]
        if now in befores:
            continue  # the target's files are one parent's: nothing of it changed here
        maps = [dict(b) for b in befores]
        for path, blob in now:
            if any(m.get(path) == blob for m in maps):
                continue  # this version came from a parent
            got = located[(target.name, path, blob)]
            if isinstance(got, _Problem):
                notes.append(Note(c.sha, c.date, target.name, got.reason, got.detail))
                if not got.readable and (path, blob) not in carried:
                    prev = maps[0].get(path)
                    carried[(path, blob)] = values_of(path, prev) if prev is not None else ()
        new = values(now)
        olds = [values(b) for b in befores]
        if any(set(o) == set(new) for o in olds):
            continue  # the same values as a parent's (or a version that pins nothing new)
        now_map, first = dict(now), maps[0]
        changed = [
            p
            for p in sorted({*now_map, *first})
            if (values_of(p, now_map[p]) if p in now_map else ()) != (values_of(p, first[p]) if p in first else ())
        ]
        out.setdefault(c.sha, []).append(TargetChange(target.name, target.environment, olds[0], new, changed))


def build(
    root: Path,
    comp: Component,
    targets: list[Target],
    upstream: Upstream | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
    *,
    rev: str = "HEAD",
    first_parent: bool = False,
    now: datetime | None = None,
    until: datetime | None = None,
    landings: bool = False,
    exclude: str | None = None,
) -> History:
    """Every change of `targets`' values in the history of the config repository at `root`.

    With `until`, only the commits dated up to then count (the period ends there). With
    `landings`, each change is dated by when it reached `rev`'s first-parent history (a promotion
    made on a branch: the date of the merge that brought it; `History.landed`), and the
    timelines say what ran from then on. With `exclude` (a commit), only the commits `rev` has and
    it has not (`exclude..rev`: what reached the branch since).

    With `first_parent`, what ran on the branch `rev`: its first-parent history only, each commit
    compared with its first parent, so a merge commit brings (at its own date) what its branch
    changed, and the commits of that branch count for nothing; a shallow clone's last commit
    reached is `History.boundary`; with `now` (the time of judging), a commit dated after it is
    counted from `now` or the date of the commits made after it, when earlier (`History.clamped`).

    `progress`, when given, is called with a short line saying how far the work is."""
    git = Git(root)
    history = History(comp, targets, [], since=since, first_parent=first_parent, until=until)
    if not targets:
        return history
    if not git.ok("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"):
        return history
    if progress is not None:
        progress("reading the log of the targets' files…")
    pathspecs = list(dict.fromkeys(_pathspec(t) for t in targets))
    commits = _log(git, pathspecs, rev, first_parent, trailers=comp.trust is not None, exclude=exclude)
    if until is not None:
        commits = [c for c in commits if c.date <= until]
    if first_parent:
        parents = {c.sha: [f"{c.sha}^1"] if c.parents else [] for c in commits}
        if commits and not commits[0].parents and commits[0].sha in _shallow(git):
            history.boundary = commits[0]
    else:
        parents = {c.sha: [f"{c.sha}^{i}" for i in range(1, len(c.parents) + 1)] for c in commits}
    dates = _clamped(git, rev, commits, now, history) if first_parent and now is not None else {}
    wanted = list(dict.fromkeys([*(c.sha for c in commits), *(p for ps in parents.values() for p in ps)]))
    per_commit: dict[str, list[TargetChange]] = {}
    notes: list[Note] = []
    meter = _Meter(progress, f"reading {len(commits)} commits", len(targets) * (len(wanted) + len(commits)))
    with CatFile(root) as cat:
        reader = _Reader(cat, comp)
        for target in targets:
            files_at = reader.files(target, wanted, meter)
            _target_changes(target, commits, parents, files_at, reader, notes, per_commit, meter)
    rows = []
    for c in commits:
        tcs = per_commit.get(c.sha)
        if tcs:
            rows.append(Change(c, forms(v for tc in tcs for v in tc.old), forms(v for tc in tcs for v in tc.new), tcs))
    # a short value stands for the one full value of the history it starts (when only one does)
    shorts = {v for ch in rows for tc in ch.target_changes for vs in (tc.old, tc.new) for v in vs if len(v) < 40}
    fulls = {v for ch in rows for vs in (ch.old, ch.new) for v in vs if len(v) == 40}
    for size in {len(v) for v in shorts}:
        by_prefix: dict[str, list[str]] = {}
        for w in fulls:
            by_prefix.setdefault(w[:size], []).append(w)
        for v in shorts:
            if len(v) == size and len(by_prefix.get(v, ())) == 1:
                history._versions[v] = by_prefix[v][0]
    if upstream is not None:
        # what every target pins before and after each change: a short sha stands for the full
        # sha pinned beside it in the same commit (even when a promotion leaves that one as it is)
        state: dict[str, tuple[str, ...]] = {}
        pinned: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        for ch in rows:
            before = frozenset(v for vs in state.values() for v in vs)
            for tc in ch.target_changes:
                state[tc.target] = tc.new
            pinned[ch.commit.sha] = (before, frozenset(v for vs in state.values() for v in vs))
        _upstream_facts(history, rows, pinned, upstream, progress)
    if landings and not first_parent:
        dates = _landings(git, rev, rows)
    history.landed = {ch.commit.sha: dates.get(ch.commit.sha, ch.commit.date) for ch in rows}
    _timelines(history, rows, dates)
    history.changes = [ch for ch in rows if since is None or ch.commit.date >= since]
    history.earlier = [ch for ch in rows if since is not None and ch.commit.date < since]
    order = {c.sha: i for i, c in enumerate(commits)}
    history.notes = sorted(
        (n for n in notes if since is None or n.date >= since), key=lambda n: (order[n.commit], n.target)
    )
    return history


def _landings(git: Git, rev: str, rows: list[Change]) -> dict[str, datetime]:
    """When each change's commit reached `rev`'s first-parent history, for those not on it (made
    on a branch): the committer date of the first first-parent commit that has it, the merge that
    brought it. One `rev-list` of the first parents; the whole graph only when a change is off them."""
    first: dict[str, int] = {}
    for line in git.out("rev-list", "--first-parent", "--timestamp", "--end-of-options", rev, "--").splitlines():
        stamp, _, sha = line.partition(" ")
        first[sha] = int(stamp)
    off = {ch.commit.sha for ch in rows if ch.commit.sha not in first}
    if not off:
        return {}
    parents: dict[str, list[str]] = {}
    for line in git.out("rev-list", "--parents", "--end-of-options", rev, "--").splitlines():
        sha, *ps = line.split()
        parents[sha] = ps
    out: dict[str, datetime] = {}
    seen: set[str] = set()
    for sha in reversed(list(first)):  # oldest first: each brings what no earlier one had
        when = datetime.fromtimestamp(first[sha], UTC)
        stack = [sha]
        while stack and off:
            c = stack.pop()
            if c in seen:
                continue
            seen.add(c)
            if c in off:
                off.discard(c)
                out[c] = when
            stack += [p for p in parents.get(c, ()) if p not in seen]
        if not off:
            break
    return out


def _shallow(git: Git) -> set[str]:
    """The commits where a shallow clone's history stops (none in a whole clone)."""
    path = Path(git.out("rev-parse", "--git-path", "shallow"))
    try:
        text = (path if path.is_absolute() else git.cwd / path).read_text(encoding="ascii")
    except (FileNotFoundError, UnicodeDecodeError):
        return set()
    return set(text.split())


def _clamped(git: Git, rev: str, commits: list[ConfigCommit], now: datetime, history: History) -> dict[str, datetime]:
    """The date each first-parent commit dated after `now` is counted from: `now`, or the earliest
    date of the first-parent commits made after it that are not in the future themselves (it
    existed before they did)."""
    future = [c for c in commits if c.date > now]
    if not future:
        return {}
    limit = int(now.timestamp())
    bound = limit
    before: dict[str, int] = {}  # sha -> the earliest date of the commits after it (newest first)
    listed = git.out("rev-list", "--first-parent", "--timestamp", "--end-of-options", f"{future[0].sha}..{rev}", "--")
    for line in listed.splitlines():
        stamp, _, sha = line.partition(" ")
        before[sha] = bound
        if int(stamp) <= limit:
            bound = min(bound, int(stamp))
    before[future[0].sha] = bound
    out = {}
    for c in future:
        used = datetime.fromtimestamp(before.get(c.sha, limit), UTC)
        out[c.sha] = used
        history.clamped.append(Clamp(c, used))
    return out


def _timelines(history: History, rows: list[Change], dates: dict[str, datetime] | None = None) -> None:
    """Per environment, what its targets pinned after each change, from --since on (a change at
    its commit's date, or the one `dates` gives it)."""
    dates = dates or {}
    envs = history.environments
    of_env = {e: [t.name for t in history.targets if t.environment == e] for e in envs}
    state: dict[str, tuple[str, ...]] = {}
    segs: dict[str, list[tuple[datetime, tuple[str, ...], Change, bool | None]]] = {e: [] for e in envs}
    for ch in rows:
        for tc in ch.target_changes:
            state[tc.target] = tc.new
        for env in ch.environments:
            values = forms(v for t in of_env[env] for v in state.get(t, ()))
            mine = segs[env]
            if mine and set(mine[-1][1]) == set(values):
                continue
            when = dates.get(ch.commit.sha, ch.commit.date)
            start = max(when, mine[-1][0]) if mine else when  # a branch merged late
            flags = [tc.rollback for tc in ch.target_changes if tc.environment == env]
            rollback = True if True in flags else None if None in flags else False
            mine.append((start, values, ch, rollback))
    history._runs = {env: list(segs[env]) for env in envs}
    since = history.since
    for env in envs:
        out: list[Segment] = []
        for i, (start, values, ch, rollback) in enumerate(segs[env]):
            end = segs[env][i + 1][0] if i + 1 < len(segs[env]) else None
            if since is not None and end is not None and end <= since:
                continue
            if since is not None and start < since:
                out.append(Segment(since, end, values, None, None))
            else:
                out.append(Segment(start, end, values, ch, rollback))
        history._timelines[env] = out


def _upstream_facts(
    history: History,
    rows: list[Change],
    pinned: dict[str, tuple[frozenset[str], frozenset[str]]],
    up: Upstream,
    progress: Progress | None,
) -> None:
    """Lead time, commits behind and rollback of every change, from one read of the branch's graph."""

    def canonical(ch: Change, value: str, new: bool) -> str:
        """The longest form of `value` pinned on its side of the change (its commit or the parent)."""
        before, after = pinned[ch.commit.sha]
        return _longest(value, (*ch.new, *after) if new else (*ch.old, *before))

    try:
        if progress is not None:
            progress("reading the upstream…")
        up.head()  # fetched when the branch moved
        branch = up.branch()
        history.branch = branch
        graph = up.commit_graph(branch)
        on_branch = {sha for sha, _, _ in graph}
        values = {
            canonical(ch, v, new)
            for ch in rows
            for new, side in ((False, ch.old), (True, ch.new))
            for v in side
            if not v.startswith("sha256:")
        }
        found, ambiguous = up.lookup(sorted(v for v in values if v not in on_branch))
        resolved = {v: v for v in values if v in on_branch}
        resolved.update(found)
        index = BranchIndex(graph, {s for s in resolved.values() if s in on_branch}, progress)
        history.index = index
        times: dict[str, int] = {}
        ancestry: dict[tuple[str, str], bool] = {}

        def upstream_time(sha: str) -> int:
            if sha not in times:
                times[sha] = index.time[sha] if sha in index.time else up.commit_time(sha)
            return times[sha]

        def is_ancestor(old: str, new: str) -> bool:
            if old in index and new in index:
                return index.is_ancestor(old, new)
            if (old, new) not in ancestry:
                ancestry[(old, new)] = up.is_ancestor(old, new)
            return ancestry[(old, new)]

        for ch in rows:
            when = int(ch.commit.date.timestamp())
            for value in ch.new:
                if value.startswith("sha256:"):
                    continue
                sha = resolved.get(canonical(ch, value, True))
                if sha is None:
                    ch.facts[value] = Facts(problem="ambiguous" if value in ambiguous else "not in upstream")
                    continue
                history.resolved.setdefault(value, sha)
                if sha in index:
                    behind = index.behind(sha, when)
                else:  # off the branch: what git counts, asked for this change
                    behind = int(
                        up.git.out(
                            "rev-list",
                            "--count",
                            f"--before={ch.commit.date.isoformat()}",
                            "--end-of-options",
                            f"{sha}..refs/heads/{branch}",
                            "--",
                        )
                    )
                t = upstream_time(sha)
                ch.facts[value] = Facts(sha, datetime.fromtimestamp(t, UTC), when - t, behind)
            for tc in ch.target_changes:
                news = forms(tc.new)
                new_sha = None
                if len(news) == 1:
                    tc.facts = ch.facts.get(_longest(news[0], ch.new))
                    new_sha = resolved.get(canonical(ch, news[0], True))
                    if new_sha is not None:
                        history.resolved.setdefault(news[0], new_sha)
                olds = {v: resolved.get(canonical(ch, v, False)) for v in forms(tc.old)}
                for v, sha in olds.items():
                    if sha is not None:
                        history.resolved.setdefault(v, sha)
                known = [sha for sha in olds.values() if sha is not None]
                if not news or not olds:
                    tc.rollback = False  # a file (or its pin) came or went
                elif new_sha is not None and known:
                    tc.rollback = any(o != new_sha and is_ancestor(new_sha, o) for o in known)
                if news and olds and tc.rollback is not True and up.component.released:
                    # a release tag: a lower version is a rollback, wherever its commit is
                    new_v = up.component.release_version(news[0])
                    old_vs = [up.component.release_version(v) for v in olds]
                    if new_v is not None and any(o is not None and new_v < o for o in old_vs):
                        tc.rollback = True
    except GitError as exc:
        history.upstream_error = str(exc)
    except PromoterError as exc:
        if not isinstance(exc, (ExternalError, Refused)):
            raise
        history.upstream_error = str(exc)
