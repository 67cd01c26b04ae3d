"""Failure paths of `--commit`/`--push` that tell the truth, on real repositories.

Whatever fails, the message says what is where, and the same command, run again once the cause
is gone, finishes the job: a held `.git/index.lock` or a missing identity is refused before
anything is written; a failure before the branch moved puts the files back; after it moved the
commit stays, the message says where it is and the exact command that finishes the job; a full
disk names git's error. The commit stores what `git commit` would for the repository's
attributes. Failures are real: lock files git itself refuses, a tmpfs that is full; a git
process is made to fail at one moment by creating the lock file it meets (another git process
starting then).
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from promoter.upstream.git import Git
from tests.conftest import git, snapshot
from tests.test_policy import MON, World, at, days_after
from tests.test_workflow import HOUR, NOW
from tests.test_workflow import commit as upstream_commit
from tests.test_workflow import world as workflow_world

world = workflow_world  # the fixture: two upstreams, the config repository and its remote

RunResult = tuple[int, str, str]


def finish_command(err: str) -> list[str]:
    """The command a message says finishes the job, as argv for the CLI (without `promoter`)."""
    found = re.search(r"to finish, run: (.+)$", err, re.MULTILINE)
    assert found, err
    argv = shlex.split(found.group(1))
    assert argv[0] == "promoter"
    return argv[1:]


def lock_index_after_the_branch_moved(
    monkeypatch: pytest.MonkeyPatch, repo: Path, lock: str = "index.lock", nth: int = 1
) -> None:
    """Right after promoter's `update-ref` moved its branch (the `nth` time), another git process
    takes the index lock (or `lock`, e.g. HEAD's) and stays, or crashes leaving it: what git needs
    next then fails on a real lock."""
    real = Git.run
    fired: list[bool] = []

    def run(self: Git, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        proc = real(self, *args, **kw)  # type: ignore[arg-type]
        if len(fired) < nth and args[:2] == ("update-ref", "-m") and proc.returncode == 0:
            fired.append(True)
            if len(fired) < nth:
                return proc
            (repo / ".git" / lock).write_text("")
        return proc

    monkeypatch.setattr(Git, "run", run)


def before_the_branch_moves(monkeypatch: pytest.MonkeyPatch, act: Callable[[], None]) -> None:
    """`act` runs just before promoter's `update-ref` of its branch (another process at work)."""
    real = Git.run
    fired: list[bool] = []

    def run(self: Git, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        if not fired and args[:2] == ("update-ref", "-m"):
            fired.append(True)
            act()
        return real(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Git, "run", run)


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=no")


# -- refused before anything is written ----------------------------------------------------------


@pytest.mark.parametrize("ship", [["--commit"], ["--push"]])
def test_a_stale_index_lock_is_refused_before_anything_is_written(world, run, ship) -> None:  # type: ignore[no-untyped-def]
    repo, remote, r = world["repo"], world["remote"], world["r"]
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", *ship)
    assert code == 3, err
    assert ".git/index.lock exists: another git process is running, or a crashed one left it: remove it" in err
    assert "nothing was written" in err
    assert snapshot(repo) == before and git(repo, "branch", "--show-current") == "main"
    assert not git(repo, "branch", "--list", "promote/*")
    lock.unlink()
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", *ship)
    assert code == 0, err
    branch = f"promote/reconcile-{r[3][:7]}"
    assert git(repo, "branch", "--show-current") == branch and status(repo) == ""
    assert git(repo, "log", "-1", "--format=%s") == f"promote reconcile {r[1][:7]} to {r[3][:7]}"
    if ship == ["--push"]:
        assert git(remote, "rev-parse", branch) == git(repo, "rev-parse", "HEAD")


def test_no_git_identity_is_refused_before_anything_is_written(world, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var)
    git(repo, "config", "user.useConfigOnly", "true")  # no identity, and none guessed: git commit fails
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 3, err
    assert "git has no identity to commit with (fatal: " in err
    assert "git config --global user.name" in err and "git config --global user.email" in err
    assert snapshot(repo) == before and not git(repo, "branch", "--list", "promote/*")
    git(repo, "config", "user.email", "fixed@example.com")
    git(repo, "config", "user.name", "Fixed")
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    assert git(repo, "log", "-1", "--format=%an %s") == f"Fixed promote reconcile {r[1][:7]} to {r[3][:7]}"


# -- after the branch moved: the commit stays, and the same command finishes the job -------------


@pytest.mark.parametrize("ship", [["--commit"], ["--push"]])
def test_a_failure_after_the_branch_moved_keeps_the_commit_and_the_same_command_finishes(  # type: ignore[no-untyped-def]
    world, run, monkeypatch, ship
) -> None:
    repo, remote, r = world["repo"], world["remote"], world["r"]
    branch = f"promote/reconcile-{r[3][:7]}"
    lock_index_after_the_branch_moved(monkeypatch, repo)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", *ship)
    assert code == 4, err
    assert "git reset: fatal: Unable to create" in err and "index.lock': File exists" in err  # git's own reason
    made = git(repo, "rev-parse", branch)
    assert f"the promotion is committed as {made[:12]} on branch {branch} (you are on it, but git's index" in err
    assert "nothing was committed" not in err
    # never undone: HEAD on the branch, its commit's files in the working tree
    assert git(repo, "branch", "--show-current") == branch
    assert git(repo, "diff", "--name-only", branch, "--", ".env", "saas.yaml") == ""
    assert git(repo, "log", "-1", "--format=%s", branch) == f"promote reconcile {r[1][:7]} to {r[3][:7]}"
    argv = finish_command(err)
    assert argv[-1:] == ["--commit"] if ship == ["--commit"] else argv[-2:] == ["--push", "origin"]
    assert ["promote", "reconcile", r[3]] == argv[argv.index("promote") : argv.index("promote") + 3]

    monkeypatch.undo()
    (repo / ".git" / "index.lock").unlink()  # the cause is gone
    code, out, err = run(*argv)
    assert code == 0, err
    assert f"{branch} already holds this promotion of reconcile to {r[3][:7]}" in out
    assert status(repo) == ""  # the index follows the commit
    assert git(repo, "rev-parse", branch) == made
    assert git(repo, "rev-parse", f"{branch}~1") == git(repo, "rev-parse", "main")
    if ship == ["--push"]:
        assert git(remote, "rev-parse", branch) == made
        assert "merge_request.create" in (remote / "options").read_text()


def test_head_that_could_not_follow_the_branch_is_brought_onto_it_by_the_same_command(world, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """HEAD is locked when promoter moves it onto the committed branch: you stay on main, its
    working tree holding the promotion; the same command puts HEAD on the branch."""
    repo, r = world["repo"], world["r"]
    branch = f"promote/reconcile-{r[3][:7]}"
    lock_index_after_the_branch_moved(monkeypatch, repo, "HEAD.lock")
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 4, err
    assert "git symbolic-ref: " in err and "HEAD.lock" in err
    made = git(repo, "rev-parse", branch)
    assert f"committed as {made[:12]} on branch {branch} (you are on main, whose working tree holds its files" in err
    assert git(repo, "branch", "--show-current") == "main" and f"ref: {r[3]}" in (repo / "saas.yaml").read_text()
    monkeypatch.undo()
    (repo / ".git" / "HEAD.lock").unlink()
    code, out, err = run(*finish_command(err))
    assert code == 0, err
    assert f"{branch} already holds this promotion" in out
    assert git(repo, "branch", "--show-current") == branch and git(repo, "rev-parse", "HEAD") == made
    assert status(repo) == ""


def test_a_branch_moved_meanwhile_is_said_where_it_is_now(world, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The branch (left by a killed run, taken over) is moved by someone else while promoter
    commits: refused, saying where it is now; the written files are put back."""
    repo, r = world["repo"], world["r"]
    branch = f"promote/reconcile-{r[3][:7]}"
    git(repo, "branch", branch, "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "elsewhere")
    elsewhere = git(repo, "rev-parse", "HEAD")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    before = snapshot(repo)
    before_the_branch_moves(monkeypatch, lambda: git(repo, "update-ref", f"refs/heads/{branch}", elsewhere))
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 3, err
    main = git(repo, "rev-parse", "main")
    assert f"branch {branch} moved while promoter was committing: it is at {elsewhere[:12]} now, no longer at " in err
    assert main[:12] in err and "nothing was committed on it" in err
    assert "nothing was committed: the files were put back (you are on main)" in err
    assert snapshot(repo) == before and git(repo, "rev-parse", branch) == elsewhere


def test_update_ref_says_gits_reason_when_the_branch_did_not_move(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    git(repo, "commit", "-q", "--allow-empty", "-m", "later")  # packed refs: the lock is the only obstacle
    lock = repo / ".git" / "refs" / "heads" / "promote" / f"reconcile-{r[3][:7]}.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 4, err
    assert "moved while promoter was committing" not in err
    assert f"git update-ref could not move branch promote/reconcile-{r[3][:7]} to the new commit: fatal: " in err
    assert "File exists" in err and "nothing was committed on it" in err
    assert snapshot(repo) == before and git(repo, "branch", "--show-current") == "main"


def test_a_promotion_written_and_never_committed_is_committed_by_the_same_command(world, run) -> None:  # type: ignore[no-untyped-def]
    """Files a run wrote and could not commit (or `promote` without `--commit`): `--commit` commits
    them rather than saying there is nothing to change."""
    repo, r = world["repo"], world["r"]
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes")
    assert code == 0, err
    written = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    branch = f"promote/reconcile-{r[3][:7]}"
    assert "nothing to change" not in out and f"on {branch} (you are now on it)" in out
    assert git(repo, "log", "-1", "--format=%s") == f"promote reconcile {r[1][:7]} to {r[3][:7]}"
    assert snapshot(repo) == written and status(repo) == ""
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")  # and once more: done
    assert code == 0, err
    assert f"{branch} already holds this promotion" in out and git(repo, "rev-list", "--count", "main..HEAD") == "1"


def test_a_failure_between_two_components_says_where_the_first_is(world, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`promote A B --commit`: A is committed, then going back to the start branch for B fails."""
    repo, r = world["repo"], world["r"]
    s3 = upstream_commit(world["schemas"], "s3", NOW - 5 * HOUR)
    real = Git.run
    fired: list[bool] = []

    def locking(self: Git, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        if not fired and args == ("switch", "--quiet", "main"):  # back to the start, for the next one
            fired.append(True)
            (repo / ".git" / "index.lock").write_text("")
        return real(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Git, "run", locking)
    code, out, err = run("-C", repo, "promote", "schemas", "reconcile", "--yes", "--commit")
    assert code == 4, err
    first = f"promote/schemas-{s3[:7]}"
    assert f"schemas is committed on branch {first} (you are on it); the components after it are not promoted" in err
    assert f"on {first}" in out and git(repo, "branch", "--show-current") == first
    argv = finish_command(err)
    assert argv[argv.index("promote") + 1 :] == ["schemas", "reconcile", "--commit"]  # the same command
    monkeypatch.undo()
    (repo / ".git" / "index.lock").unlink()
    code, out, err = run(*argv)  # from the first one's branch: each starts from main again
    assert code == 0, err
    assert f"{first} already holds this promotion of schemas" in out
    second = f"promote/reconcile-{r[3][:7]}"
    assert git(repo, "branch", "--show-current") == second and status(repo) == ""
    assert git(repo, "rev-parse", f"{second}~1") == git(repo, "rev-parse", "main")  # from the start, not from A


def test_a_failure_after_the_second_component_moved_its_branch_is_finished_by_the_same_command(  # type: ignore[no-untyped-def]
    world, run, monkeypatch
) -> None:
    repo, r = world["repo"], world["r"]
    s3 = upstream_commit(world["schemas"], "s3", NOW - 5 * HOUR)
    lock_index_after_the_branch_moved(monkeypatch, repo, nth=2)
    code, out, err = run("-C", repo, "promote", "schemas", "reconcile", "--yes", "--commit")
    assert code == 4, err
    first, second = f"promote/schemas-{s3[:7]}", f"promote/reconcile-{r[3][:7]}"
    assert f"on branch {second} (you are on it, but git's index" in err
    argv = finish_command(err)
    assert argv[argv.index("promote") + 1 :] == ["schemas", "reconcile", "--commit"]  # the run's own command
    monkeypatch.undo()
    (repo / ".git" / "index.lock").unlink()
    code, out, err = run(*argv)
    assert code == 0, err
    assert f"{first} already holds this promotion of schemas" in out
    assert f"{second} already holds this promotion of reconcile" in out
    assert git(repo, "branch", "--show-current") == second and status(repo) == ""
    assert git(repo, "rev-parse", f"{second}~1") == git(repo, "rev-parse", "main")


# -- the commit stores what git commit would --------------------------------------------------------


@pytest.mark.parametrize("how", ["gitattributes", "autocrlf"])
def test_the_commit_stores_what_git_commit_would_for_crlf(world, run, how) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    if how == "gitattributes":
        (repo / ".gitattributes").write_text("*.yaml text eol=crlf\n")
        git(repo, "add", ".gitattributes")
        git(repo, "commit", "-qm", "yaml files in CRLF")
    else:
        git(repo, "config", "core.autocrlf", "true")
    git(repo, "rm", "-q", "--cached", "-r", ".")
    for f in ("saas.yaml", ".env"):
        (repo / f).unlink()
    git(repo, "reset", "-q", "--hard")  # checked out again: CRLF in the working tree, LF in git
    assert b"\r\n" in (repo / "saas.yaml").read_bytes() and status(repo) == ""
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    assert b"\r\n" in (repo / "saas.yaml").read_bytes()
    committed = subprocess.run(["git", "cat-file", "blob", "HEAD:saas.yaml"], cwd=repo, capture_output=True, check=True)
    assert b"\r" not in committed.stdout and r[3].encode() in committed.stdout
    assert status(repo) == ""  # clean right after the commit
    git(repo, "switch", "-q", "main")  # from the start again: the branch is found holding this promotion
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    assert f"promote/reconcile-{r[3][:7]} already holds this promotion" in out and status(repo) == ""


# -- hold, release, rollback ------------------------------------------------------------------------


@pytest.fixture
def held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """tests/test_policy.py's world: integration ran c1, c3, c5; production runs c3 since Tuesday."""
    w = World(tmp_path)
    w.integration_runs(w.c[0], MON, "08:00")
    w.integration_runs(w.c[2], MON, "18:00")
    w.integration_runs(w.c[4], days_after(MON, 1), "14:00")
    (w.config / "prod.yaml").write_text(f"ref: {w.c[2]}\n")
    git(w.config, "commit", "-qam", "production to c3", env=at(days_after(MON, 1), "20:00"))
    monkeypatch.setenv("PROMOTER_NOW", f"{days_after(MON, 2)}T00:00:00+00:00")
    return w


HOLD = ["hold", "app", "--env", "production", "--reason", "incident 123", "--commit"]
ROLLBACK = ["rollback", "app", "--env", "production", "--reason", "c3 breaks logins", "--commit"]


@pytest.mark.parametrize("command", [HOLD, ROLLBACK], ids=["hold", "rollback"])
def test_hold_and_rollback_refuse_a_stale_index_lock_before_writing(held: World, run, command) -> None:  # type: ignore[no-untyped-def]
    cfg = held.config
    (cfg / ".git" / "index.lock").write_text("")
    before = snapshot(cfg)
    code, out, err = run("-C", cfg, *command)
    assert code == 3, err
    assert "another git process is running, or a crashed one left it" in err and "nothing was written" in err
    assert snapshot(cfg) == before and git(cfg, "branch", "--show-current") == "main"
    assert git(cfg, "branch", "--list") == "* main"
    (cfg / ".git" / "index.lock").unlink()
    code, out, err = run("-C", cfg, *command)
    assert code == 0, err
    assert status(cfg) == ""


def test_a_rollback_whose_end_failed_is_finished_never_reported_as_done(held: World, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cfg, c = held.config, held.c
    lock_index_after_the_branch_moved(monkeypatch, cfg)
    code, out, err = run("-C", cfg, *ROLLBACK)
    assert code == 4, err
    branch = f"rollback/app-{c[0][:7]}-production"
    made = git(cfg, "rev-parse", branch)
    assert f"the rollback is committed as {made[:12]} on branch {branch} (you are on it" in err
    assert (cfg / "prod.yaml").read_text() == f"ref: {c[0]}\n"  # never undone
    argv = finish_command(err)
    assert argv[argv.index("--to") + 1] == c[0]
    monkeypatch.undo()
    (cfg / ".git" / "index.lock").unlink()
    code, out, err = run(*argv)
    assert code == 0, err
    assert "nothing to roll back" not in err
    assert f"already committed on {branch}" in out and f"committed {made[:12]} on {branch}" in out
    assert status(cfg) == "" and git(cfg, "rev-parse", "HEAD") == made
    code, out, err = run("-C", cfg, *ROLLBACK)  # the same command as first typed (no --to): also finished
    assert code == 0, err
    assert f"already committed on {branch}" in out and git(cfg, "rev-parse", "HEAD") == made


def test_a_hold_and_a_release_whose_end_failed_are_finished_once(held: World, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cfg = held.config
    lock_index_after_the_branch_moved(monkeypatch, cfg)
    code, out, err = run("-C", cfg, *HOLD)
    assert code == 4, err
    assert "the hold is committed as" in err and "on branch hold/app-production (you are on it" in err
    argv = finish_command(err)
    monkeypatch.undo()
    (cfg / ".git" / "index.lock").unlink()
    code, out, err = run(*argv)
    assert code == 0, err
    assert "hold app in production: already committed on hold/app-production" in out
    assert (cfg / "promotion-holds.yaml").read_text().count("incident 123") == 1  # one hold, not two
    assert status(cfg) == "" and git(cfg, "rev-list", "--count", "main..HEAD") == "1"

    git(cfg, "switch", "-q", "main")
    git(cfg, "merge", "-q", "hold/app-production")
    lock_index_after_the_branch_moved(monkeypatch, cfg)
    code, out, err = run("-C", cfg, "release", "app", "--env", "production", "--commit")
    assert code == 4, err
    assert "the release is committed as" in err and "on branch release/app-production (you are on it" in err
    monkeypatch.undo()
    (cfg / ".git" / "index.lock").unlink()
    code, out, err = run(*finish_command(err))
    assert code == 0, err
    assert "has no hold" not in err and "release app in production: already committed on release/app-production" in out
    assert "incident 123" not in (cfg / "promotion-holds.yaml").read_text() and status(cfg) == ""


# -- a full disk ------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(world) -> Iterator[Callable[[bool], None]]:  # type: ignore[no-untyped-def]
    """The config repository (work tree and .git) moved onto a 4 MiB tmpfs; `full(True)` fills it
    to the last byte, `full(False)` frees it. Skipped where no tmpfs can be mounted (not root)."""
    import shutil

    repo = world["repo"]
    kept = repo.with_name("config.kept")
    repo.rename(kept)
    repo.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(repo)], capture_output=True)
    if proc.returncode != 0:
        repo.rmdir()
        kept.rename(repo)
        pytest.skip(f"no tmpfs can be mounted here: {proc.stderr.decode().strip() or proc.returncode}")
    filler = repo / ".git" / "filler"
    try:
        shutil.copytree(kept, repo, symlinks=True, dirs_exist_ok=True)

        def full(on: bool) -> None:
            if not on:
                filler.unlink()
                return
            with open(filler, "wb", buffering=0) as f:
                for size in (65536, 4096, 1):
                    try:
                        while True:
                            f.write(b"\0" * size)
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC

        yield full
    finally:
        subprocess.run(["umount", "-l", str(repo)], check=False)


@pytest.mark.full
def test_a_full_disk_names_gits_error_and_the_same_command_finishes_once_freed(world, small_disk) -> None:  # type: ignore[no-untyped-def]
    """The disk fills up once the files are written (the fault point `done`, the end of the write):
    what fails names git's error (not "nothing to change" later), and once space is freed the
    same command commits the promotion."""
    repo, r = world["repo"], world["r"]
    fifo = repo.parent / "hold"
    os.mkfifo(fifo)
    env = {**os.environ, "PROMOTER_FAULT": "done", "PROMOTER_FAULT_ACTION": "wait", "PROMOTER_FAULT_FIFO": str(fifo)}
    argv = [sys.executable, "-m", "promoter", "-C", str(repo), "promote", "reconcile", r[3], "--yes", "--commit"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(fifo, "wb"):  # promoter has written the files, and waits
        small_disk(True)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, err
    assert "No space left on device" in err
    assert "nothing to change" not in out
    said = re.search(r"to finish, run: (.+)$", err, re.MULTILINE) or re.search("run the same command again", err)
    assert said, err
    small_disk(False)
    calm = {k: v for k, v in os.environ.items() if not k.startswith("PROMOTER_FAULT")}
    done = subprocess.run(argv, env=calm, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    branch = f"promote/reconcile-{r[3][:7]}"
    assert "nothing to change" not in done.stdout
    assert git(repo, "branch", "--show-current") == branch and status(repo) == ""
    assert git(repo, "log", "-1", "--format=%s") == f"promote reconcile {r[1][:7]} to {r[3][:7]}"
    assert f"ref: {r[3]}" in git(repo, "show", "HEAD:saas.yaml")


@pytest.mark.full
def test_a_full_disk_before_the_commit_writes_nothing(world, run, small_disk) -> None:  # type: ignore[no-untyped-def]
    """No room for git's objects: the commit is built before any file is written, so nothing is."""
    repo, r = world["repo"], world["r"]
    (repo / ".git" / "promoter.lock").write_text("")  # promoter's own lock file exists already
    before = snapshot(repo)
    small_disk(True)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 4, err
    assert "unable to write loose object file: No space left on device" in err
    assert "nothing was written or committed" in err
    assert snapshot(repo) == before and git(repo, "branch", "--show-current") == "main"
    small_disk(False)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    assert status(repo) == ""
