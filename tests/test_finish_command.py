"""The command that finishes a promotion that failed half way (`Session.again`) repeats every
option that decided it: `--ignore-trust` too (h/trust met h/failures on main: without it, the
finishing run would be refused by the very gate the first run was told to lift); a rollback's names
the release it goes back to by its tag."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from promoter.pipeline import core
from promoter.ship.session import Options, Session
from tests import tags_fixture as t
from tests.conftest import RunResult
from tests.test_commit_failures import finish_command, lock_index_after_the_branch_moved

Run = Callable[..., RunResult]


def test_the_finishing_command_keeps_every_option_that_lifts_a_gate(tmp_path: Path) -> None:
    up, repo, shas = t.build(tmp_path)
    lifted = Options(ignore_trust=True, ignore_soak=True, allow_downgrade=True)
    words = shlex.split(Session(core.open_repo(repo), lifted).again(["app"], "v1.5.0", "origin"))
    assert words[words.index("promote") :] == [
        "promote", "app", "v1.5.0", "--allow-downgrade", "--ignore-soak", "--ignore-trust", "--push", "origin",
    ]  # fmt: skip
    words = shlex.split(Session(core.open_repo(repo), Options()).again(["app"], "v1.5.0", None))
    assert words[words.index("promote") :] == ["promote", "app", "v1.5.0", "--commit"]


def test_a_rollback_that_failed_half_way_is_finished_with_its_ignore_trust(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "promote", "app", "--yes", "--commit")
    assert code == 0, out + err
    lock_index_after_the_branch_moved(monkeypatch, repo)
    argv = ("rollback", "app", "--env", "staging", "--reason", "broken", "--ignore-trust", "--commit")
    code, out, err = run("-C", repo, *argv)
    assert code == 4, out + err
    words = finish_command(err)
    assert words[words.index("rollback") :] == [
        "rollback", "app", "--env", "staging", "--to", "v1.4.2", "--reason", "broken", "--ignore-trust", "--commit",
    ]  # fmt: skip
    monkeypatch.undo()
    (repo / ".git" / "index.lock").unlink()
    code, out, err = run(*words)
    assert code == 0, out + err
    assert (repo / t.ARGO).read_text() == t.files("1.4.2")[t.ARGO]
