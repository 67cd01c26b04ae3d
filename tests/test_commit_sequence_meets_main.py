"""Where h/failures' commit sequence (claim, build, move_ref, then HEAD and the index) meets what
main gained meanwhile, on real repositories:

- the branch a promotion, hold, release or rollback is made from is recorded
  (`branch.<name>.promoterBase`, ship/deploy) when the branch is really made, never by a run that
  failed before its branch moved; a base that could not be recorded after the branch moved is
  recorded by the command that finishes the job;
- a promotion's commit, built before its files are written, carries the `Promoted-Hash:` trailer
  that proves it promoter's own (`commit.proven`), however git stores its files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.ship import commit as commits
from promoter.upstream.git import Git
from tests.conftest import git, snapshot
from tests.test_commit_failures import HOLD, ROLLBACK, finish_command, held, lock_index_after_the_branch_moved, status
from tests.test_commit_failures import world as failures_world
from tests.test_policy import World

world = failures_world  # the fixture: two upstreams, the config repository and its remote
__all__ = ["held"]  # the fixture: tests/test_policy.py's world, production held at c3


def base_of(repo: Path, branch: str) -> str:
    """The branch promoter recorded `branch` was made from ("" when none)."""
    return git(repo, "config", "--default", "", "--get", f"branch.{branch}.promoterBase")


def test_a_promotion_branch_records_its_base_only_once_it_is_made(world, run) -> None:  # type: ignore[no-untyped-def]
    """The branch's update-ref fails (a lock file of that ref): the branch is not made, and no base
    is recorded for it; once the cause is gone, the same command makes it and records main."""
    repo, r = world["repo"], world["r"]
    branch = f"promote/reconcile-{r[3][:7]}"
    lock = repo / ".git" / "refs" / "heads" / "promote" / f"reconcile-{r[3][:7]}.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 4, err
    assert "nothing was committed" in err
    assert snapshot(repo) == before and not git(repo, "branch", "--list", "promote/*")
    assert base_of(repo, branch) == ""  # nothing recorded for a branch that was never made
    lock.unlink()
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    assert git(repo, "branch", "--show-current") == branch and base_of(repo, branch) == "main"


@pytest.mark.parametrize("command", [HOLD, ROLLBACK], ids=["hold", "rollback"])
def test_hold_and_rollback_branches_record_the_branch_they_were_made_from(held: World, run, command) -> None:  # type: ignore[no-untyped-def]
    cfg = held.config
    code, out, err = run("-C", cfg, *command)
    assert code == 0, err
    branch = git(cfg, "branch", "--show-current")
    assert branch.startswith(command[0] + "/") and base_of(cfg, branch) == "main"
    assert status(cfg) == ""


def test_a_release_branch_records_the_branch_it_was_made_from(held: World, run) -> None:  # type: ignore[no-untyped-def]
    cfg = held.config
    git(cfg, "switch", "-q", "-c", "work")  # held on a branch of its own: the release is made from it
    assert run("-C", cfg, *HOLD)[0] == 0
    assert base_of(cfg, "hold/app-production") == "work"
    git(cfg, "switch", "-q", "work")
    git(cfg, "merge", "-q", "hold/app-production")
    code, out, err = run("-C", cfg, "release", "app", "--env", "production", "--commit")
    assert code == 0, err
    assert git(cfg, "branch", "--show-current") == "release/app-production"
    assert base_of(cfg, "release/app-production") == "work"


def test_a_base_that_could_not_be_recorded_is_recorded_by_the_command_that_finishes(world, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Right after the branch moved, git's config is locked (another git process writing it):
    the commit stays, HEAD stays on main (a promotion branch with no recorded base would be
    judged on the remote's default branch, or refused), and the message says so; the same command,
    once the lock is gone, records main as its base and brings HEAD onto it."""
    repo, r = world["repo"], world["r"]
    branch = f"promote/reconcile-{r[3][:7]}"
    lock_index_after_the_branch_moved(monkeypatch, repo, "config.lock")
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 4, err
    assert "could not lock config file" in err  # git's own reason
    made = git(repo, "rev-parse", branch)
    assert f"committed as {made[:12]} on branch {branch} (you are on main, whose working tree holds its files" in err
    assert git(repo, "branch", "--show-current") == "main" and base_of(repo, branch) == ""
    monkeypatch.undo()
    (repo / ".git" / "config.lock").unlink()
    code, out, err = run(*finish_command(err))
    assert code == 0, err
    assert f"{branch} already holds this promotion" in out
    assert git(repo, "branch", "--show-current") == branch and git(repo, "rev-parse", "HEAD") == made
    assert base_of(repo, branch) == "main" and status(repo) == ""


@pytest.mark.parametrize(
    ("how", "path"),
    [
        ("as-is", "commit"),
        ("gitattributes-crlf", "commit"),
        ("autocrlf", "commit"),
        ("as-is", "written-then-committed"),
        ("gitattributes-crlf", "written-then-committed"),
    ],
)
def test_a_promotion_commit_is_proven_promoters_own(world, run, how, path) -> None:  # type: ignore[no-untyped-def]
    """The commit built before the files are written (`--commit`), and the one that commits files
    an earlier run wrote: each has the `Promoted-Hash:` of what it writes, so `commit.proven`
    counts it promoter's own (reconcile does not take it for a person's work), also when git
    stores its files otherwise than they are written (CRLF)."""
    repo, r = world["repo"], world["r"]
    if how == "gitattributes-crlf":
        (repo / ".gitattributes").write_text("*.yaml text eol=crlf\n")
        git(repo, "add", ".gitattributes")
        git(repo, "commit", "-qm", "yaml files in CRLF")
    elif how == "autocrlf":
        git(repo, "config", "core.autocrlf", "true")
    if how != "as-is":
        git(repo, "rm", "-q", "--cached", "-r", ".")
        for f in ("saas.yaml", ".env"):
            (repo / f).unlink()
        git(repo, "reset", "-q", "--hard")  # checked out again: CRLF in the working tree, LF in git
        assert b"\r\n" in (repo / "saas.yaml").read_bytes()
    if path == "written-then-committed":
        assert run("-C", repo, "promote", "reconcile", r[3], "--yes")[0] == 0
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    head = git(repo, "rev-parse", "HEAD")
    assert git(repo, "branch", "--show-current") == f"promote/reconcile-{r[3][:7]}" and status(repo) == ""
    foreign, own = commits.proven(Git(repo), "main", "HEAD")
    assert foreign == [] and list(own) == [head]
    assert f"{commits.HASH_TRAILER}: {own[head]}" in git(repo, "log", "-1", "--format=%B", "HEAD")
