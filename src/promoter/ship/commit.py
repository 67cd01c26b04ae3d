"""Turn an applied plan into a reviewable change: a branch, a commit, a push, a merge request.

Only the files the plan wrote are committed. A push the remote rejects because its branch moved
is retried on top of what the remote has (the plan recomputed there), never forced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from promoter.errors import ExternalError, Refused
from promoter.model import Config, Plan
from promoter.upstream.git import Git
from promoter.urls import redact

PUSH_TRIES = 3


@dataclass(frozen=True)
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


def holds(git: Git, ref: str, plan: Plan) -> bool:
    """Whether `ref`'s tree holds every file of the plan exactly as the plan would write it."""
    from promoter.upstream.git import CatFile

    with CatFile(git.cwd) as cat:
        got = cat.read([f"{ref}:{ch.file}" for ch in plan.changes])
    return all(g is not None and g[2] == ch.new_text.encode("utf-8") for g, ch in zip(got, plan.changes))


def start_branch(git: Git, branch: str, plan: Plan) -> bool:
    """Switch to `branch` for this promotion (local changes come along). Returns False when it
    exists and already holds this very promotion (a re-run): it is checked out as it is. A branch
    with no commit of its own (left by a run that was killed or failed before committing) is
    moved to HEAD and reused. Any other existing branch is refused: it holds something else."""
    ref = f"refs/heads/{branch}"
    if not git.ok("rev-parse", "--verify", "--quiet", ref):
        git.run("switch", "--quiet", "-c", branch)
        return True
    if git.ok("merge-base", "--is-ancestor", ref, "HEAD"):
        git.run("switch", "--quiet", "-C", branch)
        return True
    if holds(git, ref, plan):
        git.run("switch", "--quiet", branch)
        return False
    raise Refused(
        f"branch {branch} already exists and holds something else than this promotion; "
        "delete it (git branch -D " + branch + ") or set merge_request.branch"
    )


def abandon_branch(git: Git, branch: str, back_to: str) -> None:
    """Go back to `back_to` and drop `branch` when it holds no commit of its own."""
    git.run("switch", "--quiet", back_to, check=False)
    if git.ok("merge-base", "--is-ancestor", f"refs/heads/{branch}", back_to):
        git.run("branch", "--quiet", "-D", branch, check=False)


def commit(git: Git, files: list[str], branch: str, subject: str, text: str) -> BranchCommit:
    """Commit exactly `files` (whatever else is staged stays staged)."""
    git.run("commit", "--quiet", "--no-edit", "-F", "-", "--", *files, input=text)
    return BranchCommit(branch, git.out("rev-parse", "HEAD"), subject, text)


def push(
    git: Git,
    remote: str,
    branch: str,
    options: list[str],
    redo: Callable[[], bool],
    tries: int = PUSH_TRIES,
) -> None:
    """Push `branch`; when the remote's branch moved, rebuild on top of it with `redo` and try again.

    `redo` is called with the local branch reset to the remote's; it re-plans and commits, and
    returns False when the remote already holds the promotion (nothing left to push).
    """
    opts = [x for o in options for x in ("-o", o)]
    ref = f"refs/heads/{branch}"
    for attempt in range(1, tries + 1):
        proc = git.run("push", "--porcelain", "--quiet", *opts, remote, f"{ref}:{ref}", check=False)
        if proc.returncode == 0:
            return
        rejected = "[rejected]" in proc.stdout or "non-fast-forward" in proc.stderr or "fetch first" in proc.stderr
        if not rejected:
            detail = redact(proc.stderr.strip() or proc.stdout.strip())
            raise ExternalError(f"git push to {remote} failed: {detail}")
        if attempt == tries:
            break
        tracking = f"refs/promoter/{remote}/{branch}"
        git.run("fetch", "--quiet", remote, f"+{ref}:{tracking}")
        git.run("reset", "--quiet", "--keep", tracking)
        if not redo():
            return
    raise Refused(f"{remote} kept moving {branch}; gave up after {tries} tries (nothing was forced)")
