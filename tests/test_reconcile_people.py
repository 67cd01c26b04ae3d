"""`promoter reconcile` keeps people's work and their merge requests (issue 18).

Real git repositories (upstreams, the config repository, its bare remote recording push options)
and, for the API method, the contract fakes of GitLab's and GitHub's REST APIs in
tests/forge_fakes.py: GitLab and GitHub cannot run here, so these are local HTTP servers on
127.0.0.1 that follow their public API documentation. A registry that goes down is a real HTTP
server on 127.0.0.1 too (tests/registry_fixtures.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import git
from tests.forge_fakes import FakeGitHub, FakeGitLab, Reply, running
from tests.test_reconcile import NOW, TOKEN, Fleet, commit, taken

GL_TOKEN = "glpat-people"
PULLS = "/repos/org/config/pulls"


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    return Fleet(tmp_path)


def _clone(fleet: Fleet, tmp_path: Path, branch: str) -> Path:
    """A person's clone of the remote, on `branch`."""
    other = tmp_path / "person"
    if not other.exists():
        git(tmp_path, "clone", "-q", str(fleet.remote), str(other))
    git(other, "fetch", "-q", "origin")
    git(other, "switch", "-q", "-C", branch, f"origin/{branch}")
    return other


def _amend(other: Path, branch: str, *, content: bool, message: str | None = None) -> str:
    """The person's `git commit --amend` of promoter's commit on `branch` (its trailers kept),
    force-pushed: with another content (`content`), or only another message/author."""
    if content:
        path = other / "prod.yaml"
        path.write_text(path.read_text() + "# reviewed by hand: keep this\n")
        git(other, "add", "prod.yaml")
    args = ["commit", "-q", "--amend", "--reset-author"]
    if message is not None:
        args += ["-m", message]
    else:
        args += ["--no-edit"]
    git(other, *args, env={"GIT_AUTHOR_NAME": "Grace", "GIT_AUTHOR_EMAIL": "grace@example.com"})
    git(other, "push", "-q", "--force", "origin", branch)
    return git(other, "rev-parse", "HEAD")


# -- own commits: proven by their content, not by their trailers ---------------------------------


def test_an_amended_promotion_with_another_content_is_refused_never_force_pushed(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, tmp_path: Path
) -> None:
    """A person amends promoter's commit (trailers kept, content changed): the next run, the
    upstream having moved, refuses to update the branch and says why; the person's commit stays."""
    assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
    other = _clone(fleet, tmp_path, "promote/app")
    theirs = _amend(other, "promote/app", content=True)
    assert "Promoted-Hash: " in git(fleet.remote, "log", "-1", "--format=%B", "promote/app")  # trailers kept

    code, out, err = run("-C", fleet.config, "reconcile", "--push")  # nothing new upstream
    assert code == 3, out + err
    assert "app: merge request: error" in out and "holds commits that are not promoter's" in out
    assert theirs[:12] in out and fleet.tip("promote/app") == theirs

    commit(fleet.ups["app"], "app3", NOW - 3600)  # the upstream moves: an update would force-push
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 3, out + err
    assert "holds commits that are not promoter's" in out and "left as it is" in out
    assert fleet.tip("promote/app") == theirs  # never force-pushed away


def test_an_amend_of_the_message_or_author_alone_keeps_promoters_content_and_is_updated(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, tmp_path: Path
) -> None:
    """Content is what matters: a commit holding exactly what promoter built (its Promoted-Hash
    recomputed from its own change) is promoter's, whoever is its author and whatever its message
    says besides; such a branch is updated as before."""
    assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
    other = _clone(fleet, tmp_path, "promote/app")
    message = git(other, "log", "-1", "--format=%B").replace("promote app:", "promote app (looked at it):", 1)
    theirs = _amend(other, "promote/app", content=False, message=message)
    new = commit(fleet.ups["app"], "app3", NOW - 3600)
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 0, out + err
    assert "app: merge request: update" in out
    assert fleet.tip("promote/app") != theirs
    assert f"ref: {new}" in git(fleet.remote, "show", "promote/app:prod.yaml")


def test_a_trailer_copied_onto_other_work_proves_nothing(tmp_path: Path) -> None:
    """`commit.proven` on hand-made commits: the trailers of a promotion on a commit whose change
    is not the one they hash (another content, a file more, a mode change, a deletion, a merge) are
    not promoter's; the very content with another message is."""
    from promoter.ship.commit import HASH_TRAILER, content_hash, proven
    from promoter.upstream.git import Git

    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.yaml").write_text("ref: 1111111\n")
    (repo / "b.yaml").write_text("ref: 1111111\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    text = "ref: 2222222\n"
    trailers = f"Promoted-Component: app\n{HASH_TRAILER}: {content_hash('app', {'a.yaml': text.encode()})}\n"

    def made(name: str, *, edit: dict[str, str], mode: int | None = None, remove: str | None = None) -> str:
        git(repo, "switch", "-q", "-C", name, base)
        for f, t in edit.items():
            (repo / f).write_text(t)
            if mode is not None:
                (repo / f).chmod(mode)
        if remove is not None:
            (repo / remove).unlink()
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"promote app\n\n{trailers}")
        return git(repo, "rev-parse", "HEAD")

    ours = made("ours", edit={"a.yaml": text})
    other_content = made("content", edit={"a.yaml": "ref: 3333333\n"})
    file_more = made("more", edit={"a.yaml": text, "b.yaml": "ref: 3333333\n"})
    re_moded = made("mode", edit={"a.yaml": text}, mode=0o755)
    deleted = made("deleted", edit={"a.yaml": text}, remove="b.yaml")
    g = Git(repo)
    for sha in (other_content, file_more, re_moded, deleted):
        foreign, own = proven(g, base, sha)
        assert [s for s, _ in foreign] == [sha] and own == {}
    assert proven(g, base, ours) == ([], {ours: content_hash("app", {"a.yaml": text.encode()})})
    git(repo, "switch", "-q", "ours")
    git(repo, "commit", "-q", "--amend", "-m", f"another message, the same content\n\n{trailers}")
    assert proven(g, base, git(repo, "rev-parse", "HEAD"))[0] == []
    git(repo, "switch", "-q", "-c", "merged", base)
    git(repo, "merge", "-q", "--no-ff", "-m", f"merge\n\n{trailers}", "ours")
    merge = git(repo, "rev-parse", "HEAD")
    assert merge in [s for s, _ in proven(g, base, merge)[0]]


def test_a_promotion_stored_with_the_repositorys_eol_conversion_is_still_promoters(tmp_path: Path) -> None:
    """When git stores a text as its attributes say (`eol=crlf`: LF in the blob, CRLF as written),
    the content promoter wrote is what git checks out: still proven promoter's own."""
    from promoter.ship.commit import HASH_TRAILER, content_hash, proven
    from promoter.upstream.git import Git

    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitattributes").write_text("*.yaml text eol=crlf\n")
    (repo / "a.yaml").write_bytes(b"ref: 1111111\r\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    written = b"ref: 2222222\r\n"  # what promoter wrote in the working tree
    (repo / "a.yaml").write_bytes(written)
    git(repo, "add", "a.yaml")  # git stores LF
    assert git(repo, "cat-file", "blob", ":a.yaml") == "ref: 2222222"
    digest = content_hash("app", {"a.yaml": written})
    git(repo, "commit", "-qm", f"promote app\n\nPromoted-Component: app\n{HASH_TRAILER}: {digest}\n")
    tip = git(repo, "rev-parse", "HEAD")
    assert proven(Git(repo), base, tip) == ([], {tip: digest})


def test_promote_push_refuses_to_rebuild_on_an_amended_promotion(fleet: Fleet, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`promote --push` whose push is rejected because a colleague's branch is there: a commit of
    promoter's with a person's content amended in is not built upon (it would ride along)."""
    from promoter.cli import main

    a = fleet.shas["app"]
    branch = f"promote/app-{a[2][:7]}"
    other = tmp_path / "colleague"
    git(tmp_path, "clone", "-q", str(fleet.remote), str(other))
    assert main(["-C", str(other), "promote", "app", "--env", "integration", "--yes", "--commit"]) == 0
    (other / "int.yaml").write_text((other / "int.yaml").read_text() + "# and something else\n")
    git(other, "commit", "-q", "-a", "--amend", "--no-edit")  # the trailers stay
    git(other, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    theirs = git(other, "rev-parse", "HEAD")

    code, out, err = run("-C", fleet.config, "promote", "app", "--yes", "--push")
    assert code == 3, out + err
    assert f"origin's {branch} holds commits that are not promoter's: {theirs[:12]}" in err
    assert fleet.tip(branch) == theirs


# -- a transient failure never closes an open merge request ---------------------------------------


def test_an_unreachable_upstream_leaves_the_open_merge_request_alone(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
        (ours,) = gh.pulls
        taken(gh)
        shutil.move(fleet.ups["app"], fleet.root / "app-gone")  # unreachable for one run
        code, out, err = run("-C", fleet.config, "reconcile", "--push", "-o", "json")
        assert code == 4, out + err
        (app,) = [c for c in json.loads(out)["components"] if c["component"] == "app"]
        assert app["merge_request"]["action"] == "leave" and "could not be decided" in app["merge_request"]["reason"]
        assert ours["state"] == "open" and taken(gh) == [f"GET {PULLS}?state=open&per_page=100&page=1"]

        shutil.move(fleet.root / "app-gone", fleet.ups["app"])  # back: left as it was
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0 and "app: merge request: leave" in out, out + err
        assert ours["state"] == "open" and len(gh.pulls) == 1


def test_a_registry_down_for_one_run_leaves_the_open_merge_request_alone(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.registry_fixtures import Server, error_body, reply, serves_manifest

    def unavailable(req) -> None:  # type: ignore[no-untyped-def]
        reply(req, 503, {"Retry-After": "0", "Content-Type": "application/json"}, error_body("UNAVAILABLE", "down"))

    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh, Server(serves_manifest()) as registry:
        path = fleet.config / "promotion.yaml"
        path.write_text(
            path.read_text().replace(
                "    depends_on: [schemas]\n", f"    depends_on: [schemas]\n    image: {registry.host}/org/app\n"
            )
        )
        git(fleet.config, "commit", "-qam", "image gate")
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
        (ours,) = gh.pulls
        registry.behaviour = unavailable
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 4, out + err
        assert "app: merge request: leave" in out and "its merge request is left as it is" in out
        assert ours["state"] == "open" and "comments" not in ours


def test_nothing_left_to_promote_still_closes(fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The decision that there is nothing left to promote (here: every environment held) closes
    it, saying so."""
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
        (ours,) = gh.pulls
        assert run("-C", fleet.config, "hold", "app", "--reason", "incident 7", "--push")[0] == 0
        git(fleet.config, "switch", "-q", "main")
        git(fleet.config, "fetch", "-q", "origin")
        git(fleet.config, "merge", "-q", "--ff-only", f"origin/{gh.pulls[-1]['head']}")
        git(fleet.config, "push", "-q", "origin", "main")
        gh.pulls[-1]["state"], gh.pulls[-1]["merged_at"] = "closed", "2026-01-01T00:00:00Z"
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code in (0, 3), out + err  # held: the policy working (exit 0 on main since the held job stays green)
        assert "app: merge request: close" in out and ours["state"] == "closed"


# -- declined: a merge request a person closed is not reopened by every run -----------------------


def _close_by_hand(gh: FakeGitHub, head: str) -> dict[str, object]:
    (pull,) = [p for p in gh.pulls if p["head"] == head and p["state"] == "open"]
    pull["state"] = "closed"  # closed, not merged (no merged_at)
    return pull


def test_a_pull_request_a_person_closed_is_declined_until_the_promotion_changes(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
        closed = _close_by_hand(gh, "promote/app")
        tip = fleet.tip("promote/app")
        taken(gh)
        for _ in range(2):  # every run: reported, not reopened, exit 0 (a person's decision)
            code, out, err = run("-C", fleet.config, "reconcile", "--push", "-o", "json")
            assert code == 0, out + err
            (app,) = [c for c in json.loads(out)["components"] if c["component"] == "app"]
            mr = app["merge_request"]
            assert mr["action"] == "declined" and mr["url"] == "https://github.com/org/config/pull/1"
            assert "a person closed" in mr["reason"] and "opens again when the promotion changes" in mr["reason"]
            assert [p["state"] for p in gh.pulls] == ["closed"] and fleet.tip("promote/app") == tip
            assert taken(gh) == [
                f"GET {PULLS}?state=open&per_page=100&page=1",
                f"GET {PULLS}?head=org%3Apromote%2Fapp&state=closed&per_page=100",
            ]
        code, out, err = run("-C", fleet.config, "reconcile", "--push", "-o", "markdown")
        assert "[declined](https://github.com/org/config/pull/1) (closed by a person" in out

        new = commit(fleet.ups["app"], "app3", NOW - 3600)  # the promotion changes: opened again
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0 and "app: merge request: update" in out, out + err
        assert [p["state"] for p in gh.pulls] == ["closed", "open"] and new[:7] in gh.pulls[1]["title"]
        assert closed["state"] == "closed"


def test_declined_also_when_the_person_deleted_the_branch(fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with running(FakeGitLab(GL_TOKEN)) as gl:
        assert isinstance(gl, FakeGitLab)
        web = "https://gitlab.example.com/service/app-interface.git"
        fleet.use_api("gitlab", web, f"{gl.url}/api/v4", GL_TOKEN, monkeypatch)
        assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
        (ours,) = gl.mrs
        ours["state"] = "closed"  # closed by a person, its branch deleted too
        git(fleet.remote, "branch", "-q", "-D", "promote/app")
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0, out + err
        assert f"app: merge request: declined {ours['web_url']}" in out
        assert len(gl.mrs) == 1 and "promote/app" not in git(fleet.remote, "branch", "--list")


def test_a_merged_or_promoter_closed_one_is_no_decline(fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Only a person's close declines: a merge request promoter closed itself (nothing to promote
    any more, then the same promotion again) and a merged one do not."""
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
        a, path = fleet.shas["app"], fleet.config / "promotion.yaml"
        blocked = f"    depends_on: [schemas]\n    blocked: [{a[2][:7]}, {a[1][:7]}]\n"
        path.write_text(path.read_text().replace("    depends_on: [schemas]\n", blocked))
        git(fleet.config, "commit", "-qam", "block")
        git(fleet.config, "push", "-q", "origin", "main")
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert "app: merge request: close" in out and gh.pulls[0]["state"] == "closed", out + err
        git(fleet.config, "revert", "--no-edit", "HEAD")
        git(fleet.config, "push", "-q", "origin", "main")
        code, out, err = run("-C", fleet.config, "reconcile", "--push")  # the same promotion again
        assert code == 0 and "app: merge request: open" in out, out + err
        assert [p["state"] for p in gh.pulls] == ["closed", "open"]

        gh.pulls[1]["merged_at"], gh.pulls[1]["state"] = "2026-01-01T00:00:00Z", "closed"  # merged elsewhere
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert "declined" not in out, out


def test_with_push_options_a_closed_merge_request_is_not_reopened_while_its_branch_stays(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    """Push options have no API to ask: nothing is pushed while the remote branch holds exactly the
    promotion (so GitLab opens nothing again); a new promotion is pushed, and opens one."""
    assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
    (fleet.remote / "options").unlink()
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 0 and "app: merge request: leave" in out
    assert not (fleet.remote / "options").exists()
    commit(fleet.ups["app"], "app3", NOW - 3600)
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert "app: merge request: update" in out and "merge_request.create" in (fleet.remote / "options").read_text()


# -- superseded merge requests are closed by every run; a failed close is retried ------------------


def test_superseded_ones_are_closed_also_by_a_run_that_leaves_its_own(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
        by_hand = gh.add_pull("promote/app-1234567")  # a `promote --push` since
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0 and "app: merge request: leave" in out, out + err
        assert by_hand["state"] == "closed"
        assert by_hand["comments"] == ["Superseded by https://github.com/org/config/pull/1 (promoter reconcile)."]


def test_a_close_that_failed_is_said_and_retried_by_the_next_run(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        older = gh.add_pull("promote/app-1234567")
        gh.misshapen[f"PATCH {PULLS}/1"] = [Reply(403, {"message": "Resource not accessible by integration"})]
        code, out, err = run("-C", fleet.config, "reconcile", "--push", "-o", "json")
        assert code == 4, out + err  # the close failed on the forge: said, exit 4
        (app,) = [c for c in json.loads(out)["components"] if c["component"] == "app"]
        mr = app["merge_request"]
        assert mr["action"] == "open" and mr["url"] == "https://github.com/org/config/pull/2"  # its own is done
        (said,) = mr["not_closed"]
        assert "https://github.com/org/config/pull/1" in said and "403" in said and "tried again next run" in said
        assert older["state"] == "open"

        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0 and "app: merge request: leave" in out, out + err
        assert older["state"] == "closed" and "closed https://github.com/org/config/pull/1" in out


# -- --max-open with push options ----------------------------------------------------------------


def test_max_open_counts_the_promotion_branches_on_the_remote_with_push_options(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    commit(fleet.ups["schemas"], "schemas3", NOW - 3600)
    assert run("-C", fleet.config, "reconcile", "schemas", "--push")[0] == 0  # one open (its branch)
    assert git(fleet.remote, "branch", "--list", "promote/*") == "promote/schemas"
    code, out, err = run("-C", fleet.config, "reconcile", "--push", "--max-open", "1")
    assert code == 0, out + err
    assert "app: merge request: wait (--max-open 1: 1 promotion merge requests are open)" in out
    assert "promote/app" not in git(fleet.remote, "branch", "--list")
    code, out, err = run("-C", fleet.config, "reconcile", "--push", "--max-open", "2")
    assert "app: merge request: open" in out and git(fleet.remote, "rev-parse", "promote/app")


# -- `promote --push` again on a branch that brings nothing: no branch, no merge request -----------


def test_promote_push_on_a_branch_that_changes_nothing_pushes_nothing(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    a = fleet.shas["app"]
    for name in ("int.yaml", "prod.yaml"):  # main runs a[2] already
        (fleet.config / name).write_text(f"ref: {a[2]}\n")
    git(fleet.config, "commit", "-qam", "promoted by hand")
    git(fleet.config, "push", "-q", "origin", "main")
    (fleet.remote / "options").unlink()  # the pre-receive hook writes it at every push
    branch = f"promote/app-{a[2][:7]}"
    git(fleet.config, "switch", "-q", "-c", branch)  # its promotion branch, holding nothing of its own
    code, out, err = run("-C", fleet.config, "promote", "app", "--yes", "--push")
    assert code == 0, out + err
    assert f"app: nothing to promote: {branch} changes nothing over origin's main; nothing pushed" in out
    assert branch not in git(fleet.remote, "branch", "--list") and not (fleet.remote / "options").exists()


def test_promote_push_again_on_its_branch_still_pushes_a_real_promotion(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    """The re-run path itself still works: a promotion committed whose push failed is pushed."""
    a = fleet.shas["app"]
    branch = f"promote/app-{a[2][:7]}"
    assert run("-C", fleet.config, "promote", "app", "--yes", "--commit")[0] == 0
    code, out, err = run("-C", fleet.config, "promote", "app", "--yes", "--push")
    assert code == 0, out + err
    assert f"pushed {branch} to origin" in out and fleet.tip(branch) == git(fleet.config, "rev-parse", "HEAD")


def test_closed_requests_are_the_branchs_own_closed_unmerged_ones_whatever_the_server_lists() -> None:
    """The forge clients' `closed_requests`, on both contract fakes made to ignore the list's
    filters: only this repository's own branch, closed and not merged (GitHub: no `merged_at`;
    GitLab: `closed`, not `merged`), never a fork's same-named branch."""
    from promoter.ship.forge.github import GitHub
    from promoter.ship.forge.gitlab import GitLab

    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        assert isinstance(gh, FakeGitHub)
        gh.ignores_list_filters = True
        gh.add_pull("promote/app", body="open one")
        gh.add_pull("promote/app", body="declined", state="closed")
        gh.add_pull("promote/app", body="merged", merged=True)
        gh.add_pull("promote/app", body="a fork's", state="closed", head_owner="eve", head_repo="eve/config")
        gh.add_pull("promote/other", body="another branch", state="closed")
        found = GitHub("org", "config", TOKEN, gh.url, attempts=1).closed_requests("promote/app")
        assert [(r.number, r.description, r.source_branch) for r in found] == [(2, "declined", "promote/app")]
        assert gh.lines() == [f"GET {PULLS}?head=org%3Apromote%2Fapp&state=closed&per_page=100"]

    with running(FakeGitLab(GL_TOKEN)) as gl:
        assert isinstance(gl, FakeGitLab)
        gl.ignores_list_filters = True
        gl.add_mr("promote/app", description="open one")
        gl.add_mr("promote/app", description="declined", state="closed")
        gl.add_mr("promote/app", description="merged", state="merged")
        gl.add_mr("promote/app", description="a fork's", state="closed", source_project_id=99)
        gl.add_mr("promote/other", description="another branch", state="closed")
        client = GitLab("service/app-interface", GL_TOKEN, f"{gl.url}/api/v4", attempts=1)
        found = client.closed_requests("promote/app")
        assert [(r.number, r.description) for r in found] == [(2, "declined")]
        assert (
            gl.lines()[-1]
            == "GET /api/v4/projects/13/merge_requests?state=closed&source_branch=promote%2Fapp&per_page=100"
        )


def test_a_verify_endpoint_that_cannot_be_reached_leaves_the_open_merge_request_alone(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage outage is no verdict on the candidate: a `verify: http` check that cannot reach its
    server is an error of the network (exit 4), so the open merge request is neither narrowed to
    the environments that could still move nor closed; the check failing for real is `unverified`."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    answer = {"body": b"ok"}

    class Stage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer["body"])))
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, *args: object) -> None:
            pass

    stage = ThreadingHTTPServer(("127.0.0.1", 0), Stage)
    threading.Thread(target=stage.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{stage.server_address[1]}/version"
    path = fleet.config / "promotion.yaml"
    verify = f"environments:\n  production:\n    verify:\n      - http: {url}\n        expect: ok\n"
    path.write_text(path.read_text() + verify)
    git(fleet.config, "commit", "-qam", "verify production")
    git(fleet.config, "push", "-q", "origin", "main")
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
        (ours,) = gh.pulls
        pushed = fleet.tip("promote/app")
        stage.shutdown()
        stage.server_close()  # the stage is down for this run
        code, out, err = run("-C", fleet.config, "reconcile", "--push", "-o", "json")
        assert code == 4, out + err
        (app,) = [c for c in json.loads(out)["components"] if c["component"] == "app"]
        production = next(e for e in app["environments"] if e["environment"] == "production")
        assert production["action"] == "error" and url in production["reason"]
        assert app["merge_request"]["action"] == "leave", app["merge_request"]
        assert ours["state"] == "open" and fleet.tip("promote/app") == pushed
        # plan says it the same way: a failure of the network (exit 4), not a refusal of the candidate
        code, out, err = run("-C", fleet.config, "plan", "app", "--env", "production")
        assert code == 4 and "could not be reached" in err and url in err, err
