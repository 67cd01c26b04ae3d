"""Each promotion branches from the branch it goes to (as Renovate's do): a `promote --commit` run
while another promotion's branch is checked out starts from that branch's base, never stacks on it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git, make_repo

A_OLD, A_NEW = "a" * 40, "1" * 39 + "a"
B_OLD, B_NEW = "b" * 40, "2" * 39 + "b"
CONFIG = """version: 1
components:
  a:
    repo: https://github.com/org/a
    targets:
      - {name: a, file: a.yaml, key: ref, format: sha}
  b:
    repo: https://github.com/org/b
    targets:
      - {name: b, file: b.yaml, key: ref, format: sha}
"""


def _repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "config", {"promotion.yaml": CONFIG, "a.yaml": f"ref: {A_OLD}\n", "b.yaml": f"ref: {B_OLD}\n"}
    )


def test_a_second_promotion_branches_from_main_not_from_the_first(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path)
    main = git(repo, "rev-parse", "main")
    code, out, err = run("-C", repo, "--offline", "promote", "a", A_NEW, "--yes", "--commit")
    assert code == 0, err
    first = git(repo, "branch", "--show-current")
    assert first.startswith("promote/a-")

    code, out, err = run("-C", repo, "--offline", "promote", "b", B_NEW, "--yes", "--commit")
    assert code == 0, err
    second = git(repo, "branch", "--show-current")
    assert second.startswith("promote/b-")
    assert git(repo, "rev-parse", f"{second}^") == main  # from main, not stacked on promote/a-…
    assert git(repo, "diff", "--name-only", "main", second).splitlines() == ["b.yaml"]
    assert f"started from main, not from {first} (another promotion's branch)" in err
    # the first promotion is untouched, and each branch records main as where it goes
    assert git(repo, "diff", "--name-only", "main", first).splitlines() == ["a.yaml"]
    assert git(repo, "config", f"branch.{second}.promoterBase") == "main"


def test_a_re_run_on_its_own_branch_stays_there(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path)
    assert run("-C", repo, "--offline", "promote", "a", A_NEW, "--yes", "--commit")[0] == 0
    first = git(repo, "branch", "--show-current")
    tip = git(repo, "rev-parse", "HEAD")
    code, out, err = run("-C", repo, "--offline", "promote", "a", A_NEW, "--yes", "--commit")
    assert code == 0, err
    assert git(repo, "branch", "--show-current") == first and git(repo, "rev-parse", "HEAD") == tip
    assert "started from main" not in err


def test_local_changes_that_cannot_come_along_are_said(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path)
    assert run("-C", repo, "--offline", "promote", "a", A_NEW, "--yes", "--commit")[0] == 0
    first = git(repo, "branch", "--show-current")
    (repo / "a.yaml").write_text(f"ref: {A_NEW}\n# my note\n")  # a change git cannot carry to main
    code, out, err = run("-C", repo, "--offline", "promote", "b", B_NEW, "--yes", "--commit")
    assert code == 3, err
    assert f"HEAD is on {first}, another promotion's branch" in err and "git switch main" in err
    assert git(repo, "branch", "--show-current") == first
    assert (repo / "b.yaml").read_text() == f"ref: {B_OLD}\n"  # nothing written
