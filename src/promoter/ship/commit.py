"""Turn an applied plan into a reviewable change: a branch, a commit, a push, a merge request.

Only the files the plan wrote are committed. A push the remote rejects because its branch moved
is retried on top of what the remote has (the plan recomputed there), never forced.
"""

from __future__ import annotations

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


def branch_name(config: Config, plan: Plan) -> str:
    return config.merge_request.branch.format(
        component=plan.component.name, short=plan.component.short(plan.sha), sha=plan.sha
    )


def current_branch(git: Git) -> str | None:
    return git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip() or None


def start_branch(git: Git, branch: str, component: str, sha: str) -> bool:
    """Switch to a new `branch` at HEAD (local changes come along). Returns False when the branch
    exists already and its tip is this very promotion (a re-run): then it is checked out as it is."""
    tip = git.run("log", "-1", "--format=%(trailers:only,unfold)", f"refs/heads/{branch}", "--", check=False)
    if tip.returncode == 0:
        trailers = set(tip.stdout.splitlines())
        if {f"Promoted-Component: {component}", f"Promoted-To: {sha}"} <= trailers:
            git.run("switch", "--quiet", branch)
            return False
        raise Refused(f"branch {branch} already exists and holds something else; delete it or set merge_request.branch")
    git.run("switch", "--quiet", "-c", branch)
    return True


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
