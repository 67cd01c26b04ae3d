"""Forge clients against misbehaving APIs: which merge request is "ours", where a token may go,
how long a rate limit may hold a run, and answers of the wrong shape.

GitLab and GitHub cannot run here: tests/forge_fakes.py holds contract fakes of their public REST
APIs (GitLab REST v4, GitHub REST 2022-11-28), following the documented endpoints, fields and
error bodies exactly; their misbehaviours are named switches there (`ignores_list_filters`,
`misshapen`, `fail_next`), never ad-hoc servers here.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator

import pytest

from promoter.errors import ExternalError, UsageError
from promoter.ship.forge import MergeRequest, Opened, forge_for
from promoter.ship.forge.github import GitHub
from promoter.ship.forge.gitlab import GitLab
from tests.forge_fakes import FakeGitHub, FakeGitLab, Reply, running

GL_TOKEN = "glpat-Tru5tT0kenValue"
GH_TOKEN = "ghp_Tru5tT0kenValue0123456789"
GL_REPO = "git@gitlab.example.com:service/app-interface.git"
PROJECT = "/api/v4/projects/service%2Fapp-interface"
MRS = "/api/v4/projects/13/merge_requests"
PULLS = "/repos/app-sre/qontract-reconcile/pulls"


class Sleeps(list[float]):
    """A fake `sleep` that records what it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    """GitLab's REST API v4 as its docs describe it (a contract fake: GitLab cannot run here)."""
    with running(FakeGitLab(GL_TOKEN)) as server:
        assert isinstance(server, FakeGitLab)
        yield server


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """GitHub's REST API as its docs describe it (a contract fake: GitHub cannot run here)."""
    with running(FakeGitHub(GH_TOKEN)) as server:
        assert isinstance(server, FakeGitHub)
        yield server


@pytest.fixture(autouse=True)
def _no_insecure_forges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMOTER_INSECURE_FORGES", raising=False)


def gl(server: FakeGitLab, sleeps: Sleeps | None = None) -> GitLab:
    return GitLab(
        "service/app-interface", GL_TOKEN, f"{server.url}/api/v4", sleep=sleeps if sleeps is not None else Sleeps()
    )


def gh(server: FakeGitHub, sleeps: Sleeps | None = None) -> GitHub:
    return GitHub(server.owner, server.repo, GH_TOKEN, server.url, sleep=sleeps if sleeps is not None else Sleeps())


PLAIN = MergeRequest("promote/x-2f529cf", "main", "promote x 4e537ab to 2f529cf", "ours")


# --- which merge request is ours ----------------------------------------------------------------


def test_github_updates_only_its_own_pull_request_when_the_server_ignores_head(github: FakeGitHub) -> None:
    """A server that ignores `?head=` lists every open pull request: someone's on another branch
    (first in the list), a fork's from a branch of the same name, a closed one of ours. None of
    them is touched; a new pull request is opened."""
    github.ignores_list_filters = True
    theirs = github.add_pull("feature/login", title="Ada's login work", body="please review")
    fork = github.add_pull(PLAIN.source_branch, title="mallory's", head_owner="mallory")
    gone = github.add_pull(PLAIN.source_branch, title="from a deleted fork", head_owner="eve", head_repo=None)
    closed = github.add_pull(PLAIN.source_branch, title="closed long ago", state="closed")
    before = [dict(p) for p in (theirs, fork, gone, closed)]

    opened = gh(github).open_or_update(PLAIN)

    assert opened == Opened("https://github.com/app-sre/qontract-reconcile/pull/5", 5, created=True)
    assert [dict(p) for p in (theirs, fork, gone, closed)] == before
    assert [r.method for r in github.requests] == ["GET", "POST"]
    # and the next run finds the one it opened, among all the others
    again = gh(github).open_or_update(MergeRequest(**{**PLAIN.__dict__, "title": "new title"}))
    assert again == Opened(opened.url, 5, created=False)
    assert github.requests[-1].line == f"PATCH {PULLS}/5"
    assert (theirs["title"], github.pulls[4]["title"]) == ("Ada's login work", "new title")


def test_github_lost_create_reply_finds_its_own_among_unfiltered(github: FakeGitHub) -> None:
    """After a 422 "already exists" the list is read again: the same check applies there."""
    github.ignores_list_filters = True
    github.add_pull("feature/login", title="Ada's login work")
    github.lose_reply = {"POST": [Reply(502, {"message": "Server Error"})]}  # the create goes through, unanswered
    opened = gh(github).open_or_update(PLAIN)
    assert (opened.number, opened.created) == (2, True)
    assert [r.line.split("?")[0] for r in github.requests] == [
        f"GET {PULLS}",
        f"POST {PULLS}",
        f"POST {PULLS}",
        f"GET {PULLS}",
        f"PATCH {PULLS}/2",
    ]
    assert github.pulls[0]["title"] == "Ada's login work"


def test_gitlab_updates_only_its_own_merge_request_when_the_server_ignores_filters(gitlab: FakeGitLab) -> None:
    """GitLab's list filters (`source_branch`, `state`) ignored: someone's merge request of another
    branch, a fork's of the same branch name (another `source_project_id`) and a closed one of
    ours are left alone."""
    gitlab.ignores_list_filters = True
    theirs = gitlab.add_mr("feature/login", title="Ada's login work", description="please review")
    fork = gitlab.add_mr(PLAIN.source_branch, title="mallory's", source_project_id=666)
    closed = gitlab.add_mr(PLAIN.source_branch, title="closed long ago", state="closed")
    before = [dict(m) for m in (theirs, fork, closed)]

    opened = gl(gitlab).open_or_update(PLAIN)

    assert opened == Opened(f"{gitlab.url}/service/app-interface/-/merge_requests/4", 4, created=True)
    assert [dict(m) for m in (theirs, fork, closed)] == before
    assert [r.method for r in gitlab.requests] == ["GET", "GET", "POST"]
    again = gl(gitlab).open_or_update(MergeRequest(**{**PLAIN.__dict__, "title": "new title"}))
    assert again == Opened(opened.url, 4, created=False)
    assert gitlab.requests[-1].line == f"PUT {MRS}/4"
    assert (theirs["title"], gitlab.mrs[3]["title"]) == ("Ada's login work", "new title")


# --- where a token may go -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "repo", "api_url"),
    [
        ("gitlab", "https://gitlab.corp/service/app-interface", "http://gitlab.corp/api/v4"),
        ("gitlab", "http://gitlab.corp/service/app-interface", None),  # the default API of an http remote
        ("github", "https://ghe.corp/o/r", "http://ghe.corp/api/v3"),
    ],
)
def test_a_token_is_never_sent_over_plain_http_without_opt_in(
    kind: str, repo: str, api_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = {"gitlab": "GITLAB_TOKEN", "github": "GITHUB_TOKEN"}[kind]
    env = {var: GL_TOKEN}
    host = "gitlab.corp" if kind == "gitlab" else "ghe.corp"
    with pytest.raises(UsageError) as err:
        forge_for(kind, repo, token_env=env, api_url=api_url)
    text = str(err.value)
    assert f"refusing to send {var} over plain http to {host}" in text
    assert f"PROMOTER_INSECURE_FORGES={host}" in text and "https" in text
    assert GL_TOKEN not in text and err.value.exit_code == 2
    monkeypatch.setenv("PROMOTER_INSECURE_FORGES", f"other.corp, {host}")  # the explicit opt-in
    assert forge_for(kind, repo, token_env=env, api_url=api_url).api_url.startswith(f"http://{host}/")  # type: ignore[attr-defined]
    monkeypatch.setenv("PROMOTER_INSECURE_FORGES", "other.corp")
    with pytest.raises(UsageError):
        forge_for(kind, repo, token_env=env, api_url=api_url)


def test_clients_built_directly_refuse_plain_http_too() -> None:
    with pytest.raises(UsageError, match="PROMOTER_INSECURE_FORGES"):
        GitLab("g/p", GL_TOKEN, "http://gitlab.corp/api/v4")
    with pytest.raises(UsageError, match="PROMOTER_INSECURE_FORGES"):
        GitHub("o", "r", GH_TOKEN, "http://ghe.corp/api/v3")
    GitLab("g/p", GL_TOKEN, "http://127.0.0.1:9/api/v4")  # loopback: allowed
    GitHub("o", "r", GH_TOKEN, "http://localhost:9")


def test_gitlab_token_follows_a_redirect_only_on_its_origin(gitlab: FakeGitLab) -> None:
    with running(FakeGitLab(GL_TOKEN)) as other:
        gitlab.fail_next = [Reply(301, {}, {"Location": f"{gitlab.url}{PROJECT}?moved=1"})]
        gl(gitlab).open_or_update(MergeRequest("b", "master", "t", "d"))
        assert gitlab.requests[1].query == {"moved": ["1"]}
        assert gitlab.requests[1].headers["private-token"] == GL_TOKEN

        gitlab.fail_next = [Reply(301, {}, {"Location": f"{other.url}{PROJECT}"})]
        with pytest.raises(ExternalError, match="401 Unauthorized") as err:
            gl(gitlab).open_or_update(MergeRequest("c", "master", "t", "d"))
        assert [r.headers.get("private-token") for r in other.requests] == [None]
        assert GL_TOKEN not in str(err.value)


# --- bounded waits ------------------------------------------------------------------------------


def test_gitlab_retry_after_longer_than_the_cap_ends_at_once(gitlab: FakeGitLab) -> None:
    """python-gitlab slept whatever Retry-After said (a year: a hung run); now: exit 4, no sleep."""
    sleeps = Sleeps()
    gitlab.fail_next = [Reply(429, {"message": "429 Too Many Requests"}, {"Retry-After": str(365 * 86400)})]
    with pytest.raises(ExternalError) as err:
        gl(gitlab, sleeps).open_or_update(PLAIN)
    assert str(err.value) == (
        "GitLab GET project service/app-interface: 429 Too Many Requests "
        "(rate limited; GitLab asks to wait 31536000 s: try again later)"
    )
    assert err.value.exit_code == 4 and sleeps == [] and len(gitlab.requests) == 1


def test_gitlab_retry_after_as_an_http_date_and_ratelimit_reset(gitlab: FakeGitLab) -> None:
    sleeps = Sleeps()
    gitlab.fail_next = [
        Reply(
            429, {"message": "429 Too Many Requests"}, {"Retry-After": email.utils.formatdate(time.time() + 10, True)}
        ),
        Reply(429, {"message": "429 Too Many Requests"}, {"RateLimit-Reset": str(int(time.time()) + 20)}),
    ]
    assert gl(gitlab, sleeps).open_or_update(PLAIN).created
    assert len(sleeps) == 2 and 5 <= sleeps[0] <= 10 and 15 <= sleeps[1] <= 20
    gitlab.requests.clear()
    gitlab.fail_next = [
        Reply(429, {"message": "429 Too Many Requests"}, {"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"})
    ]
    with pytest.raises(ExternalError, match=r"rate limited; GitLab asks to wait \d+ s: try again later"):
        gl(gitlab, Sleeps()).open_or_update(PLAIN)
    assert len(gitlab.requests) == 1


@pytest.mark.parametrize("value", ["-5", "soon", "1e9999", "Wed, 45 Foo 2015 99:00:00 GMT"])
def test_gitlab_negative_or_malformed_retry_after_is_a_bounded_retry_then_exit_4(
    gitlab: FakeGitLab, value: str
) -> None:
    sleeps = Sleeps()
    gitlab.fail_next = [Reply(429, {"message": "429 Too Many Requests"}, {"Retry-After": value})] * 5
    with pytest.raises(ExternalError) as err:
        gl(gitlab, sleeps).open_or_update(PLAIN)
    assert str(err.value) == "GitLab GET project service/app-interface: 429 Too Many Requests"
    assert err.value.exit_code == 4
    assert sleeps == [0.5, 1.0] and len(gitlab.requests) == 3  # the back-off, bounded


@pytest.mark.parametrize("value", ["-5", "soon", "Wed, 45 Foo 2015 99:00:00 GMT"])
def test_github_negative_or_malformed_retry_after_is_a_bounded_retry_then_exit_4(
    github: FakeGitHub, value: str
) -> None:
    """Not read as "a minute" (a wait GitHub never asked for): the back-off, then exit 4."""
    sleeps = Sleeps()
    github.fail_next = [Reply(429, {"message": "API rate limit exceeded"}, {"Retry-After": value})] * 5
    with pytest.raises(ExternalError) as err:
        gh(github, sleeps).open_or_update(PLAIN)
    assert str(err.value) == f"GitHub GET {PULLS}: 429 API rate limit exceeded"
    assert err.value.exit_code == 4
    assert sleeps == [0.5, 1.0] and len(github.requests) == 3


# --- answers of the wrong shape -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "answer", "said"),
    [
        (
            f"GET {PROJECT}",
            Reply(200, [{"id": 13}]),
            "GET project service/app-interface: answered a list where an object",
        ),
        (
            f"GET {PROJECT}",
            Reply(200, {"id": "13"}),
            "GET project service/app-interface: answered without a numeric id",
        ),
        (f"GET {PROJECT}", Reply(200, {"id": True}), "answered without a numeric id"),
        (f"GET {PROJECT}", Reply(200, b"<html>login</html>"), "answered 200 with something else than JSON"),
        ("GET /api/v4/users", Reply(200, {"id": 101}), "look up user jdoe: answered an object where a list"),
        ("GET /api/v4/users", Reply(200, [{"username": "jdoe", "id": "101"}]), "look up user jdoe: answered without"),
        (f"GET {MRS}", Reply(200, {"iid": 1}), "list merge requests: answered an object where a list"),
        (f"GET {MRS}", Reply(200, ["!1"]), "list merge requests: answered a string where an object"),
        (f"POST {MRS}", Reply(201, [{"iid": 1}]), "create merge request: answered a list where an object"),
        (f"POST {MRS}", Reply(201, {"iid": "1", "web_url": "x"}), "answered without a numeric iid"),
    ],
)
def test_gitlab_answers_of_the_wrong_shape_are_exit_4(gitlab: FakeGitLab, where: str, answer: Reply, said: str) -> None:
    gitlab.misshapen = {where: [answer]}
    with pytest.raises(ExternalError) as err:
        gl(gitlab).open_or_update(MergeRequest(**{**PLAIN.__dict__, "reviewers": ("jdoe",)}))
    assert said in str(err.value), str(err.value)
    assert str(err.value).startswith("GitLab ") and err.value.exit_code == 4


def test_gitlab_string_iid_of_an_existing_merge_request_is_exit_4(gitlab: FakeGitLab) -> None:
    mr = gitlab.add_mr(PLAIN.source_branch)
    listed = {**gitlab._mr_json(mr), "iid": "1/../../../users"}
    gitlab.misshapen = {f"GET {MRS}": [Reply(200, [listed])]}
    with pytest.raises(ExternalError, match="list merge requests: answered without a numeric iid"):
        gl(gitlab).open_or_update(PLAIN)
    assert [r.method for r in gitlab.requests] == ["GET", "GET"]  # nothing sent to a path built from it


@pytest.mark.parametrize(
    ("where", "answer", "said"),
    [
        (f"GET {PULLS}", Reply(200, {"number": 1}), "with something else than a list"),
        (f"GET {PULLS}", Reply(200, ["#1"]), "GitHub GET pulls: answered a string where an object was expected"),
        (f"POST {PULLS}", Reply(201, [{"number": 1}]), "GitHub POST pulls: answered a list where an object"),
        (f"POST {PULLS}", Reply(201, {"number": "1"}), "GitHub answered a pull request without its number"),
        (f"GET {PULLS}", Reply(200, b"<html>sign in</html>"), "GitHub answered with something else than JSON"),
    ],
)
def test_github_answers_of_the_wrong_shape_are_exit_4(github: FakeGitHub, where: str, answer: Reply, said: str) -> None:
    github.misshapen = {where: [answer]}
    with pytest.raises(ExternalError) as err:
        gh(github).open_or_update(PLAIN)
    assert said in str(err.value), str(err.value)
    assert err.value.exit_code == 4


def test_no_python_gitlab_in_the_dependencies() -> None:
    """The GitLab client is promoter.http's like GitHub's: python-gitlab is no dependency any more."""
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] and not [d for d in project["dependencies"] if "gitlab" in d.lower()]
