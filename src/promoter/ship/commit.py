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
    """Whether `ref`'s tree holds every file of `changes` exactly as they would write it."""
    from promoter.upstream.git import CatFile

    with CatFile(git.cwd) as cat:
        got = cat.read([f"{ref}:{ch.file}" for ch in changes])
    return all(g is not None and g[2] == ch.new_text.encode("utf-8") for g, ch in zip(got, changes))


def start_branch(git: Git, branch: str, changes: Sequence[FileChange]) -> bool:
    """Switch to `branch` for this promotion (local changes come along). Returns False when it
    exists and already holds this very promotion (a re-run): it is checked out as it is. A branch
    with no commit of its own (left by a run that was killed or failed before committing) is
    moved to HEAD and reused. Any other existing branch is refused: it holds something else.

    The branch it was made from is recorded (`ship.deploy.record_base`): what ran is read from
    there, never from the promotion's own unmerged commit."""
    from promoter.ship.deploy import record_base

    ref = f"refs/heads/{branch}"
    here = current_branch(git)
    if not git.ok("rev-parse", "--verify", "--quiet", ref):
        git.run("switch", "--quiet", "-c", branch)
        if here is not None:
            record_base(git, branch, here)
        return True
    if git.ok("merge-base", "--is-ancestor", ref, "HEAD"):
        git.run("switch", "--quiet", "-C", branch)
        if here is not None and here != branch:
            record_base(git, branch, here)
        return True
    if holds(git, ref, changes):
        git.run("switch", "--quiet", branch)
        return False
    raise Refused(
        f"branch {branch} already exists and holds something else than this change; "
        "delete it (git branch -D " + branch + ") or set merge_request.branch"
    )


def abandon_branch(git: Git, branch: str, back_to: str) -> None:
    """Go back to `back_to` and drop `branch` when it holds no commit of its own."""
    git.run("switch", "--quiet", back_to, check=False)
    if git.ok("merge-base", "--is-ancestor", f"refs/heads/{branch}", back_to):
        git.run("branch", "--quiet", "-D", branch, check=False)


def commit(git: Git, branch: str, base: str, contents: dict[str, str], subject: str, text: str) -> BranchCommit:
    """Commit exactly the planned `contents` (repo-relative path -> text) on `branch`, on top of
    `base`, whatever HEAD, the index or the working tree hold meanwhile (see `commit_ref`). When
    HEAD is on `branch`, the index entries of the committed files are brought up to the commit,
    so the tree looks clean."""
    sha = commit_ref(git, f"refs/heads/{branch}", base, contents, subject, text, what=f"branch {branch}")
    if current_branch(git) == branch:
        git.run("reset", "--quiet", "--", *contents)  # the index follows the commit for these files
    return BranchCommit(branch, sha, subject, text)


def commit_ref(git: Git, ref: str, base: str, contents: dict[str, str], subject: str, text: str, what: str = "") -> str:
    """The commit of `contents` on top of `base`, and `ref` moved to it only if it is still at
    `base`. The tree is built in a private index (`base`'s tree plus the planned blobs, stored
    without filters), the commit with `commit-tree` (no hook runs, so nothing can change what is
    committed; `commit.gpgsign` and its signing key are honoured, as `git commit` does), and the ref moves with
    `update-ref` and the expected old value: one someone moved meanwhile is refused."""
    import tempfile

    paths = list(contents)
    listed = git.run("ls-tree", "-z", "--full-tree", base, "--", *paths).stdout
    modes = {entry.split("\t", 1)[1]: entry.split(" ", 1)[0] for entry in listed.split("\0") if "\t" in entry}
    with tempfile.TemporaryDirectory(prefix="promoter-index-") as tmp:
        env = {"GIT_INDEX_FILE": f"{tmp}/index"}
        git.run("read-tree", base, env=env)
        for path, data in contents.items():
            blob = git.run("hash-object", "-w", "--no-filters", "--stdin", input=data).stdout.strip()
            git.run("update-index", "--add", "--cacheinfo", f"{modes.get(path, '100644')},{blob},{path}", env=env)
        tree = git.run("write-tree", env=env).stdout.strip()
    # commit-tree (plumbing) does not read commit.gpgsign: honour it as `git commit` would
    sign = git.run("config", "--type=bool", "--get", "commit.gpgsign", check=False).stdout.strip() == "true"
    sha = git.run("commit-tree", *(["-S"] if sign else []), tree, "-p", base, "-F", "-", input=text).stdout.strip()
    moved = git.run("update-ref", "-m", f"promoter: {subject}", ref, sha, base, check=False)
    if moved.returncode != 0:
        raise Refused(
            f"{what or ref} moved while promoter was committing (it is no longer at {base[:12]}); "
            "nothing was committed on it: look at what moved it, then run the command again"
        )
    return sha


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
