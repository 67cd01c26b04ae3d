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
