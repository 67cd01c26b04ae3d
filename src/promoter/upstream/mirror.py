"""The component's upstream repository: a cached bare mirror, revision resolution, ancestry.

The mirror lives under the cache directory (`$PROMOTER_CACHE_DIR`, else
`$XDG_CACHE_HOME/promoter`, else `~/.cache/promoter`), one per `fetch` location, cloned without
blobs. It is fetched only when something asked for is missing from it, or to learn the head of
the branch (after a cheap `ls-remote` says it moved; for a component pinned by release tags, the
same `ls-remote` lists the tags too, and a tag added, removed or moved is fetched).

Release tags: a tag `v<semver>` or `<semver>` (lightweight or annotated) names a release of the
upstream at its commit. A fetch that finds a tag naming another commit than the mirror had (a
tag moved: deleted and made again, or forced) writes it down in the mirror's `promoter-moved-tags`
(tag, the commit before, the commit after, when seen; one line each), kept as long as the mirror:
`moved_tags()` reads it, and a moved tag is never promoted.

Nothing here prints: what it waits for on the network (the first clone, a fetch, asking where the
branch is) is said to a `progress` callback, the Upstream's own or the one `reporting` sets for
every Upstream of a command (the CLI shows it on a terminal).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from promoter.errors import ExternalError, Refused, UsageError
from promoter.model import Component, Release
from promoter.upstream.git import Git, GitError
from promoter.upstream.revs import FULL_SHA, validate_rev
from promoter.urls import is_url, redact

_HEX_PREFIX = re.compile(r"[0-9a-f]{7,40}")
MOVED_TAGS = "promoter-moved-tags"  # in the mirror: the tags a fetch found moved


class Unreachable(ExternalError):
    """The upstream cannot be read: its path does not exist, or git cannot clone or fetch it."""


# transports git may use for an upstream (remote helpers such as ext:: and fd:: run commands)
SCHEMES = ("https", "http", "ssh", "git", "file", "git+ssh", "ssh+git")


Progress = Callable[[str], None]
_PROGRESS: ContextVar[Progress | None] = ContextVar("promoter_mirror_progress", default=None)


@contextlib.contextmanager
def reporting(progress: Progress | None) -> Iterator[None]:
    """Within the block, every Upstream without a callback of its own says what it waits for to
    `progress` (one short line each time)."""
    token = _PROGRESS.set(progress)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def cache_dir() -> Path:
    if os.environ.get("PROMOTER_CACHE_DIR"):
        return Path(os.environ["PROMOTER_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "promoter"


class Upstream:
    def __init__(self, component: Component, cache: Path | None = None, progress: Progress | None = None) -> None:
        self.component = component
        self.progress = progress
        import hashlib  # only when a mirror is needed (start-up)

        key = hashlib.sha256(component.fetch.encode()).hexdigest()[:16]
        self.path = (cache or cache_dir()) / "mirrors" / f"{component.name}-{key}.git"
        self.git = Git(self.path)
        self._fetched = False
        self._tags: dict[str, str] | None = None  # tag -> the commit it names (the mirror's, read once)

    # -- the mirror ---------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        progress = self.progress or _PROGRESS.get()
        if progress is not None:
            progress(text)

    def _source(self) -> str:
        fetch = self.component.fetch
        if not is_url(fetch):
            path = Path(fetch).expanduser()
            if not path.exists():
                raise Unreachable(f"{self.component.name}: upstream {fetch} does not exist")
            return str(path.resolve())
        if fetch.startswith("-") or ("://" in fetch and fetch.split("://", 1)[0].lower() not in SCHEMES):
            raise UsageError(f"{self.component.name}: refusing the git transport of {redact(fetch)}")
        return fetch  # a URL of a known transport, or scp-like user@host:path (ssh)

    def _ensure(self) -> None:
        if (self.path / "HEAD").exists():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExternalError(
                f"cannot use the cache directory {self.path.parent}: {exc.strerror}; "
                "set PROMOTER_CACHE_DIR to a writable directory"
            ) from None
        tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
        self._say(f"fetching {redact(self.component.fetch)} (first time: cloning)")
        try:
            Git(self.path.parent).run(
                "clone", "--bare", "--quiet", "--filter=blob:none", "--", self._source(), str(tmp)
            )
            Git(tmp).run("config", "remote.origin.fetch", "+refs/heads/*:refs/heads/*")
            os.replace(tmp, self.path)
        except GitError as exc:
            raise Unreachable(f"{self.component.name}: cannot clone {redact(self.component.fetch)}: {exc}") from None
        except OSError as exc:
            if not (self.path / "HEAD").exists():  # not just another run that cloned it first
                raise ExternalError(
                    f"cannot use the cache directory {self.path.parent}: {exc.strerror}; "
                    "set PROMOTER_CACHE_DIR to a writable directory"
                ) from None
        finally:
            import shutil  # only here: a failed clone's leftovers

            shutil.rmtree(tmp, ignore_errors=True)
        self._fetched = True  # a fresh clone has every branch and tag

    def fetch(self) -> None:
        self._say(f"fetching {redact(self.component.fetch)}")
        before = self._tag_commits()
        try:
            self.git.run("fetch", "--quiet", "--prune", "--tags", "--force", "origin")
        except GitError as exc:
            raise Unreachable(f"{self.component.name}: cannot fetch {redact(self.component.fetch)}: {exc}") from None
        self._fetched = True
        self._tags = None
        after = self._tag_commits()
        moved = [(tag, old, after[tag]) for tag, old in before.items() if after.get(tag, old) != old]
        if moved:
            from datetime import UTC, datetime

            when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            with open(self.path / MOVED_TAGS, "a", encoding="utf-8") as record:
                record.writelines(f"{tag}\t{old}\t{new}\t{when}\n" for tag, old, new in moved)

    def _has_commit(self, sha: str) -> bool:
        return self.git.ok("cat-file", "-e", f"{sha}^{{commit}}")

    # -- questions ----------------------------------------------------------------------------
    def branch(self) -> str:
        if self.component.branch:
            return self.component.branch
        self._ensure()
        head = self.git.run("symbolic-ref", "--short", "HEAD", check=False).stdout.strip()
        if not head:
            raise ExternalError(f"{self.component.name}: cannot tell the upstream's default branch; set 'branch'")
        return head

    def head(self) -> str:
        """The newest commit of the component's branch (fetched when the remote moved)."""
        self._ensure()
        return self.tip(self.branch())

    def tip(self, branch: str) -> str:
        """The newest commit of `branch` (fetched when the remote moved): the component's branch,
        or another (an app-interface target that tracks `ref: main`)."""
        self._ensure()
        if not self._fetched:
            self._say(f"asking {redact(self.component.fetch)} where {branch} is")
            released = self.component.released  # the tags too: a release made or moved is fetched
            refs = [f"refs/heads/{branch}", *(["refs/tags/*"] if released else [])]
            remote = self.git.run("ls-remote", "--", "origin", *refs, check=False)
            if remote.returncode != 0:
                raise Unreachable(f"{self.component.name}: upstream {redact(self.component.fetch)} is unreachable")
            listed: dict[str, str] = {}
            for line in remote.stdout.splitlines():
                obj, _, ref = line.partition("\t")
                listed[ref] = obj
            sha = listed.get(f"refs/heads/{branch}", "")
            if not sha:
                raise Refused(f"{self.component.name}: upstream has no branch '{branch}'")
            tags = {ref: obj for ref, obj in listed.items() if ref.startswith("refs/tags/") and "^" not in ref}
            if (
                not self._has_commit(sha)
                or self._local(f"refs/heads/{branch}") != sha
                or (released and tags != self._tag_objects())
            ):
                self.fetch()
        local = self._local(f"refs/heads/{branch}")
        if local is None:
            raise Refused(f"{self.component.name}: upstream has no branch '{branch}'")
        return local

    def _local(self, ref: str) -> str | None:
        proc = self.git.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
        return proc.stdout.strip() or None

    def resolve(self, rev: str | None) -> str:
        """A full sha for REV: a sha, a unique prefix of 7+ hex digits, a branch or a tag."""
        if rev is None:
            return self.head()
        validate_rev(rev)
        self._ensure()
        for attempt in range(2):
            sha = self._resolve_local(rev)
            if sha:
                return sha
            if attempt == 0 and not self._fetched:
                self.fetch()
        hint = ""
        if re.fullmatch(r"[0-9a-f]{1,6}", rev):
            hint = f"; a sha prefix needs at least 7 hex digits ('{rev}' has {len(rev)})"
        raise UsageError(
            f"{self.component.name}: no commit, branch or tag '{rev}' in {redact(self.component.fetch)}{hint}"
        )

    def _resolve_local(self, rev: str) -> str | None:
        if FULL_SHA.fullmatch(rev):
            return self._local(rev)  # peeled: the sha of an annotated tag object names its commit
        if not rev.startswith("refs/"):
            for ref in (f"refs/heads/{rev}", f"refs/tags/{rev}"):
                sha = self._local(ref)
                if sha:
                    return sha
        if _HEX_PREFIX.fullmatch(rev):
            return self._commit_with_prefix(rev)
        release = self.release_named(rev, fetch=False) if self.component.released else None
        return release.sha if release is not None else None

    # -- release tags -------------------------------------------------------------------------
    def _tag_objects(self) -> dict[str, str]:
        """Each tag ref of the mirror and the object it names (a commit, or an annotated tag)."""
        out = self.git.out("for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")
        return {ref: obj for ref, _, obj in (line.partition(" ") for line in out.splitlines())}

    def _tag_commits(self) -> dict[str, str]:
        """Each tag of the mirror and the commit it names (annotated tags peeled; a tag of a tree
        or a blob left out)."""
        if not (self.path / "HEAD").exists():
            return {}
        fields = "%(refname:strip=2)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(*objecttype)"
        out = self.git.out("for-each-ref", f"--format={fields}", "refs/tags")
        tags: dict[str, str] = {}
        nested: list[str] = []
        for line in out.splitlines():
            name, obj, kind, peeled, peeled_kind = line.split("\0")
            if kind == "commit":
                tags[name] = obj
            elif kind == "tag" and peeled_kind == "commit":
                tags[name] = peeled
            elif kind == "tag" and peeled_kind == "tag":  # a tag of a tag: rare, peeled by git
                nested.append(name)
        for name in nested:
            sha = self._local(f"refs/tags/{name}")
            if sha:
                tags[name] = sha
        return tags

    def tags(self) -> dict[str, str]:
        """Each tag of the upstream and the commit it names, as the mirror has them (fetched
        first when the remote's tags or branch changed: `head`)."""
        if self._tags is None:
            self.head()
            self._tags = self._tag_commits()
        return self._tags

    def releases(self) -> list[Release]:
        """Every release (a tag `v<semver>` or `<semver>` naming a commit), highest version first;
        a version two tags name (`v1.4.2`, `1.4.2`) once, by its `v` tag, unless they name two
        commits (then neither: `ambiguous` says which)."""
        from promoter.semver import tag_version

        by_version: dict[str, list[Release]] = {}
        for name, sha in self.tags().items():
            v = tag_version(name)
            if v is not None:
                by_version.setdefault(str(v), []).append(Release(name, str(v), sha))
        out = [
            sorted(rs, key=lambda r: not r.tag.startswith("v"))[0]
            for rs in by_version.values()
            if len({r.sha for r in rs}) == 1
        ]
        return sorted(out, key=lambda r: r.semver.key(), reverse=True)

    def ambiguous(self) -> dict[str, list[str]]:
        """The versions two tags name with different commits (`v1.4.2` and `1.4.2`): version -> tags."""
        from promoter.semver import tag_version

        seen: dict[str, dict[str, str]] = {}
        for name, sha in self.tags().items():
            v = tag_version(name)
            if v is not None:
                seen.setdefault(str(v), {})[name] = sha
        return {v: sorted(t) for v, t in seen.items() if len(set(t.values())) > 1}

    def not_semver(self) -> list[str]:
        """The tags that name no semantic version (`latest`, `release-2`): not releases."""
        from promoter.semver import tag_version

        return sorted(name for name in self.tags() if tag_version(name) is None)

    def release_named(self, rev: str, fetch: bool = True) -> Release | None:
        """The release `rev` names: a tag (`v1.4.2`), or a version (`1.4.2`, `v1.4.2` when the
        tag is `1.4.2`); None when none does."""
        from promoter.semver import tag_version

        version = tag_version(rev)
        if version is None:
            return None
        tags = self.tags() if fetch else (self._tags if self._tags is not None else self._tag_commits())
        if rev in tags:
            return Release(rev, str(version), tags[rev])
        for release in self.releases() if fetch else self._releases_in(tags):
            if release.version == str(version):
                return release
        return None

    def _releases_in(self, tags: dict[str, str]) -> list[Release]:
        from promoter.semver import tag_version

        out = []
        for name, sha in tags.items():
            v = tag_version(name)
            if v is not None:
                out.append(Release(name, str(v), sha))
        return out

    def release_of(self, value: str) -> Release | None:
        """The release a value pinned by a `format: tag` target names (read through the
        component's tag patterns), None when it names none the upstream has."""
        version = self.component.release_version(value)
        if version is None:
            return None
        return next((r for r in self.releases() if r.version == str(version)), None)

    def reachable_tags(self, head: str) -> set[str]:
        """The tags whose commit is in the history of `head` (one `git for-each-ref --merged`)."""
        out = self.git.out("for-each-ref", f"--merged={head}", "--format=%(refname:strip=2)", "refs/tags")
        return set(out.splitlines())

    def release_candidates(self, head: str | None = None) -> list[Release]:
        """The releases the component may be promoted to, highest version first: on its branch
        (in the history of `head`, default the branch's head), within its `constraint`, and no
        pre-release unless it allows them."""
        head = head or self.head()
        on_branch = self.reachable_tags(head)
        comp = self.component
        return [r for r in self.releases() if r.tag in on_branch and comp.allows(r.semver)]

    def releases_at(self, sha: str) -> list[Release]:
        """The releases on exactly commit `sha`, highest version first."""
        return [r for r in self.releases() if r.sha == sha]

    def moved_tags(self) -> dict[str, list[tuple[str, str, str]]]:
        """The tags a fetch of this mirror found moved: tag -> [(commit before, commit after, when)]."""
        try:
            text = (self.path / MOVED_TAGS).read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        out: dict[str, list[tuple[str, str, str]]] = {}
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) == 4:
                out.setdefault(parts[0], []).append((parts[1], parts[2], parts[3]))
        return out

    def _commit_with_prefix(self, prefix: str) -> str | None:
        """The one commit whose sha starts with `prefix`; an error when several do."""
        objects = self.git.run("rev-parse", f"--disambiguate={prefix}", check=False).stdout.split()
        if not objects:
            return None
        kinds = self.git.run("cat-file", "--batch-check=%(objectname) %(objecttype)", input="\n".join(objects)).stdout
        commits = [line.split()[0] for line in kinds.splitlines() if line.endswith(" commit")]
        if len(commits) > 1:
            raise UsageError(
                f"{self.component.name}: '{prefix}' is ambiguous ({', '.join(sorted(commits))}); give more digits"
            )
        return commits[0] if commits else None

    def find(self, value: str) -> str | None:
        """The full sha a deployed value (sha, short prefix, or a release tag its component's
        tag targets read) names, when upstream knows it."""
        self._ensure()
        if FULL_SHA.fullmatch(value):
            return self._local(value)
        if not _HEX_PREFIX.fullmatch(value) and self.component.released:
            release = self.release_of(value)
            return release.sha if release is not None else None
        try:
            return self._commit_with_prefix(value)
        except UsageError:
            return None  # ambiguous: shown as unknown rather than guessed

    def is_ancestor(self, old: str, new: str) -> bool:
        """Whether `old` is `new` or in its history."""
        proc = self.git.run("merge-base", "--is-ancestor", "--end-of-options", old, new, check=False)
        if proc.returncode > 1:
            raise ExternalError(f"{self.component.name}: git merge-base failed: {proc.stderr.strip()}")
        return proc.returncode == 0

    def commit_time(self, sha: str) -> int:
        """When `sha` was committed (landed), as a Unix time."""
        return int(self.git.out("show", "-s", "--format=%ct", "--end-of-options", sha))

    def missing(self, head: str, deployed: list[str]) -> list[tuple[str, int]]:
        """(sha, commit time) of the commits in `head` that are missing from any of `deployed`, newest first."""
        out: dict[str, int] = {}
        for d in deployed:
            log = self.git.out("log", "--format=%H %ct", f"{d}..{head}", "--")
            for line in log.splitlines():
                sha, when = line.split()
                out[sha] = int(when)
        return sorted(out.items(), key=lambda kv: -kv[1])

    def landed(self, sha: str, branch: str) -> int | None:
        """When `sha` landed on `branch`: the commit time of the first first-parent commit of the
        branch that holds it (itself, or the merge that brought it); None when the branch does not
        hold it. One rev-list, and a bisection of its first parents with merge-base."""
        tip = self.tip(branch)
        if not self.is_ancestor(sha, tip):
            return None
        chain = self.git.out("rev-list", "--first-parent", "--end-of-options", tip, "--").split()
        low, high = 0, len(chain) - 1  # chain[low] holds it; find the oldest one that does
        while low < high:
            mid = (low + high + 1) // 2
            if self.is_ancestor(sha, chain[mid]):
                low = mid
            else:
                high = mid - 1
        return self.commit_time(chain[low])

    def first_parents(self, head: str, limit: int) -> list[str]:
        """`head` and its first-parent ancestors, newest first, at most `limit`."""
        return self.git.out("rev-list", "--first-parent", f"--max-count={limit}", head, "--").split()

    def count(self, old: str, new: str) -> int:
        """How many commits `new` has that `old` does not."""
        return int(self.git.out("rev-list", "--count", f"{old}..{new}", "--"))

    def commit_graph(self, branch: str) -> list[tuple[str, int, tuple[str, ...]]]:
        """Every commit of `branch` as (sha, commit time, parents), each after its parents: one
        `git rev-list --topo-order --reverse --timestamp --parents`."""
        out = self.git.out(
            "rev-list", "--topo-order", "--reverse", "--timestamp", "--parents", "--end-of-options",
            f"refs/heads/{branch}", "--",
        )  # fmt: skip
        graph = []
        for line in out.splitlines():
            when, sha, *parents = line.split()
            graph.append((sha, int(when), tuple(parents)))
        return graph

    def lookup(self, values: list[str]) -> tuple[dict[str, str], set[str]]:
        """The commits deployed values (full shas, prefixes of 4+ hex digits) name, as `find` names
        them, asked in one `git cat-file --batch-check`: ({value: full sha}, the values several
        commits share). A value that names no commit is in neither."""
        asked = [v for v in dict.fromkeys(values) if re.fullmatch(r"[0-9a-f]{4,40}", v)]
        found: dict[str, str] = {}
        ambiguous: set[str] = set()
        if self.component.released:  # release tags: through the tags, read once
            for value in dict.fromkeys(values):
                if value not in asked:
                    release = self.release_of(value)
                    if release is not None:
                        found[value] = release.sha
        if not asked:
            return found, ambiguous
        self._ensure()
        answer = self.git.run(
            "cat-file", "--batch-check=%(objectname) %(objecttype)", input="".join(f"{v}\n" for v in asked)
        ).stdout.splitlines()
        for value, line in zip(asked, answer):
            name, _, kind = line.partition(" ")
            if kind == "commit":
                found[value] = name
            elif kind == "tag" and FULL_SHA.fullmatch(value):
                sha = self._local(value)  # an annotated tag's sha names its commit
                if sha:
                    found[value] = sha
            elif kind == "ambiguous":  # several objects: maybe one commit among trees and blobs
                try:
                    sha = self._commit_with_prefix(value)
                except UsageError:
                    ambiguous.add(value)
                    continue
                if sha:
                    found[value] = sha
        return found, ambiguous
