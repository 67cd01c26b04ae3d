"""Which forge a merge request goes to: told by the remote's host, never by a word in its URL."""

from __future__ import annotations

import pytest

from promoter.errors import UsageError
from promoter.ship.forge import forge_kind


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://github.com/org/app-interface.git", "github"),
        ("git@github.com:org/app-interface.git", "github"),
        ("https://gitlab.com/group/sub/app-interface", "gitlab"),
        ("ssh://git@gitlab.com:22/group/app-interface.git", "gitlab"),
    ],
)
def test_known_hosts(url: str, kind: str) -> None:
    assert forge_kind(url) == kind


@pytest.mark.parametrize(
    "url",
    [
        "git@gitlab.corp:team/github-sync.git",  # a GitLab project whose name says github
        "https://github-mirror.example.com/org/repo.git",
        "https://code.example.com/gitlab/repo.git",
    ],
)
def test_any_other_host_must_be_named_in_the_config(url: str) -> None:
    with pytest.raises(UsageError, match=r"set merge_request\.forge to gitlab or github"):
        forge_kind(url)
    assert forge_kind(url, "gitlab") == "gitlab"


def _pushing_repo(tmp_path, kills: int):  # type: ignore[no-untyped-def]
    """A repository whose remote's receive-pack (a real one, behind a wrapper named by
    `remote.origin.receivepack`) kills the pushing git with SIGPIPE the first `kills` times."""
    import subprocess

    from tests.conftest import git, make_repo

    repo = make_repo(tmp_path / "repo", {"README": "x\n"})
    remote = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    count = tmp_path / "kills"
    count.write_text(str(kills))
    wrapper = tmp_path / "receive-pack"
    wrapper.write_text(
        f'#!/bin/sh\nleft=$(cat "{count}")\n'
        # the pushing git is the nearest ancestor named git (the transport may run us through sh)
        'p=$PPID\nwhile [ "${p:-0}" -gt 1 ] && [ "$(cat /proc/$p/comm)" != git ]; do\n'
        '  p=$(cut -d" " -f4 /proc/$p/stat)\ndone\n'
        f'if [ "$left" -gt 0 ] && [ "${{p:-0}}" -gt 1 ]; then echo $((left-1)) > "{count}"; kill -PIPE $p; exit 1; fi\n'
        'exec git-receive-pack "$@"\n'
    )
    wrapper.chmod(0o755)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "config", "remote.origin.receivepack", str(wrapper))
    return repo, remote, count


def test_preflight_tries_again_when_git_is_killed_by_sigpipe(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`git push --dry-run` to a local repository is at times killed by SIGPIPE on a busy machine
    (seen in CI): the preflight sends nothing, so it is tried again rather than failing the run."""
    from promoter.ship.commit import SIGNALLED_TRIES, preflight
    from promoter.upstream.git import Git

    repo, remote, count = _pushing_repo(tmp_path, SIGNALLED_TRIES - 1)
    preflight(Git(repo), "origin", options=False)
    assert count.read_text().strip() == "0"  # it was killed, and tried again
    assert not (remote / "refs" / "heads" / "promoter-preflight").exists()  # a dry run: nothing sent


def test_preflight_killed_every_time_fails_with_the_signal_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from promoter.errors import ExternalError
    from promoter.ship.commit import SIGNALLED_TRIES, preflight
    from promoter.upstream.git import Git

    repo, _, count = _pushing_repo(tmp_path, SIGNALLED_TRIES + 5)
    with pytest.raises(ExternalError, match=r"cannot push to origin: .*SIGPIPE.*; nothing was written"):
        preflight(Git(repo), "origin", options=False)
    assert count.read_text().strip() == "5"  # tried exactly SIGNALLED_TRIES times
