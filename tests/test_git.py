"""The git wrapper's errors: git's whole message reaches the user, the command named briefly."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.upstream.git import Git, GitError, command_name
from tests.conftest import git, make_repo


def test_command_name_is_the_subcommand_and_its_first_words() -> None:
    assert command_name(["push", "--porcelain", "-o", "merge_request.title=x", "origin", "refs/heads/a"]) == "push"
    assert command_name(["clone", "--bare", "--", "https://u:p@h/r.git", "/tmp/x"]) == "clone"
    assert command_name(["rev-parse", "HEAD"]) == "rev-parse HEAD"
    assert command_name(["log", "a", "b", "c", "d", "e"]) == "log a b c"


def test_git_error_keeps_every_line_of_a_hook_and_both_outputs(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(remote, "config", "receive.advertisePushOptions", "true")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'first reason: frozen' >&2\necho 'second reason: ask #release' >&2\nexit 1\n")
    hook.chmod(0o755)
    work = make_repo(tmp_path / "work", {"a.txt": "a\n"})
    git(work, "remote", "add", "origin", str(remote))
    with pytest.raises(GitError) as caught:
        Git(work).run("push", "--porcelain", "-o", "secret-looking-option=1", "origin", "main")
    text = str(caught.value)
    assert "first reason: frozen" in text and "second reason: ask #release" in text
    assert text.startswith("git push: ") and "secret-looking-option" not in text
    assert caught.value.code == 1
    assert "[remote rejected]" in caught.value.stdout  # --porcelain reports on stdout: kept too


def test_git_error_redacts_credentials_in_every_line(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "work", {"a.txt": "a\n"})
    with pytest.raises(GitError) as caught:
        Git(work).run("fetch", "https://user:hunter2@127.0.0.1:1/r.git")
    assert "hunter2" not in str(caught.value) and "hunter2" not in caught.value.stderr
