"""Merge requests on GitLab and pull requests on GitHub: open one, or update the open one.

A pure library: it returns data and raises `promoter.errors` exceptions, and never prints.
Importing this package costs only the standard library; both forge clients speak HTTP through
`promoter.http`, whose requests and urllib3 are imported with the first request.

Tokens come from the environment (`GITLAB_TOKEN`, `GITHUB_TOKEN`) and never appear in an
exception's text, a log line or a `repr`, even when the API echoes them back. They travel only
over https, or plain http to a loopback host or a host listed in PROMOTER_INSECURE_FORGES.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from promoter.errors import UsageError
from promoter.http import plain_http_allowed
from promoter.records import record
from promoter.urls import parse_repo_url, redact

TOKEN_ENV = {"gitlab": "GITLAB_TOKEN", "github": "GITHUB_TOKEN"}
INSECURE_ENV = "PROMOTER_INSECURE_FORGES"  # comma-separated hosts (or host:port) a token may reach over plain http


class Secret:
    """A value that never shows itself (a token): not in a repr, a message or a traceback."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "'***'"


@record(frozen=True)
class MergeRequest:
    """What to open: the same for GitLab (merge request) and GitHub (pull request)."""

    source_branch: str
    target_branch: str
    title: str
    description: str
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()  # usernames
    remove_source_branch: bool = True  # GitLab only (GitHub: a repository setting)
    draft: bool = False


@record(frozen=True)
class Opened:
    """The merge request as it stands after `open_or_update`."""

    url: str  # its web page
    number: int  # GitLab iid (`!N`), GitHub number (`#N`)
    created: bool  # False: an open one for the same source branch existed and was updated


@record(frozen=True)
class OpenRequest:
    """A merge request of this repository (from one of its own branches): an open one, or one
    closed without being merged (`closed_requests`)."""

    number: int
    url: str
    source_branch: str
    description: str


class Forge(Protocol):
    def open_or_update(self, mr: MergeRequest) -> Opened:
        """Update the open merge request whose source is `mr.source_branch`, or open one."""
        ...

    def commit_statuses(self, sha: str) -> dict[str, str]:
        """The statuses and check runs of commit `sha`, by name: "success", "pending", "failure"..."""
        ...

    def open_requests(self) -> list[OpenRequest]:
        """Every open merge request from a branch of this repository (one listing, paged)."""
        ...

    def closed_requests(self, source_branch: str) -> list[OpenRequest]:
        """The merge requests from `source_branch` of this repository that were closed without
        being merged (one request, the newest 100)."""
        ...

    def close(self, number: int, comment: str, description: str | None = None) -> None:
        """Close merge request `number`, saying why in a comment (and its description replaced by
        `description`, when given, in the same request that closes it)."""
        ...


def require_secure_api(kind: str, api_url: str) -> None:
    """UsageError unless the token may be sent to `api_url`: https, or plain http to a loopback
    host or one listed in PROMOTER_INSECURE_FORGES (as the registry's PROMOTER_INSECURE_REGISTRIES)."""
    from urllib.parse import urlsplit

    if plain_http_allowed(api_url, INSECURE_ENV):
        return
    var = TOKEN_ENV.get(kind, "the token")
    shown = redact(api_url)
    parts = urlsplit(api_url)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"the {kind} API URL {shown} is not an https:// URL (merge_request.api_url)")
    raise UsageError(
        f"refusing to send {var} over plain http to {parts.hostname} ({shown}): use an https "
        f"merge_request.api_url, or allow plain http to that host with {INSECURE_ENV}={parts.hostname} "
        "(comma-separated hosts)"
    )


KNOWN_HOSTS = {"github.com": "github", "gitlab.com": "gitlab"}


def forge_kind(repo_url: str, configured: str | None = None) -> str:
    """Which forge serves the repository at `repo_url`: `configured` (merge_request.forge) when
    given, else told by the host alone (github.com, gitlab.com); any other host must be named in
    the config, never guessed from a word in the URL (`gitlab.corp/team/github-sync` is GitLab)."""
    if configured is not None:
        return configured
    host = parse_repo_url(repo_url).host.partition(":")[0]
    kind = KNOWN_HOSTS.get(host)
    if kind is None:
        raise UsageError(
            f"cannot tell which forge {host} is: set merge_request.forge to gitlab or github in the config"
        )
    return kind


def forge_for(
    kind: str,
    repo_url: str,
    *,
    token_env: Mapping[str, str] = os.environ,
    api_url: str | None = None,
) -> Forge:
    """The forge client for the repository at `repo_url` (its web or remote URL).

    `kind` is "gitlab" (token from GITLAB_TOKEN; API default `https://<host>/api/v4`) or
    "github" (GITHUB_TOKEN; API default `https://api.github.com`, `https://<host>/api/v3` for
    GitHub Enterprise). `api_url` overrides the API base. A missing token is a UsageError that
    names the variable; so is an API on plain http (`require_secure_api`).
    """
    if kind not in TOKEN_ENV:
        raise UsageError(f"unknown forge {kind!r}: use 'gitlab' or 'github'")
    var = TOKEN_ENV[kind]
    token = token_env.get(var, "").strip()
    if not token:
        raise UsageError(f"{var} is not set: opening a merge request through the {kind} API needs a token in {var}")
    ref = parse_repo_url(repo_url)
    if kind == "gitlab":
        from promoter.ship.forge.gitlab import GitLab

        return GitLab("/".join(ref.path), token, api_url or f"{ref.scheme}://{ref.host}/api/v4")

    from promoter.ship.forge.github import GitHub

    if len(ref.path) != 2:
        raise UsageError(f"{redact(repo_url)} is not a GitHub repository URL (need owner/repo)")
    if api_url is None:
        api_url = "https://api.github.com" if ref.host == "github.com" else f"{ref.scheme}://{ref.host}/api/v3"
    return GitHub(ref.path[0], ref.path[1], token, api_url)
