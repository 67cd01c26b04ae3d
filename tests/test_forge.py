"""promoter.forge: push options (checked against a real git server's hook) and the GitLab and
GitHub API clients, against local contract fakes (tests/forge_fakes.py) that record every request."""

from __future__ import annotations

import email.utils
import logging
import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from promoter.errors import ExternalError, Refused, UsageError
from promoter.ship.forge import MergeRequest, Opened, forge_for
from promoter.ship.forge.github import GitHub
from promoter.ship.forge.gitlab import GitLab
from promoter.ship.forge.pushoptions import DESCRIPTION_NOTE, MAX_OPTION_BYTES, push_options
from promoter.upstream.git import Git
from promoter.urls import parse_repo_url
from tests.conftest import git, make_repo
from tests.forge_fakes import FakeGitHub, FakeGitLab, Reply, running

GL_TOKEN = "glpat-S3cr3tT0kenValue"
GH_TOKEN = "ghp_S3cr3tT0kenValue0123456789"
GL_REPO = "git@gitlab.example.com:service/app-interface.git"
GH_REPO = "https://github.com/app-sre/qontract-reconcile.git"

DESCRIPTION = """

Promote qontract-reconcile from 4e537ab to 2f529cf

| target | old | new |
|---|---|---|
| production | 4e537ab | 2f529cf |

cc @ada
"""

MR = MergeRequest(
    source_branch="promote/qontract-reconcile-2f529cf",
    target_branch="master",
    title="promote qontract-reconcile 4e537ab to 2f529cf",
    description=DESCRIPTION,
    labels=("bot/promotion", "team: app-sre"),
    reviewers=("jdoe", "ada"),
)


def chain_text(exc: BaseException) -> str:
    """Everything an exception (and its cause/context chain) could show: str, repr, args."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), repr(seen.args)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


# -- push options ---------------------------------------------------------------------------------
def test_push_options_exact_list() -> None:
    assert push_options(MR) == [
        "merge_request.create",
        "merge_request.target=master",
        "merge_request.title=promote qontract-reconcile 4e537ab to 2f529cf",
        "merge_request.description=Promote qontract-reconcile from 4e537ab to 2f529cf"
        " (full description: use merge_request.method: api)",
        "merge_request.label=bot/promotion",
        "merge_request.label=team: app-sre",
        "merge_request.remove_source_branch",
    ]


def test_push_options_newlines_draft_and_no_remove() -> None:
    mr = MergeRequest(
        source_branch="b",
        target_branch="main",
        title="promote x\r\n  to y\nnow",
        description="  only line  \n\n",
        labels=("a\nb", "", "c=d \"quoted\" 'single'"),
        remove_source_branch=False,
        draft=True,
    )
    opts = push_options(mr)
    assert opts == [
        "merge_request.create",
        "merge_request.target=main",
        "merge_request.title=promote x to y now",
        "merge_request.description=only line",  # nothing dropped: no note
        "merge_request.label=a b",
        "merge_request.label=c=d \"quoted\" 'single'",  # verbatim, no shell quoting
        "merge_request.draft",
    ]
    assert not any("\n" in o or "\r" in o for o in opts)
    assert push_options(MergeRequest("b", "main", "t", "")) == [
        "merge_request.create",
        "merge_request.target=main",
        "merge_request.title=t",
        "merge_request.remove_source_branch",
    ]


def test_push_options_stay_under_64k() -> None:
    mr = MergeRequest("b", "main", "é" * 50_000, "x" * 100_000 + "\nmore")
    title, description = push_options(mr)[2:4]
    for opt in (title, description):
        assert len(opt.encode("utf-8")) <= MAX_OPTION_BYTES < 64 * 1024
    assert title.startswith("merge_request.title=éé") and title.endswith("é…")
    assert description.endswith("x…" + DESCRIPTION_NOTE)


@pytest.fixture
def hooked_remote(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare repo advertising push options, whose pre-receive hook records them; a clone of it."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(bare, "config", "receive.advertisePushOptions", "true")
    seen = tmp_path / "seen"
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "cat >/dev/null\n"
        f"out='{seen}'\n"
        'printf "%s\\0" "${GIT_PUSH_OPTION_COUNT-unset}" >"$out"\n'
        "i=0\n"
        'while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do\n'
        '  eval "printf \'%s\\0\' \\"\\$GIT_PUSH_OPTION_$i\\"" >>"$out"\n'
        "  i=$((i + 1))\n"
        "done\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    work = make_repo(tmp_path / "work", {"a.txt": "a\n"})
    git(work, "remote", "add", "origin", str(bare))
    return bare, work, seen


def recorded_options(seen: Path) -> list[str]:
    count, *options = seen.read_bytes().decode("utf-8").split("\0")[:-1]
    assert count == str(len(options))
    return options


def test_push_options_reach_a_real_git_server(hooked_remote: tuple[Path, Path, Path]) -> None:
    bare, work, seen = hooked_remote
    mr = MergeRequest(
        "b",
        "main",
        "Promote «app» to 2f529cf\nsecond line" + "!" * 70_000,  # capped to fit one pkt-line
        DESCRIPTION,
        labels=("bot/promotion", "needs review", 'q="x"'),
        draft=True,
    )
    opts = push_options(mr)
    Git(work).run("push", *[x for o in opts for x in ("-o", o)], "origin", "HEAD:refs/heads/b")
    assert recorded_options(seen) == opts
    assert git(bare, "rev-parse", "refs/heads/b") == git(work, "rev-parse", "HEAD")


def test_git_itself_refuses_a_newline_in_a_push_option(hooked_remote: tuple[Path, Path, Path]) -> None:
    _bare, work, seen = hooked_remote
    proc = Git(work).run("push", "-o", "merge_request.description=a\nb", "origin", "HEAD:refs/heads/b", check=False)
    assert proc.returncode != 0 and "new line" in proc.stderr
    assert not seen.exists()


# -- forge_for ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "scheme", "host", "path"),
    [
        (
            "https://gitlab.example.com/service/app-interface.git",
            "https",
            "gitlab.example.com",
            "service/app-interface",
        ),
        ("https://oauth2:glpat-x@gitlab.example.com:8443/a/b/c/", "https", "gitlab.example.com:8443", "a/b/c"),
        ("git@gitlab.example.com:service/app-interface.git", "https", "gitlab.example.com", "service/app-interface"),
        ("ssh://git@gitlab.example.com:2222/g/sub/p.git", "https", "gitlab.example.com", "g/sub/p"),
        (
            "https://gitlab.example.com/service/app-interface/-/tree/master",
            "https",
            "gitlab.example.com",
            "service/app-interface",
        ),
        ("http://127.0.0.1:8080/g/p", "http", "127.0.0.1:8080", "g/p"),
        ("https://www.github.com/app-sre/qontract-reconcile", "https", "github.com", "app-sre/qontract-reconcile"),
    ],
)
def test_parse_repo_url(url: str, scheme: str, host: str, path: str) -> None:
    ref = parse_repo_url(url)
    assert (ref.scheme, ref.host, "/".join(ref.path)) == (scheme, host, path)


@pytest.mark.parametrize("url", ["/srv/config.git", "file:///srv/config.git", "https://gitlab.example.com/lonely", ""])
def test_unusable_repo_url(url: str) -> None:
    with pytest.raises(UsageError, match="cannot tell the forge project"):
        forge_for("gitlab", url, token_env={"GITLAB_TOKEN": GL_TOKEN})


def test_forge_for_defaults_and_errors() -> None:
    gl = forge_for(
        "gitlab", "https://user:pw@gitlab.example.com/service/app-interface", token_env={"GITLAB_TOKEN": GL_TOKEN}
    )
    assert isinstance(gl, GitLab)
    assert (gl.project_path, gl.api_url) == ("service/app-interface", "https://gitlab.example.com/api/v4")
    gh = forge_for("github", "git@github.com:app-sre/qontract-reconcile.git", token_env={"GITHUB_TOKEN": GH_TOKEN})
    assert isinstance(gh, GitHub)
    assert (gh.owner, gh.repo, gh.api_url) == ("app-sre", "qontract-reconcile", "https://api.github.com")
    ghe = forge_for("github", "https://ghe.example.com/o/r", token_env={"GITHUB_TOKEN": GH_TOKEN})
    assert isinstance(ghe, GitHub) and ghe.api_url == "https://ghe.example.com/api/v3"
    for client, token in ((gl, GL_TOKEN), (gh, GH_TOKEN)):
        assert token not in repr(client) and "pw" not in repr(client)
    with pytest.raises(UsageError, match="owner/repo"):
        forge_for("github", "https://github.com/a/b/c", token_env={"GITHUB_TOKEN": GH_TOKEN})
    with pytest.raises(UsageError, match="unknown forge 'bitbucket'"):
        forge_for("bitbucket", GL_REPO, token_env={})


@pytest.mark.parametrize(("kind", "var"), [("gitlab", "GITLAB_TOKEN"), ("github", "GITHUB_TOKEN")])
def test_missing_token_names_the_variable(kind: str, var: str) -> None:
    other = {"GITLAB_TOKEN": GL_TOKEN} if kind == "github" else {"GITHUB_TOKEN": GH_TOKEN}
    for env in (other, {**other, var: "  "}):
        with pytest.raises(UsageError, match=f"{var} is not set") as info:
            forge_for(kind, GH_REPO, token_env=env)
        assert GL_TOKEN not in str(info.value) and GH_TOKEN not in str(info.value)
        assert info.value.exit_code == 2


def test_forge_package_imports_no_client_library() -> None:
    """requests, urllib3 and the network modules come with the first request made, never with an
    import (`promoter --help` imports these modules); python-gitlab never comes at all: both
    clients speak HTTP through promoter.http."""
    client_libraries = ("gitlab", "requests", "urllib3", "http.client", "urllib.request", "ssl")
    code = (
        "import sys, promoter.ship.forge, promoter.ship.forge.pushoptions, promoter.ship.forge.gitlab,"
        " promoter.ship.forge.github;"
        f"bad = [m for m in {client_libraries!r} if m in sys.modules];"
        "sys.exit(f'imported: {bad}' if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    # and the check sees them once they are used: an API call of each client
    for call in (
        "GitHub('o', 'r', 'tok-probe', 'http://127.0.0.1:1', attempts=1)._call('GET', '/x')",
        "GitLab('g/p', 'tok-probe', 'http://127.0.0.1:1/api/v4', attempts=1)._call('GET', '/x', 'probe')",
    ):
        script = "\n".join(
            [
                "import sys",
                "from promoter.errors import ExternalError",
                "from promoter.ship.forge.github import GitHub",
                "from promoter.ship.forge.gitlab import GitLab",
                "try:",
                f"    {call}",
                "except ExternalError as e:",
                "    assert 'cannot reach' in str(e), e",
                f"bad = [m for m in {client_libraries!r} if m in sys.modules]",
                "sys.exit(f'imported: {bad}')",
            ]
        )
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
        assert "imported: [" in proc.stderr, proc.stderr
        assert all(f"'{m}'" in proc.stderr for m in ("requests", "urllib3", "http.client")), proc.stderr
        assert "'gitlab'" not in proc.stderr


# -- GitLab ---------------------------------------------------------------------------------------
@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with running(FakeGitLab(GL_TOKEN)) as server:
        assert isinstance(server, FakeGitLab)
        yield server


def gl_client(server: FakeGitLab, token: str = GL_TOKEN) -> GitLab:
    forge = forge_for("gitlab", GL_REPO, token_env={"GITLAB_TOKEN": token}, api_url=f"{server.url}/api/v4")
    assert isinstance(forge, GitLab)
    return forge


GL_FIND = "GET /api/v4/projects/13/merge_requests?state=opened&source_branch=promote%2Fqontract-reconcile-2f529cf"


def test_gitlab_create_then_update(gitlab: FakeGitLab) -> None:
    forge = gl_client(gitlab)
    first = forge.open_or_update(MR)
    assert first == Opened(f"{gitlab.url}/service/app-interface/-/merge_requests/1", 1, created=True)
    assert gitlab.lines() == [
        "GET /api/v4/projects/service%2Fapp-interface",
        "GET /api/v4/users?username=jdoe",
        "GET /api/v4/users?username=ada",
        GL_FIND,
        "POST /api/v4/projects/13/merge_requests",
    ]
    assert gitlab.requests[-1].body == {
        "source_branch": "promote/qontract-reconcile-2f529cf",
        "target_branch": "master",
        "title": "promote qontract-reconcile 4e537ab to 2f529cf",
        "description": DESCRIPTION,
        "remove_source_branch": True,
        "labels": ["bot/promotion", "team: app-sre"],
        "reviewer_ids": [101, 102],
    }
    for rec in gitlab.requests:
        assert rec.headers["private-token"] == GL_TOKEN
        assert "authorization" not in rec.headers
    assert all(rec.body is None for rec in gitlab.requests[:-1])

    gitlab.requests.clear()
    again = MergeRequest(
        **{**MR.__dict__, "title": "promote qontract-reconcile 4e537ab to 9999999", "description": "new"}
    )
    second = gl_client(gitlab).open_or_update(again)
    assert second == Opened(first.url, 1, created=False)
    assert gitlab.lines() == [
        "GET /api/v4/projects/service%2Fapp-interface",
        "GET /api/v4/users?username=jdoe",
        "GET /api/v4/users?username=ada",
        GL_FIND,
        "PUT /api/v4/projects/13/merge_requests/1",
    ]
    assert gitlab.requests[-1].body == {
        "title": "promote qontract-reconcile 4e537ab to 9999999",
        "description": "new",
        "add_labels": ["bot/promotion", "team: app-sre"],
        "reviewer_ids": [101, 102],
    }
    assert len(gitlab.mrs) == 1
    assert (gitlab.mrs[0]["title"], gitlab.mrs[0]["description"]) == (again.title, "new")


def test_gitlab_update_keeps_what_people_added(gitlab: FakeGitLab) -> None:
    plain = MergeRequest("feature", "master", "promote x", "body", remove_source_branch=False)
    gl_client(gitlab).open_or_update(plain)
    assert gitlab.requests[-1].body == {
        "source_branch": "feature",
        "target_branch": "master",
        "title": "promote x",
        "description": "body",
        "remove_source_branch": False,
    }
    gitlab.mrs[0]["labels"].append("lgtm")  # by hand, in the web UI
    gitlab.mrs[0]["reviewer_ids"].append(103)
    opened = gl_client(gitlab).open_or_update(
        MergeRequest(**{**plain.__dict__, "labels": ("bot",), "reviewers": ("@jdoe",)})
    )
    assert not opened.created
    assert gitlab.requests[-1].body["reviewer_ids"] == [103, 101]
    assert gitlab.mrs[0]["labels"] == ["lgtm", "bot"]
    assert gitlab.mrs[0]["reviewer_ids"] == [103, 101]


def test_gitlab_draft_is_a_title_prefix(gitlab: FakeGitLab) -> None:
    draft = MergeRequest("b", "master", "Draft: promote x", "d", draft=True)
    gl_client(gitlab).open_or_update(draft)
    assert gitlab.requests[-1].body["title"] == "Draft: promote x"
    gl_client(gitlab).open_or_update(MergeRequest("c", "master", "promote y", "d", draft=True))
    assert gitlab.requests[-1].body["title"] == "Draft: promote y"
    assert [mr["title"] for mr in gitlab.mrs] == ["Draft: promote x", "Draft: promote y"]


def test_gitlab_unknown_reviewer_is_refused_before_anything_is_opened(gitlab: FakeGitLab) -> None:
    with pytest.raises(Refused, match="GitLab has no user 'nobody'"):
        gl_client(gitlab).open_or_update(MergeRequest(**{**MR.__dict__, "reviewers": ("nobody",)}))
    assert [r.method for r in gitlab.requests] == ["GET", "GET"]
    assert gitlab.mrs == []


def test_gitlab_5xx_is_retried(gitlab: FakeGitLab) -> None:
    gitlab.fail_next = [Reply(502, {"message": "502 Bad Gateway"}), Reply(503, {"message": "busy"})]
    opened = gl_client(gitlab).open_or_update(MergeRequest("b", "master", "t", "d"))
    assert opened.created
    assert gitlab.lines() == [
        "GET /api/v4/projects/service%2Fapp-interface",
        "GET /api/v4/projects/service%2Fapp-interface",
        "GET /api/v4/projects/service%2Fapp-interface",
        "GET /api/v4/projects/13/merge_requests?state=opened&source_branch=b",
        "POST /api/v4/projects/13/merge_requests",
    ]


def test_gitlab_5xx_retries_are_bounded(gitlab: FakeGitLab) -> None:
    gitlab.fail_next = [Reply(500, {"message": "500 Internal Server Error"})] * 10
    with pytest.raises(ExternalError, match=r"GitLab GET project service/app-interface: 500 Internal Server Error$"):
        gl_client(gitlab).open_or_update(MergeRequest("b", "master", "t", "d"))
    assert len(gitlab.requests) == 3


def test_gitlab_429_is_retried_as_retry_after_says(gitlab: FakeGitLab) -> None:
    gitlab.fail_next = [Reply(429, {"message": "429 Too Many Requests"}, {"Retry-After": "0"})]
    opened = gl_client(gitlab).open_or_update(MergeRequest("b", "master", "t", "d"))
    assert opened.created
    assert gitlab.lines()[:2] == ["GET /api/v4/projects/service%2Fapp-interface"] * 2


@pytest.mark.parametrize(
    ("status", "message"), [(403, "403 Forbidden"), (404, "404 Project Not Found"), (429, "429 Too Many Requests")]
)
def test_gitlab_403_404_and_endless_429_are_external_failures(gitlab: FakeGitLab, status: int, message: str) -> None:
    gitlab.fail_next = [Reply(status, {"message": message}, {"Retry-After": "0"})] * 10
    with pytest.raises(ExternalError) as info:
        gl_client(gitlab).open_or_update(MR)
    assert str(info.value) == f"GitLab GET project service/app-interface: {message}"  # not "403 403 Forbidden"
    assert info.value.exit_code == 4
    assert len(gitlab.requests) == (3 if status == 429 else 1)  # only a rate limit is retried


def test_gitlab_truncated_reply_is_retried(gitlab: FakeGitLab) -> None:
    gitlab.truncate_next = 1
    opened = gl_client(gitlab).open_or_update(MergeRequest("b", "master", "t", "d"))
    assert opened.created
    assert gitlab.lines()[:2] == ["GET /api/v4/projects/service%2Fapp-interface"] * 2


def test_gitlab_lost_create_reply_updates_instead_of_duplicating(gitlab: FakeGitLab) -> None:
    # the create goes through but its answer is lost (502); the retried create gets 409
    gitlab.lose_reply = {"POST": [Reply(502, {"message": "502 Bad Gateway"})]}
    opened = gl_client(gitlab).open_or_update(MergeRequest("b", "master", "t", "d"))
    assert opened == Opened(f"{gitlab.url}/service/app-interface/-/merge_requests/1", 1, created=True)
    assert gitlab.lines() == [
        "GET /api/v4/projects/service%2Fapp-interface",
        "GET /api/v4/projects/13/merge_requests?state=opened&source_branch=b",
        "POST /api/v4/projects/13/merge_requests",
        "POST /api/v4/projects/13/merge_requests",
        "GET /api/v4/projects/13/merge_requests?state=opened&source_branch=b",
        "PUT /api/v4/projects/13/merge_requests/1",
    ]
    assert len(gitlab.mrs) == 1


def test_gitlab_401_never_shows_the_token(gitlab: FakeGitLab) -> None:
    gitlab.echo_auth = True  # a hostile API that quotes the token back
    gitlab.token = "the-real-one"
    with pytest.raises(ExternalError) as info:
        gl_client(gitlab, token=GL_TOKEN).open_or_update(MR)
    assert "401" in str(info.value) and "GITLAB_TOKEN" in str(info.value)
    assert info.value.exit_code == 4
    gitlab.token = GL_TOKEN  # now the right token, still echoed in a 404
    gitlab.project["path_with_namespace"] = "elsewhere/else"
    with pytest.raises(ExternalError, match="404 Project Not Found") as info2:
        gl_client(gitlab).open_or_update(MR)
    for exc in (info.value, info2.value):
        assert GL_TOKEN not in chain_text(exc)
        assert "***" in str(exc)


def test_gitlab_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    forge = forge_for(
        "gitlab", GL_REPO, token_env={"GITLAB_TOKEN": GL_TOKEN}, api_url=f"http://127.0.0.1:{port}/api/v4"
    )
    with pytest.raises(ExternalError, match="cannot reach") as info:
        forge.open_or_update(MR)
    assert GL_TOKEN not in chain_text(info.value)


# -- GitHub ---------------------------------------------------------------------------------------
@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with running(FakeGitHub(GH_TOKEN)) as server:
        assert isinstance(server, FakeGitHub)
        yield server


def gh_client(
    server: FakeGitHub,
    token: str = GH_TOKEN,
    *,
    timeout: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> GitHub:
    """Through forge_for; built directly when a test sets the timeout or records the back-off sleeps."""
    if timeout is not None or sleep is not None:
        return GitHub(server.owner, server.repo, token, server.url, timeout=timeout or 10.0, sleep=sleep or time.sleep)
    forge = forge_for("github", GH_REPO, token_env={"GITHUB_TOKEN": token}, api_url=server.url)
    assert isinstance(forge, GitHub)
    return forge


REPO = "/repos/app-sre/qontract-reconcile"
GH_FIND = f"GET {REPO}/pulls?head=app-sre%3Apromote%2Fqontract-reconcile-2f529cf&state=open"


def test_github_create_then_update(github: FakeGitHub) -> None:
    first = gh_client(github).open_or_update(MR)
    assert first == Opened("https://github.com/app-sre/qontract-reconcile/pull/1", 1, created=True)
    assert github.lines() == [
        GH_FIND,
        f"POST {REPO}/pulls",
        f"POST {REPO}/issues/1/labels",
        f"POST {REPO}/pulls/1/requested_reviewers",
    ]
    assert github.requests[0].query == {"head": ["app-sre:promote/qontract-reconcile-2f529cf"], "state": ["open"]}
    assert [r.body for r in github.requests] == [
        None,
        {
            "title": "promote qontract-reconcile 4e537ab to 2f529cf",
            "head": "promote/qontract-reconcile-2f529cf",
            "base": "master",
            "body": DESCRIPTION,
            "draft": False,
        },
        {"labels": ["bot/promotion", "team: app-sre"]},
        {"reviewers": ["jdoe", "ada"]},
    ]
    for rec in github.requests:
        assert rec.headers["authorization"] == f"Bearer {GH_TOKEN}"
        assert rec.headers["accept"] == "application/vnd.github+json"
        assert rec.headers["x-github-api-version"] == "2022-11-28"
        assert rec.headers.get("content-type") == (None if rec.method == "GET" else "application/json")

    github.requests.clear()
    second = gh_client(github).open_or_update(
        MergeRequest(**{**MR.__dict__, "title": "new title", "description": "new"})
    )
    assert second == Opened(first.url, 1, created=False)
    assert github.lines() == [
        GH_FIND,
        f"PATCH {REPO}/pulls/1",
        f"POST {REPO}/issues/1/labels",
        f"POST {REPO}/pulls/1/requested_reviewers",
    ]
    assert github.requests[1].body == {"title": "new title", "body": "new"}
    assert len(github.pulls) == 1
    assert (github.pulls[0]["title"], github.pulls[0]["body"]) == ("new title", "new")
    assert github.pulls[0]["labels"] == ["bot/promotion", "team: app-sre"]
    assert github.pulls[0]["reviewers"] == ["jdoe", "ada"]


def test_github_draft_without_labels_or_reviewers(github: FakeGitHub) -> None:
    opened = gh_client(github).open_or_update(MergeRequest("b", "main", "t", "d", draft=True))
    assert opened.created
    assert github.lines() == [f"GET {REPO}/pulls?head=app-sre%3Ab&state=open", f"POST {REPO}/pulls"]
    assert github.requests[1].body == {"title": "t", "head": "b", "base": "main", "body": "d", "draft": True}
    assert github.pulls[0]["draft"] is True


def test_github_5xx_is_retried_with_backoff(github: FakeGitHub) -> None:
    slept: list[float] = []
    github.fail_next = [Reply(502, {"message": "Server Error"})]
    opened = gh_client(github, sleep=slept.append).open_or_update(MergeRequest("b", "main", "t", "d"))
    assert opened.created
    assert github.lines() == [
        f"GET {REPO}/pulls?head=app-sre%3Ab&state=open",
        f"GET {REPO}/pulls?head=app-sre%3Ab&state=open",
        f"POST {REPO}/pulls",
    ]
    assert slept == [0.5]


def test_github_5xx_retries_are_bounded(github: FakeGitHub) -> None:
    slept: list[float] = []
    github.fail_next = [Reply(503, {"message": "Service Unavailable"})] * 10
    with pytest.raises(ExternalError, match=r"GitHub GET .*/pulls: 503 Service Unavailable"):
        gh_client(github, sleep=slept.append).open_or_update(MR)
    assert len(github.requests) == 3
    assert slept == [0.5, 1.0]


def test_github_timeout_is_retried(github: FakeGitHub) -> None:
    github.delay_next = [0.6]
    opened = gh_client(github, timeout=0.2, sleep=lambda _s: None).open_or_update(MergeRequest("b", "main", "t", "d"))
    assert opened.created
    assert [r.method for r in github.requests] == ["GET", "GET", "POST"]


def test_github_429_waits_what_retry_after_says(github: FakeGitHub) -> None:
    slept: list[float] = []
    github.fail_next = [Reply(429, {"message": "API rate limit exceeded"}, {"Retry-After": "7"})]
    opened = gh_client(github, sleep=slept.append).open_or_update(MergeRequest("b", "main", "t", "d"))
    assert opened.created
    assert slept == [7.0]
    assert [r.method for r in github.requests] == ["GET", "GET", "POST"]


def test_github_secondary_rate_limit_403_is_retried(github: FakeGitHub) -> None:
    slept: list[float] = []
    limited = {"message": "You have exceeded a secondary rate limit"}
    github.fail_next = [
        Reply(403, limited, {"Retry-After": "2"}),
        Reply(403, limited, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}),  # reset passed
    ]
    opened = gh_client(github, sleep=slept.append).open_or_update(MergeRequest("b", "main", "t", "d"))
    assert opened.created
    assert slept == [2.0, 0.0]


def test_github_retry_after_date_and_rate_limit_reset(github: FakeGitHub) -> None:
    """Retry-After as an HTTP date is read as the date (promoter.http), x-ratelimit-reset as epoch seconds."""
    slept: list[float] = []
    limited = {"message": "API rate limit exceeded"}
    github.fail_next = [
        Reply(429, limited, {"Retry-After": email.utils.formatdate(time.time() + 10, usegmt=True)}),
        Reply(403, limited, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 20)}),
    ]
    opened = gh_client(github, sleep=slept.append).open_or_update(MergeRequest("b", "main", "t", "d"))
    assert opened.created
    assert len(slept) == 2 and 5 <= slept[0] <= 10 and 15 <= slept[1] <= 20
    assert [r.method for r in github.requests] == ["GET", "GET", "GET", "POST"]


def test_github_rate_limit_reset_far_away_gives_up_at_once(github: FakeGitHub) -> None:
    slept: list[float] = []
    github.fail_next = [
        Reply(
            403,
            {"message": "API rate limit exceeded for user ID 1."},
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)},
        )
    ]
    with pytest.raises(ExternalError) as info:
        gh_client(github, sleep=slept.append).open_or_update(MR)
    assert re.fullmatch(
        rf"GitHub GET {REPO}/pulls: 403 API rate limit exceeded for user ID 1\. "
        r"\(rate limited; GitHub asks to wait 3(59\d|600) s: try again later\)",
        str(info.value),
    ), str(info.value)
    assert info.value.exit_code == 4
    assert slept == [] and len(github.requests) == 1


def test_github_plain_403_and_404_are_not_retried(github: FakeGitHub) -> None:
    slept: list[float] = []
    github.fail_next = [Reply(403, {"message": "Resource not accessible by integration"})]
    with pytest.raises(ExternalError) as info:
        gh_client(github, sleep=slept.append).open_or_update(MR)
    assert str(info.value) == f"GitHub GET {REPO}/pulls: 403 Resource not accessible by integration"
    assert info.value.exit_code == 4
    github.fail_next = [Reply(404, {"message": "Not Found"})]
    with pytest.raises(ExternalError, match="404 Not Found"):
        gh_client(github, sleep=slept.append).open_or_update(MR)
    assert slept == [] and len(github.requests) == 2


def test_github_long_rate_limit_gives_up_at_once(github: FakeGitHub) -> None:
    slept: list[float] = []
    github.fail_next = [Reply(429, {"message": "API rate limit exceeded"}, {"Retry-After": "3600"})] * 3
    with pytest.raises(ExternalError) as info:
        gh_client(github, sleep=slept.append).open_or_update(MR)
    assert str(info.value).endswith(
        ": 429 API rate limit exceeded (rate limited; GitHub asks to wait 3600 s: try again later)"
    )
    assert info.value.exit_code == 4
    assert slept == [] and len(github.requests) == 1


def test_github_truncated_reply_is_retried_then_reported(github: FakeGitHub) -> None:
    github.truncate_next = 1
    opened = gh_client(github, sleep=lambda _s: None).open_or_update(MergeRequest("b", "main", "t", "d"))
    assert opened.created
    assert [r.method for r in github.requests] == ["GET", "GET", "POST"]
    github.requests.clear()
    github.truncate_next = 3
    with pytest.raises(ExternalError) as info:
        gh_client(github, sleep=lambda _s: None).open_or_update(MR)
    assert str(info.value) == f"GitHub GET {REPO}/pulls: the answer from {github.url} was cut off (1 bytes came)"
    assert len(github.requests) == 3
    assert GH_TOKEN not in chain_text(info.value)


def test_github_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slept: list[float] = []
    forge = GitHub("o", "r", GH_TOKEN, f"http://127.0.0.1:{port}", sleep=slept.append)
    with pytest.raises(ExternalError, match="cannot reach") as info:
        forge.open_or_update(MR)
    assert slept == [0.5, 1.0]
    assert GH_TOKEN not in chain_text(info.value)


def test_github_lost_create_reply_updates_instead_of_duplicating(github: FakeGitHub) -> None:
    github.lose_reply = {"POST": [Reply(502, {"message": "Server Error"})]}  # the create goes through, unanswered
    opened = gh_client(github, sleep=lambda _s: None).open_or_update(MergeRequest("b", "main", "t", "d"))
    assert opened == Opened("https://github.com/app-sre/qontract-reconcile/pull/1", 1, created=True)
    assert [r.method for r in github.requests] == ["GET", "POST", "POST", "GET", "PATCH"]
    assert len(github.pulls) == 1


def test_github_401_never_shows_the_token(github: FakeGitHub) -> None:
    github.echo_auth = True  # a hostile API that quotes the Authorization header back
    wrong = "ghp_WrongTokenWrongToken"
    forge = gh_client(github, token=wrong)
    with pytest.raises(ExternalError, match="401 Bad credentials") as info:
        forge.open_or_update(MR)
    assert "GITHUB_TOKEN" in str(info.value) and "***" in str(info.value)
    assert wrong not in chain_text(info.value) and wrong not in repr(forge)
    assert info.value.exit_code == 4
    with pytest.raises(ExternalError, match="404 Not Found") as info2:
        GitHub("app-sre", "nope", GH_TOKEN, github.url).open_or_update(MR)
    assert GH_TOKEN not in chain_text(info2.value)


def test_github_422_validation_message_is_surfaced(github: FakeGitHub) -> None:
    with pytest.raises(Refused) as info:
        gh_client(github).open_or_update(MergeRequest("b", "no-such-base", "t", "d"))
    assert str(info.value) == (f"GitHub POST {REPO}/pulls: 422 Validation Failed: PullRequest base invalid")
    assert info.value.exit_code == 3
    github.collaborators = {"jdoe"}
    with pytest.raises(Refused, match="422 Reviews may only be requested from collaborators"):
        gh_client(github).open_or_update(MergeRequest("b", "main", "t", "d", reviewers=("stranger",)))


def test_github_token_follows_a_redirect_only_on_the_same_host(github: FakeGitHub) -> None:
    with running(FakeGitHub(GH_TOKEN)) as other:
        github.fail_next = [Reply(301, {}, {"Location": f"{github.url}{REPO}/pulls?moved=1"})]
        gh_client(github).open_or_update(MergeRequest("b", "main", "t", "d"))
        assert github.requests[1].query == {"moved": ["1"]}
        assert github.requests[1].headers["authorization"] == f"Bearer {GH_TOKEN}"

        github.fail_next = [Reply(301, {}, {"Location": f"{other.url}{REPO}/pulls"})]
        with pytest.raises(ExternalError, match="401 Bad credentials"):
            gh_client(github).open_or_update(MergeRequest("c", "main", "t", "d"))
        assert [r.headers.get("authorization") for r in other.requests] == [None]


def test_gitlab_validation_error_is_surfaced(gitlab: FakeGitLab) -> None:
    with pytest.raises(Refused) as info:
        gl_client(gitlab).open_or_update(MergeRequest("b", "", "t", "d"))
    assert str(info.value) == "GitLab create merge request: 400 target_branch is missing"
    assert info.value.exit_code == 3


def test_no_token_in_logs(gitlab: FakeGitLab, github: FakeGitHub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gl_client(gitlab).open_or_update(MR)
    gh_client(github).open_or_update(MR)
    gitlab.echo_auth = github.echo_auth = True
    for client in (gl_client(gitlab, token="glpat-wrong-one"), gh_client(github, token="ghp_wrong_one")):
        with pytest.raises(ExternalError):
            client.open_or_update(MR)
    assert caplog.records  # urllib3 logs every request at DEBUG
    for token in (GL_TOKEN, GH_TOKEN, "glpat-wrong-one", "ghp_wrong_one"):
        assert token not in caplog.text
