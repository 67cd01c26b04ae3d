"""Merge requests on GitLab and pull requests on GitHub: open one, or update the open one.

A pure library: it returns data and raises `promoter.errors` exceptions, and never prints.
Importing this package costs only the standard library; the forge clients (python-gitlab,
urllib) are imported when `forge_for` builds one.

Tokens come from the environment (`GITLAB_TOKEN`, `GITHUB_TOKEN`) and never appear in an
exception's text, a log line or a `repr`, even when the API echoes them back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from promoter.errors import UsageError
from promoter.upstream.git import redact

TOKEN_ENV = {"gitlab": "GITLAB_TOKEN", "github": "GITHUB_TOKEN"}


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Opened:
    """The merge request as it stands after `open_or_update`."""

    url: str  # its web page
    number: int  # GitLab iid (`!N`), GitHub number (`#N`)
    created: bool  # False: an open one for the same source branch existed and was updated


class Forge(Protocol):
    def open_or_update(self, mr: MergeRequest) -> Opened:
        """Update the open merge request whose source is `mr.source_branch`, or open one."""
        ...


@dataclass(frozen=True)
class RepoRef:
    """A repository on a forge, as told by its clone or web URL."""

    scheme: str  # http or https: the scheme of the forge's web/API server
    host: str  # host, with ":port" for an http(s) URL that names one
    path: tuple[str, ...]  # namespace segments then the project name


_SCP = re.compile(r"(?:[^@/:\s]+@)?(?P<host>[A-Za-z0-9.-]+):(?!//)(?P<path>\S+)")


def parse_repo_url(repo_url: str) -> RepoRef:
    """`https://host/group/sub/proj(.git)`, `ssh://git@host:22/group/proj.git`, `git@host:group/proj`.

    Credentials in the URL are dropped; a web URL's `/-/...` tail (GitLab pages) is ignored.
    """
    url = repo_url.strip()
    shown = redact(url)
    scp = _SCP.fullmatch(url) if "://" not in url else None
    if scp is not None:
        scheme, host, path = "https", scp["host"].lower(), scp["path"]
    else:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UsageError(f"cannot tell the forge project from the remote URL {shown}") from None
        if parts.scheme not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git") or not parts.hostname:
            raise UsageError(
                f"cannot tell the forge project from the remote URL {shown}: "
                "need an https or ssh URL of a GitLab or GitHub repository"
            )
        scheme = parts.scheme if parts.scheme in ("http", "https") else "https"
        host = parts.hostname.lower()
        if port is not None and parts.scheme in ("http", "https"):
            host = f"{host}:{port}"
        path = parts.path
    if host == "www.github.com":
        host = "github.com"
    path = path.split("/-/", 1)[0].strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    segments = tuple(s for s in path.split("/") if s)
    if len(segments) < 2 or any(s in (".", "..") for s in segments):
        raise UsageError(f"cannot tell the forge project from the remote URL {shown}: no namespace/project in it")
    return RepoRef(scheme, host, segments)


def forge_for(
    kind: str,
    repo_url: str,
    *,
    token_env: Mapping[str, str] = os.environ,
    api_url: str | None = None,
) -> Forge:
    """The forge client for the config repository at `repo_url` (its web or remote URL).

    `kind` is "gitlab" (token from GITLAB_TOKEN; API default `https://<host>/api/v4`) or
    "github" (GITHUB_TOKEN; API default `https://api.github.com`, `https://<host>/api/v3` for
    GitHub Enterprise). `api_url` overrides the API base. A missing token is a UsageError that
    names the variable.
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
