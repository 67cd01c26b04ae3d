"""Turn an applied plan into a reviewable change: a branch, a commit, a push, a merge request.

Only the files the plan wrote are committed. A push the remote rejects because its branch moved
is retried on top of what the remote has (the plan recomputed there), never forced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from promoter.errors import ExternalError, Refused
from promoter.model import Config, FileChange, Plan
from promoter.records import record
from promoter.upstream.git import Git, exit_status
from promoter.urls import redact

PUSH_TRIES = 3
SIGNALLED_TRIES = 3  # a local `git push` killed by a signal, tried again


@record(frozen=True)
class BranchCommit:
    branch: str
    sha: str
    subject: str
    message: str


_UNSAFE_IN_REF = re.compile(r"[^A-Za-z0-9._-]+")


def branch_name(config: Config, plan: Plan) -> str:
    """`merge_request.branch` for this promotion. When it promotes only some of the component's
    targets, the branch says which (the environments, or the targets when an environment is only
    partly promoted), so one environment first and then the rest are two branches, never one."""
    comp = plan.component
    chosen = {tc.target.name for tc in plan.targets}
    scope = ""
    if chosen != {t.name for t in comp.targets}:
        envs = sorted({tc.target.environment for tc in plan.targets})
        whole = all(t.name in chosen for t in comp.targets if t.environment in envs)
        scope = "-".join(envs if whole else sorted(chosen))
        scope = _UNSAFE_IN_REF.sub("-", scope).strip(".-") or "some"
    template = config.merge_request.branch
    name = template.format(component=comp.name, short=comp.short(plan.sha), sha=plan.sha, environments=scope or "all")
    return name if not scope or "{environments}" in template else f"{name}-{scope}"


def current_branch(git: Git) -> str | None:
    return git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip() or None


def remote_url(git: Git, remote: str) -> str:
    """The URL a remote names as configured (before any insteadOf rewriting, which may point a
    GitHub URL at a mirror): what tells the forge and the project."""
    configured = git.run("config", "--get", f"remote.{remote}.url", check=False).stdout.strip()
    return configured or remote


def remote_head(git: Git, remote: str) -> str | None:
    """The default branch of `remote` (what its HEAD points at), None when it cannot be told."""
    proc = git.run("ls-remote", "--symref", remote, "HEAD", check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
            return line[len("ref: refs/heads/") : -len("\tHEAD")]
    return None


def brings_nothing(git: Git, remote: str, tip: str, target: str) -> bool:
    """Whether commit `tip` brings nothing to `remote`'s branch `target`: every file it changed
    since it forked from `target` is already there as `tip` has it (a branch with no change of
    its own, or one merged since). Fetches `target` (its objects, no ref moved but FETCH_HEAD)."""
    proc = git.run("fetch", "--quiet", "--no-tags", remote, f"refs/heads/{target}", check=False)
    if proc.returncode != 0:
        said = redact(proc.stderr.strip() or exit_status(proc.returncode))
        raise ExternalError(f"cannot fetch {target} from {remote} to compare the promotion with it: {said}")
    there = git.out("rev-parse", "FETCH_HEAD")
    fork = git.run("merge-base", tip, there, check=False).stdout.strip()
    if not fork:
        return False  # unrelated histories: nothing to tell
    changed = [f for f in git.run("diff", "--name-only", "-z", "--no-renames", fork, tip, "--").stdout.split("\0") if f]
    return not changed or git.ok("diff", "--quiet", "--no-renames", there, tip, "--", *changed)


def holds(git: Git, ref: str, changes: Sequence[FileChange]) -> bool:
    """Whether `ref`'s tree holds every file of `changes` as committing them would store it (the
    blob `git add` makes of the new text at that path: eol and clean filters applied)."""
    listed = git.run("ls-tree", "-z", "--full-tree", ref, "--", *[ch.file for ch in changes]).stdout
    have = {e.split("\t", 1)[1]: e.split(" ", 2)[2].split("\t", 1)[0] for e in listed.split("\0") if "\t" in e}
    return all(have.get(ch.file) == blob(git, ch.file, ch.new_text, write=False) for ch in changes)


def blob(git: Git, path: str, text: str, write: bool = True) -> str:
    """The blob `git add` stores for `text` at `path`: the repository's attributes and config apply
    (`eol`, `text`, `core.autocrlf`, a `filter` the user's git config defines), so the commit holds
    what `git commit` would, and `git status` is clean after it."""
    return git.run("hash-object", *(["-w"] if write else []), f"--path={path}", "--stdin", input=text).stdout.strip()


def claim(git: Git, branch: str, changes: Sequence[FileChange]) -> str | None:
    """How `branch` takes this change, asked before anything is written: the value `update-ref`
    must find there when it moves ("" when the branch does not exist yet; its tip when it has no
    commit of its own, left by a run that was killed or failed before committing: it is taken
    over), or None when it exists and already holds this very change (a re-run). Any other
    existing branch is refused: it holds something else."""
    ref = f"refs/heads/{branch}"
    tip = git.run("rev-parse", "--verify", "--quiet", ref, check=False).stdout.strip()
    if not tip:
        return ""
    if git.ok("merge-base", "--is-ancestor", ref, "HEAD"):
        return tip
    if holds(git, ref, changes):
        return None
    raise Refused(
        f"branch {branch} already exists and holds something else than this change; "
        "delete it (git branch -D " + branch + ") or set merge_request.branch"
    )


def check_can_commit(git: Git) -> None:
    """Before anything is written for `--commit`/`--push`: git can commit here. A held index lock
    (which `git reset` and `git switch` need once the commit is made) and a missing identity are
    refused now, with nothing written, rather than found half-way."""
    rel = git.out("rev-parse", "--git-path", "index.lock")
    if (git.cwd / rel).exists():
        raise Refused(
            f"{rel} exists: another git process is running, or a crashed one left it: remove it once "
            "none runs; nothing was written"
        )
    for var in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
        proc = git.run("var", var, check=False)
        if proc.returncode != 0:
            said = [line for line in proc.stderr.splitlines() if line.startswith(("fatal:", "error:"))]
            reason = said[-1] if said else proc.stderr.strip() or exit_status(proc.returncode)
            raise Refused(
                f"git has no identity to commit with ({reason}); set one: git config --global user.name "
                "'Your Name' and git config --global user.email you@example.com (or GIT_AUTHOR_NAME, "
                "GIT_AUTHOR_EMAIL, GIT_COMMITTER_NAME, GIT_COMMITTER_EMAIL); nothing was written"
            )


class Landed(ExternalError):
    """The commit is on its branch, but what follows it failed (HEAD onto the branch, the index
    entries of its files). The commit is never undone: `made` is where it is, `on` the branch HEAD
    is on now (None: detached)."""

    def __init__(self, message: str, made: BranchCommit, on: str | None) -> None:
        super().__init__(message)
        self.made = made
        self.on = on


def commit(
    git: Git,
    branch: str,
    old: str,
    base: str,
    contents: dict[str, str],
    subject: str,
    text: str,
    start: str | None,
    built: str | None = None,
) -> BranchCommit:
    """Commit exactly the planned `contents` (repo-relative path -> text) on `branch` (found at
    `old`, see `claim`), on top of `base`, whatever the index or the working tree hold meanwhile
    (see `commit_ref`; `built`: the commit, when `build` made it already), then bring HEAD onto
    the branch when it is still on `start` at `base` (the working tree holds the files already:
    nothing is checked out) and the index entries of the committed files up to it, so the tree
    looks clean. A failure before the branch moved leaves it as it was (the caller puts its files
    back); after, it is a `Landed`: the commit stays, and the message says where.

    A branch this makes (or takes over) from `start` records `start` as the branch it was made
    from (`ship.deploy.record_base`), before HEAD moves onto it: what ran is read from there,
    never from the promotion's own unmerged commit."""
    from promoter.ship.deploy import record_base

    sha = built or build(git, base, contents, text)
    move_ref(git, f"refs/heads/{branch}", sha, old, subject, f"branch {branch}")
    made = BranchCommit(branch, sha, subject, text)
    try:
        if start is not None and start != branch:
            record_base(git, branch, start)
        if start is not None and current_branch(git) == start and git.out("rev-parse", "HEAD") == base:
            git.run("symbolic-ref", "-m", f"promoter: {subject}", "HEAD", f"refs/heads/{branch}")
        if current_branch(git) == branch:
            git.run("reset", "--quiet", "--", *contents)  # the index follows the commit for these files
    except ExternalError as exc:
        raise Landed(str(exc), made, current_branch(git)) from None
    return made


def commit_ref(git: Git, ref: str, base: str, contents: dict[str, str], subject: str, text: str, what: str = "") -> str:
    """The commit of `contents` on top of `base` (`build`), and `ref` moved to it only if it is
    still at `base` (`move_ref`)."""
    sha = build(git, base, contents, text)
    move_ref(git, ref, sha, base, subject, what or ref)
    return sha


def build(git: Git, base: str, contents: dict[str, str], text: str) -> str:
    """The commit of `contents` on top of `base`, its objects only: no ref moves, no file is
    written, so a failure here (a full disk, a signing key that is not there) leaves nothing to
    undo. The tree is built in a private index (`base`'s tree plus the planned blobs, each stored
    as `git add` stores it at its path), the commit with `commit-tree` (no hook runs, so nothing
    can change what is committed; `commit.gpgsign` and its signing key are honoured, as `git
    commit` does)."""
    import tempfile

    paths = list(contents)
    listed = git.run("ls-tree", "-z", "--full-tree", base, "--", *paths).stdout
    modes = {entry.split("\t", 1)[1]: entry.split(" ", 1)[0] for entry in listed.split("\0") if "\t" in entry}
    try:
        with tempfile.TemporaryDirectory(prefix="promoter-index-") as tmp:
            env = {"GIT_INDEX_FILE": f"{tmp}/index"}
            git.run("read-tree", base, env=env)
            for path, data in contents.items():
                sha = blob(git, path, data)
                git.run("update-index", "--add", "--cacheinfo", f"{modes.get(path, '100644')},{sha},{path}", env=env)
            tree = git.run("write-tree", env=env).stdout.strip()
        # commit-tree (plumbing) does not read commit.gpgsign: honour it as `git commit` would
        sign = git.run("config", "--type=bool", "--get", "commit.gpgsign", check=False).stdout.strip() == "true"
        return git.run("commit-tree", *(["-S"] if sign else []), tree, "-p", base, "-F", "-", input=text).stdout.strip()
    except ExternalError as exc:
        again = "once the cause above is gone, run the same command again"
        exc.args = (f"{exc}\nnothing was written or committed: {again}",)
        raise


def move_ref(git: Git, ref: str, sha: str, old: str, subject: str, what: str) -> None:
    """`ref` moved to `sha` with `update-ref`, only from `old` ("": it must not exist yet). A
    failure says git's reason, and whether it is that someone moved the ref meanwhile (refused)
    or something else (a lock file, permissions, a full disk); either way the ref did not move."""
    moved = git.run("update-ref", "-m", f"promoter: {subject}", ref, sha, old, check=False)
    if moved.returncode == 0:
        return
    said = redact(moved.stderr.strip() or moved.stdout.strip() or exit_status(moved.returncode))
    now = git.run("rev-parse", "--verify", "--quiet", ref, check=False).stdout.strip()
    if now != old:
        if not old:
            how = f"someone created it meanwhile (it is at {now[:12]})"
        else:
            how = f"it is at {now[:12]} now, no longer at {old[:12]}" if now else "someone deleted it meanwhile"
        raise Refused(
            f"{what} moved while promoter was committing: {how}; nothing was committed on it: look at what "
            "moved it, then run the command again"
        )
    raise ExternalError(f"git update-ref could not move {what} to the new commit: {said}; nothing was committed on it")


def trailers(git: Git, rev: str) -> dict[str, str]:
    """The trailers of commit `rev` (`Promoted-Component: x` -> {"Promoted-Component": "x"})."""
    out = git.run("log", "-1", "--format=%(trailers:only,unfold)", rev, "--", check=False).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            found.setdefault(key, value.strip())
    return found


def worktree_holds(git: Git, rev: str, files: list[str]) -> bool:
    """Whether the working tree holds `files` as commit `rev` does (present or absent alike),
    each file as `git add` would store it."""
    listed = git.run("ls-tree", "-z", "--full-tree", rev, "--", *files).stdout
    have = {e.split("\t", 1)[1]: e.split(" ", 2)[2].split("\t", 1)[0] for e in listed.split("\0") if "\t" in e}
    present = [f for f in files if (git.cwd / f).is_file()]
    if set(present) != set(have):
        return False
    hashed = git.run("hash-object", "--", *present).stdout.split() if present else []
    return all(have[f] == sha for f, sha in zip(present, hashed))


def resume(git: Git, branch: str, start: str | None, ours: Callable[[str], bool]) -> BranchCommit | None:
    """The commit an earlier run made on `branch` and could not finish (HEAD could not move onto
    it, or its index entries could not follow): `ours(tip)` says it is this very change, and the
    working tree holds its files as committed. HEAD is brought onto the branch (when it is on
    `start` at the commit's parent) and the index entries of its files up to it, as the earlier
    run would have (recording `start` as the branch it was made from, when the earlier run could
    not: `ship.deploy.record_base`). None when there is no such commit."""
    from promoter.ship.deploy import record_base, recorded_base

    ref = f"refs/heads/{branch}"
    tip = git.run("rev-parse", "--verify", "--quiet", ref, check=False).stdout.strip()
    if not tip or not ours(tip):
        return None
    parent = git.run("rev-parse", "--verify", "--quiet", f"{tip}^", check=False).stdout.strip()
    if not parent:
        return None
    listed = git.run("diff-tree", "--no-commit-id", "--name-only", "-r", "-z", parent, tip).stdout
    files = [f for f in listed.split("\0") if f]
    if not files or not worktree_holds(git, tip, files):
        return None
    on = current_branch(git)
    if on != branch:
        if on is None or on != start or git.out("rev-parse", "HEAD") != parent:
            return None
        if recorded_base(git, branch) is None:
            record_base(git, branch, start)
        git.run("symbolic-ref", "-m", "promoter: finish an earlier run", "HEAD", ref)
    if not git.ok("diff", "--cached", "--quiet", tip, "--", *files):
        git.run("reset", "--quiet", "--", *files)
    message = git.run("log", "-1", "--format=%B", tip, "--").stdout
    return BranchCommit(branch, tip, message.split("\n", 1)[0], message)


def preflight(git: Git, remote: str, options: bool) -> None:
    """Before anything is written: the remote exists and takes a push (and push options, when
    they open the merge request), tried with `git push --dry-run`, which sends nothing."""
    opts = ["-o", "promoter.preflight"] if options else []
    ref = "refs/heads/promoter-preflight"
    for _ in range(SIGNALLED_TRIES):
        proc = git.run("push", "--dry-run", "--porcelain", *opts, remote, f"HEAD:{ref}", check=False)
        if proc.returncode >= 0:
            break
        # killed by a signal: git push --dry-run to a local repository is at times killed by
        # SIGPIPE when receive-pack hangs up first on a busy machine; it sent nothing, so it is
        # tried again
    if proc.returncode != 0:
        said = redact(proc.stderr.strip() or proc.stdout.strip() or exit_status(proc.returncode))
        hint = ""
        if "push options" in said:
            hint = " (set merge_request.method: api, or let the server take push options)"
        raise ExternalError(f"cannot push to {remote}: {said}{hint}; nothing was written")


HASH_TRAILER = "Promoted-Hash"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def content_hash(component: str, files: dict[str, bytes]) -> str:
    """What a promotion writes, summed up: the component and each file it writes (repo-relative
    path) with the sha256 of its new content. Equal hashes, equal edits."""
    import hashlib

    h = hashlib.sha256(component.encode())
    for path in sorted(files):
        h.update(b"\0" + path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return h.hexdigest()


def proven(git: Git, base: str, tip: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The commits in `tip` that are not in `base`: (sha, subject) of those promoter cannot prove
    it made, and the content hash of each one it can (sha -> hash).

    A commit is promoter's own only when its content is what promoter built: one parent, a
    `Promoted-Component:` and one `Promoted-Hash:` trailer, and the content hash of its actual
    change over its parent (files modified in place or added as regular files; nothing deleted,
    renamed or re-moded) equal to that trailer. Trailers alone prove nothing: a person's
    `git commit --amend` keeps them, but a different content no longer matches its hash. An amend
    that changes only the message or the author keeps the content promoter built, and stays its own.
    """
    trailers = f"%(trailers:key=Promoted-Component,valueonly)%x1f%(trailers:key={HASH_TRAILER},valueonly)"
    fmt = f"%H%x1f%P%x1f%s%x1f{trailers}%x1e"
    out = git.run("log", f"--format={fmt}", f"{base}..{tip}", "--").stdout
    foreign: list[tuple[str, str]] = []
    own: dict[str, str] = {}
    for entry in out.split("\x1e"):
        fields = entry.strip("\n").split("\x1f")
        if len(fields) != 5:
            continue
        sha, parents, subject, component, digest = (f.strip() for f in fields)
        if len(parents.split()) == 1 and _proves(git, parents, sha, component, digest):
            own[sha] = digest
        else:
            foreign.append((sha, subject))
    return foreign, own


def own_commits(git: Git, base: str, tip: str) -> list[tuple[str, str]]:
    """(sha, subject) of the commits in `tip` that are not in `base` and that promoter cannot
    prove it made (`proven`)."""
    return proven(git, base, tip)[0]


def _proves(git: Git, parent: str, sha: str, component: str, digest: str) -> bool:
    """Whether commit `sha`'s change over `parent` is exactly a promotion of `component` whose
    content hash is `digest`."""
    if not component or "\n" in component or not _HEX64.fullmatch(digest):
        return False
    raw = git.run("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", parent, sha, check=False)
    if raw.returncode != 0:
        return False
    items = raw.stdout.split("\0")
    paths: list[str] = []
    for meta, path in zip(items[0::2], items[1::2]):
        parts = meta.lstrip(":").split(" ")
        if len(parts) != 5:
            return False
        old_mode, new_mode, _, _, status = parts
        modified = status == "M" and old_mode == new_mode and new_mode in ("100644", "100755")
        added = status == "A" and new_mode == "100644"
        if not (modified or added):
            return False
        paths.append(path)
    if not paths:
        return False
    from promoter.upstream.git import CatFile

    with CatFile(git.cwd) as cat:
        blobs = cat.read([f"{sha}:{p}" for p in paths])
    if any(b is None for b in blobs):
        return False
    stored = {p: b[2] for p, b in zip(paths, blobs) if b is not None}
    if content_hash(component, stored) == digest:
        return True
    # git may store a text differently from how promoter wrote it (eol=crlf, core.autocrlf): the
    # content as git checks it out is then what promoter wrote
    checked_out = {}
    for p in paths:
        proc = git.run("cat-file", "--filters", f"{sha}:{p}", check=False)
        if proc.returncode != 0:
            return False
        checked_out[p] = proc.stdout.encode("utf-8")
    return content_hash(component, checked_out) == digest


def push(
    git: Git,
    remote: str,
    branch: str,
    done: BranchCommit,
    options: list[str],
    redo: Callable[[str], BranchCommit | None],
    tries: int = PUSH_TRIES,
) -> BranchCommit | None:
    """Push the promotion's commit `done` to `branch` of `remote`; when the remote's branch moved,
    rebuild on top of it with `redo` and try again. Returns the commit the remote now has (None:
    the remote already held the promotion).

    `redo(tip)` is called with the remote's tip fetched; it re-plans and re-checks there and
    returns the new commit, or None when the remote already holds the promotion. Never forced.
    """
    opts = [x for o in options for x in ("-o", o)]
    ref = f"refs/heads/{branch}"
    current: BranchCommit | None = done
    for attempt in range(1, tries + 1):
        assert current is not None
        for _ in range(SIGNALLED_TRIES):
            proc = git.run("push", "--porcelain", "--quiet", *opts, remote, f"{current.sha}:{ref}", check=False)
            if proc.returncode >= 0:
                break
            # killed by a signal (SIGPIPE when a local receive-pack hangs up first on a busy machine):
            # pushing the same commit again is harmless (no force: it lands once, or is rejected)
        if proc.returncode == 0:
            return current
        rejected = "[rejected]" in proc.stdout or "non-fast-forward" in proc.stderr or "fetch first" in proc.stderr
        if not rejected:
            detail = redact(proc.stderr.strip() or proc.stdout.strip() or exit_status(proc.returncode))
            raise ExternalError(f"git push to {remote} failed: {detail}")
        if attempt == tries:
            break
        tracking = f"refs/promoter/{remote}/{branch}"
        git.run("fetch", "--quiet", remote, f"+{ref}:{tracking}")
        current = redo(git.out("rev-parse", tracking))
        if current is None:
            return None
    raise Refused(f"{remote} kept moving {branch}; gave up after {tries} tries (nothing was forced)")
