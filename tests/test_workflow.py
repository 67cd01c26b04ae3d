"""The workflow around a promotion, on real repositories: upstream checks, dependencies, commit, push.

Upstreams, the config repository and its remote are real git repositories in temp dirs; the
remote advertises push options and records what its pre-receive hook sees.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.conftest import git, make_repo, snapshot

NOW = int(time.time())
HOUR = 3600


def commit(repo: Path, name: str, when: int, author: str = "Ada Lovelace <ada@example.com>") -> str:
    (repo / "log").write_text(((repo / "log").read_text() if (repo / "log").exists() else "") + name + "\n")
    git(repo, "add", "log")
    who, mail = author[:-1].split(" <")
    env = {
        "GIT_AUTHOR_NAME": who,
        "GIT_AUTHOR_EMAIL": mail,
        "GIT_AUTHOR_DATE": f"@{when} +0000",
        "GIT_COMMITTER_DATE": f"@{when} +0000",
    }
    git(repo, "commit", "-q", "-m", name, env=env)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def world(tmp_path: Path) -> dict[str, object]:
    """Two upstreams (schemas, reconcile depends on it), a config repo and its bare remote."""
    schemas, reconcile = tmp_path / "schemas", tmp_path / "reconcile"
    for up in (schemas, reconcile):
        up.mkdir()
        git(up, "init", "-q", "-b", "main")
    s = [commit(schemas, f"s{i}", NOW - (50 - i) * HOUR) for i in range(3)]  # s0 s1 s2: 50h..48h ago
    r = [commit(reconcile, f"r{i}", NOW - (40 - i * 10) * HOUR) for i in range(4)]  # 40h 30h 20h 10h ago
    config = f"""version: 1
merge_request:
  labels: [promotion, bot]
components:
  schemas:
    repo: https://github.com/example/schemas
    fetch: {schemas}
    branch: main
    targets:
      - {{name: env, environment: ci, file: .env, env: SCHEMAS_TAG}}
  reconcile:
    repo: https://github.com/example/reconcile
    fetch: {reconcile}
    branch: main
    depends_on: [schemas]
    targets:
      - {{name: prod, environment: production, file: saas.yaml, saas: {{}}}}
      - {{name: env, environment: ci, file: .env, env: RECONCILE_TAG}}
"""
    files = {
        "promotion.yaml": config,
        "saas.yaml": (
            "resourceTemplates:\n- name: r\n  url: https://github.com/example/reconcile\n  targets:\n"
            f"  - ref: main\n  - ref: {r[1]}\n"
        ),
        ".env": f"SCHEMAS_TAG={s[2][:7]}\nRECONCILE_TAG={r[1][:7]}\n",
        "README": "config repo\n",
    }
    repo = make_repo(tmp_path / "config", files)
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(remote, "config", "receive.advertisePushOptions", "true")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        '#!/bin/sh\ncat >/dev/null\n: > "$GIT_DIR/options"\ni=0\n'
        'while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do\n'
        '  eval "echo \\"\\$GIT_PUSH_OPTION_$i\\"" >> "$GIT_DIR/options"\n  i=$((i+1))\ndone\n'
    )
    hook.chmod(0o755)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    return {"schemas": schemas, "reconcile": reconcile, "s": s, "r": r, "repo": repo, "remote": remote}


def test_downgrade_is_refused_unless_allowed(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "reconcile", r[0], "--yes", "--ignore-deps")
    assert code == 3
    assert f"reconcile: {r[0][:7]} is older than {r[1][:7]}, which prod, env already run" in err
    assert "--allow-downgrade" in err
    assert snapshot(repo) == before
    code, out, err = run("-C", repo, "promote", "reconcile", r[0], "--yes", "--ignore-deps", "--allow-downgrade")
    assert code == 0, err
    assert "note: rolling back prod, env from" in err


def test_candidate_off_the_branch_is_refused_unless_allowed(world, run) -> None:  # type: ignore[no-untyped-def]
    up, repo = world["reconcile"], world["repo"]
    git(up, "switch", "-q", "-c", "feature")
    side = commit(up, "side", NOW - 5 * HOUR)
    git(up, "switch", "-q", "main")
    code, out, err = run("-C", repo, "plan", "reconcile", side, "--ignore-deps")
    assert code == 3
    assert f"reconcile: {side[:7]} is not on main" in err and "--allow-unmerged" in err
    code, out, err = run("-C", repo, "plan", "reconcile", side, "--ignore-deps", "--allow-unmerged")
    assert code == 0, err


def test_min_age_soak(world, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo, up = world["repo"], world["reconcile"]
    # judged at NOW (not at the wall clock's time, however long the suite took to get here)
    monkeypatch.setenv("PROMOTER_NOW", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW)))
    fresh = commit(up, "fresh", NOW - 10 * 60)
    text = (repo / "promotion.yaml").read_text().replace("    depends_on: [schemas]\n", "    min_age: 1h\n")
    (repo / "promotion.yaml").write_text(text)
    git(repo, "commit", "-qam", "soak")
    code, out, err = run("-C", repo, "plan", "reconcile", fresh)  # named: refused
    assert code == 3
    m = re.search(rf"reconcile: {fresh[:7]} landed (\d+)m(?:(\d+)s)? ago; min_age is 1h: (\d+)m(?:(\d+)s)? to go", err)
    assert m, err
    age = int(m[1]) * 60 + int(m[2] or 0)
    assert age == 600  # committed 10 minutes before NOW
    assert int(m[3]) * 60 + int(m[4] or 0) == 3600 - age
    # no REV: the newest commit that passes every gate, and which newer ones were skipped, why
    code, out, err = run("-C", repo, "plan", "reconcile", "--ignore-deps")
    assert code == 0, err
    assert f"note: skipped {fresh[:7]}: reconcile: {fresh[:7]} landed " in err
    assert f"-> {world['r'][3][:7]}" in out


def test_dependency_pending_is_refused(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, schemas, r = world["repo"], world["schemas"], world["r"]
    s3 = commit(schemas, "s3", NOW - 25 * HOUR)  # before r2 (20h ago) and r3
    commit(schemas, "s4", NOW - 24 * HOUR)
    commit(schemas, "s5", NOW - 1 * HOUR)  # after r3: does not block r3
    code, out, err = run("-C", repo, "plan", "reconcile", r[3])
    assert code == 3
    s4 = git(schemas, "rev-parse", "HEAD~1")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(NOW - 24 * HOUR))
    assert f"promote schemas first: 2 commits pending, newest {s4[:7]} {stamp} (or pass --ignore-deps)" in err
    code, out, err = run("-C", repo, "plan", "reconcile", r[3], "--ignore-deps")
    assert code == 0 and "note: dependency check skipped (--ignore-deps): schemas" in err
    assert s3  # (older pending commit, counted above)


def test_commit_on_a_new_branch_commits_exactly_the_files_written(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    (repo / "README").write_text("local notes, not part of the promotion\n")
    code, out, err = run("-C", repo, "promote", "reconcile", "--yes", "--commit", "--ignore-deps")
    assert code == 0, err
    branch = f"promote/reconcile-{r[3][:7]}"
    sha = git(repo, "rev-parse", "HEAD")
    said = f"committed {sha[:12]} on {branch} (you are now on it): promote reconcile {r[1][:7]} to {r[3][:7]}"
    assert said in out.splitlines()
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == branch
    assert git(repo, "show", "--name-only", "--format=", "HEAD").splitlines() == [".env", "saas.yaml"]
    assert git(repo, "status", "--porcelain") == "M README"
    message = git(repo, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == f"promote reconcile {r[1][:7]} to {r[3][:7]}"
    assert f"prod [production] saas.yaml: {r[1][:7]} -> {r[3][:7]} (1 place)" in message
    assert f"2 commits from {r[1][:7]} to {r[3][:7]}\nby Ada Lovelace (2)\n" in message
    *trailers, digest = message.rstrip().splitlines()[-5:]
    assert trailers == [
        "Promoted-Component: reconcile",
        f"Promoted-From: {r[1]}",  # one version once, in its full form
        f"Promoted-To: {r[3]}",
        "Promoted-Environments: production, ci",
    ]
    assert re.fullmatch(r"Promoted-Hash: [0-9a-f]{64}", digest)  # what proves it promoter's own (commit.proven)


def test_promote_several_components_in_dependency_order(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, schemas, r = world["repo"], world["schemas"], world["r"]
    s3 = commit(schemas, "s3", NOW - 25 * HOUR)
    code, out, err = run("-C", repo, "promote", "reconcile", "schemas", "--yes", "--commit")
    assert code == 0, err
    assert out.index("promoted schemas") < out.index("promoted reconcile")
    assert "note: schemas is promoted first in this run" in err
    for branch, subject in (
        (f"promote/schemas-{s3[:7]}", f"promote schemas {world['s'][2][:7]} to {s3[:7]}"),
        (f"promote/reconcile-{r[3][:7]}", f"promote reconcile {r[1][:7]} to {r[3][:7]}"),
    ):
        assert git(repo, "log", "-1", "--format=%s", branch) == subject
        assert git(repo, "rev-parse", f"{branch}~1") == git(repo, "rev-parse", "main")  # each from main


def test_push_opens_the_merge_request_through_push_options(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, remote, r = world["repo"], world["remote"], world["r"]
    code, out, err = run("-C", repo, "promote", "reconcile", "--yes", "--push", "--ignore-deps")
    assert code == 0, err
    branch = f"promote/reconcile-{r[3][:7]}"
    assert f"pushed {branch} to origin" in out
    assert git(remote, "rev-parse", branch) == git(repo, "rev-parse", "HEAD")
    options = (remote / "options").read_text().splitlines()
    assert options[:3] == [
        "merge_request.create",
        "merge_request.target=main",
        f"merge_request.title=promote reconcile {r[1][:7]} to {r[3][:7]}",
    ]
    assert "merge_request.label=promotion" in options and "merge_request.label=bot" in options
    assert "merge_request.remove_source_branch" in options
    assert all("\n" not in o for o in options)


def _colleague(tmp_path: Path, remote: Path, branch: str, *argv: str) -> str:
    """A colleague's clone runs promoter and pushes the result to `branch`; returns its commit."""
    from promoter.cli import main

    other = tmp_path / "colleague"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    assert main(["-C", str(other), "promote", *argv, "--yes", "--commit", "--ignore-deps"]) == 0
    git(other, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    return git(other, "rev-parse", "HEAD")


def test_push_rejected_because_another_promotion_moved_the_branch_is_rebuilt_on_top(  # type: ignore[no-untyped-def]
    world, run, tmp_path: Path
) -> None:
    repo, remote, r = world["repo"], world["remote"], world["r"]
    branch = f"promote/reconcile-{r[3][:7]}"
    theirs = _colleague(tmp_path, remote, branch, "reconcile", r[3], "--env", "ci")  # .env only

    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--push", "--ignore-deps")

    assert code == 0, err
    log = git(remote, "log", "--format=%H %s", branch).splitlines()
    assert log[1].split()[0] == theirs  # theirs kept, ours on top: nothing forced
    # planned again there: only production's file was left, and the new message says so
    assert log[0].split(" ", 1)[1] == f"promote reconcile {r[1][:7]} to {r[3][:7]} in production"
    assert git(remote, "diff", "--name-only", f"{branch}~1", branch) == "saas.yaml"
    ours = log[0].split()[0]
    assert f"committed {ours[:12]} on {branch}" in out or f"pushed {branch} to origin" in out
    assert git(repo, "rev-parse", branch) == ours  # the printed and local commit is the one pushed


def test_push_rebuild_refuses_commits_that_are_not_promoters(world, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An unreviewed commit on the remote's branch never rides along with the promotion."""
    repo, remote, r = world["repo"], world["remote"], world["r"]
    branch = f"promote/reconcile-{r[3][:7]}"
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    git(other, "switch", "-q", "-c", branch)
    (other / "README").write_text("a teammate's change on the same branch\n")
    git(other, "commit", "-qam", "teammate")
    git(other, "push", "-q", "origin", branch)
    theirs = git(other, "rev-parse", "HEAD")

    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--push", "--ignore-deps")

    assert code == 3, err
    assert f"origin's {branch} holds commits that are not promoter's: {theirs[:12]} teammate; nothing was pushed" in err
    assert "the promotion is committed as" in err and f"on branch {branch} (you are on it)" in err
    assert git(remote, "rev-parse", branch) == theirs


def test_push_rebuild_runs_every_gate_again(world, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A colleague's newer promotion on the branch is not rolled back by the rebuild."""
    repo, remote, r = world["repo"], world["remote"], world["r"]
    branch = f"promote/reconcile-{r[2][:7]}"
    _colleague(tmp_path, remote, branch, "reconcile", r[3])  # the branch now runs r3
    code, out, err = run("-C", repo, "promote", "reconcile", r[2], "--yes", "--push", "--ignore-deps")
    assert code == 3, err
    assert f"reconcile: {r[2][:7]} is older than {r[3][:7]}" in err and "--allow-downgrade" in err


def test_push_failure_is_an_external_error(world, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = world["repo"]
    git(repo, "remote", "set-url", "origin", str(tmp_path / "no-such-remote.git"))
    code, out, err = run("-C", repo, "promote", "reconcile", "--yes", "--push", "--ignore-deps")
    assert code == 4
    assert "cannot push to origin: fatal: " in err and "nothing was written" in err  # checked before writing


def test_credentials_in_a_remote_url_never_show(world, run) -> None:  # type: ignore[no-untyped-def]
    repo = world["repo"]
    git(repo, "remote", "set-url", "origin", "https://oauth2:glpat-SECRET123@127.0.0.1:9/x.git")
    code, out, err = run("-C", repo, "promote", "reconcile", "--yes", "--push", "--ignore-deps")
    assert code == 4
    assert "SECRET123" not in out + err
    message = git(repo, "log", "-1", "--format=%B")
    assert "SECRET123" not in message


GH_TOKEN = "ghp_FAKE0123456789SECRET"


def test_merge_request_through_the_github_api_and_again_updates_it(world, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """GitHub cannot run here: FakeGitHub is a contract fake of its REST API (tests/forge_fakes.py)."""
    from tests.forge_fakes import FakeGitHub, running

    repo, remote, r = world["repo"], world["remote"], world["r"]
    # the remote's URL names the GitHub repository; pushes go to the local bare repo
    url = "https://github.com/app-sre/app-interface.git"
    git(repo, "remote", "set-url", "origin", url)
    git(repo, "config", f"url.{remote}.pushInsteadOf", url)
    with running(FakeGitHub(GH_TOKEN, owner="app-sre", repo="app-interface")) as gh:
        text = (
            (repo / "promotion.yaml")
            .read_text()
            .replace(
                "merge_request:\n",
                f"merge_request:\n  method: api\n  forge: github\n  api_url: {gh.url}\n  reviewers: [jdoe]\n",
            )
        )
        (repo / "promotion.yaml").write_text(text)
        git(repo, "commit", "-qam", "api")
        git(repo, "push", "-q", "origin", "main")
        monkeypatch.setenv("GITHUB_TOKEN", GH_TOKEN)

        code, out, err = run("-C", repo, "promote", "reconcile", "--yes", "--push", "--ignore-deps")

        assert code == 0, err
        branch = f"promote/reconcile-{r[3][:7]}"
        assert "opened merge request https://github.com/app-sre/app-interface/pull/1" in out
        lines = [req.line for req in gh.requests]
        assert lines == [
            f"GET /repos/app-sre/app-interface/pulls?head=app-sre%3A{branch.replace('/', '%2F')}&state=open",
            "POST /repos/app-sre/app-interface/pulls",
            "POST /repos/app-sre/app-interface/issues/1/labels",
            "POST /repos/app-sre/app-interface/pulls/1/requested_reviewers",
        ]
        created = gh.requests[1].body
        assert created["head"] == branch and created["base"] == "main"
        assert created["title"] == f"promote reconcile {r[1][:7]} to {r[3][:7]}"
        body = created["body"]
        assert f"| production | prod | `saas.yaml` | `{r[1][:7]}` | `{r[3][:7]}` |" in body
        assert "Check this merge request's validation output" in body and "ask a teammate for a review" in body
        assert "2 commits" in body and "compare" in body
        assert gh.requests[2].body == {"labels": ["promotion", "bot"]}
        assert gh.requests[3].body == {"reviewers": ["jdoe"]}
        assert all(GH_TOKEN not in x for x in (out, err, git(repo, "log", "-1", "--format=%B")))

        # the same promotion again, from main: the branch holds it already; the pull request is updated
        git(repo, "switch", "-q", "main")
        code, out, err = run("-C", repo, "promote", "reconcile", "--yes", "--push", "--ignore-deps")
        assert code == 0, err
        assert f"{branch} already holds this promotion of reconcile to {r[3][:7]}" in out
        assert "updated merge request https://github.com/app-sre/app-interface/pull/1" in out
        assert len(gh.pulls) == 1
        assert [req.method for req in gh.requests[4:]][:2] == ["GET", "PATCH"]


def _with_image(repo: Path, image: str, extra_target: str = "") -> None:
    text = (repo / "promotion.yaml").read_text()
    text = text.replace("    depends_on: [schemas]\n", f"    depends_on: [schemas]\n    image: {image}\n")
    if extra_target:
        text = text.rstrip("\n") + "\n" + extra_target
    (repo / "promotion.yaml").write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "image gate")


def test_image_gate_against_a_real_registry(world, run, registry) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    _with_image(repo, f"{registry.host}/gate/reconcile")  # one repository per test: the registry is shared
    registry.push_image("gate/reconcile", r[2][:7])  # r3, the head, has no image yet

    code, out, err = run("-C", repo, "plan", "reconcile", r[3], "--ignore-deps")
    assert code == 3
    assert f"reconcile: image {registry.host}/gate/reconcile:{r[3][:7]} does not exist (not built yet?)" in err
    assert "--wait 10m" in err

    code, out, err = run("-C", repo, "plan", "reconcile", "--ignore-deps")  # no REV: newest with an image
    assert code == 0, err
    assert f"note: skipped {r[3][:7]}: no image {registry.host}/gate/reconcile:{r[3][:7]} yet" in err
    assert f"prod [production] saas.yaml: {r[1][:7]} -> {r[2][:7]} (1 place)" in out


def test_digest_target_pins_the_image_digest(world, run, registry) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    old = registry.push_image("digest/reconcile", r[1][:7], kind="docker")
    (repo / "images.env").write_text(f"RECONCILE_DIGEST={old}\n")
    _with_image(
        repo,
        f"{registry.host}/digest/reconcile",
        "      - {name: digest, environment: ci, file: images.env, env: RECONCILE_DIGEST, format: digest}\n",
    )
    new = registry.push_image("digest/reconcile", r[3][:7])

    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--ignore-deps")

    assert code == 0, err
    assert (repo / "images.env").read_text() == f"RECONCILE_DIGEST={new}\n"
    code, out, err = run("-C", repo, "plan", "reconcile", r[3], "--offline")
    assert code == 2
    assert "targets digest pin the image digest, which needs the registry (not --offline)" in err


def test_wait_polls_then_refuses_a_missing_image(world, run, registry) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    _with_image(repo, f"{registry.host}/wait/reconcile")
    code, out, err = run("-C", repo, "plan", "reconcile", r[3], "--ignore-deps", "--wait", "1s")
    assert code == 3
    assert f"image {registry.host}/wait/reconcile:{r[3][:7]} did not appear within 1s" in err


def test_changelog_command(world, run) -> None:  # type: ignore[no-untyped-def]
    import json

    repo, up, r = world["repo"], world["reconcile"], world["r"]
    commit(
        up,
        "r4 with a friend\n\nCo-authored-by: Grace Hopper <grace@example.com>",
        NOW - 2 * HOUR,
        "Bob <bob@example.com>",
    )
    commit(up, "bump deps", NOW - HOUR, "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>")
    head = git(up, "rev-parse", "HEAD")
    text = (repo / "promotion.yaml").read_text() + "people:\n  grace@example.com: '@grace'\n"
    (repo / "promotion.yaml").write_text(text)
    git(repo, "commit", "-qam", "people")

    code, out, err = run("-C", repo, "changelog", "reconcile", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["old"]["sha"] == r[1] and doc["new"]["sha"] == head
    assert [c["subject"] for c in doc["commits"]] == ["bump deps", "r4 with a friend", "r3", "r2"]

    code, out, err = run("-C", repo, "changelog", "reconcile", "--from", r[2])
    assert code == 0, err
    assert out.splitlines()[0] == f"3 commits from {r[2][:7]} to {head[:7]}"
    assert "Grace Hopper <grace@example.com> (@grace)" in out
    assert "dependabot" not in out.split("Authors:")[1].split("Bots")[0]

    code, out, err = run("-C", repo, "changelog", "reconcile", "-o", "markdown")
    assert code == 0 and "cc @grace" in out
    assert f"https://github.com/example/reconcile/compare/{r[1]}...{head}" in out

    assert run("-C", repo, "changelog", "reconcile", "--offline")[0] == 2


def test_promote_all_in_dependency_order(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, schemas, r = world["repo"], world["schemas"], world["r"]
    s3 = commit(schemas, "s3", NOW - 25 * HOUR)
    code, out, err = run("-C", repo, "promote", "--all", "--yes")
    assert code == 0, err
    assert out.index("promoted schemas") < out.index("promoted reconcile")
    assert (repo / ".env").read_text() == f"SCHEMAS_TAG={s3[:7]}\nRECONCILE_TAG={r[3][:7]}\n"
    assert run("-C", repo, "promote", "--all", "schemas")[0] == 2
    assert run("-C", repo, "promote")[0] == 2


def test_promote_many_is_a_library_call_that_returns_what_it_did(world: dict[str, object]) -> None:
    """The workflow the CLI's `promote` runs is the library's: a scheduled loop calls it the same
    way and gets data back (no printing), one result per component in dependency order."""
    from promoter.pipeline import core
    from promoter.ship.session import Options, Session

    repo = world["repo"]
    assert isinstance(repo, Path)
    session = Session(core.open_repo(repo), Options())
    seen: list[str] = []
    results = session.promote_many(
        ["reconcile", "schemas"], commit=True, review=lambda p: seen.append(p.plan.component.name) or True
    )
    assert seen == ["schemas", "reconcile"]  # dependencies first, each reviewed before it is written
    assert [(r.prepared.plan.component.name, r.state) for r in results] == [
        ("schemas", "unchanged"),
        ("reconcile", "written"),
    ]
    done = results[1]
    assert done.files == [".env", "saas.yaml"] and done.shipped is not None
    assert done.branch == done.shipped.commit.branch and done.branch.startswith("promote/reconcile-")
    assert git(repo, "log", "-1", "--format=%s", done.branch) == done.shipped.commit.subject

    git(repo, "switch", "-q", "main")
    before = snapshot(repo)
    declined = Session(core.open_repo(repo), Options()).promote_many(["reconcile"], commit=True, review=lambda p: False)
    assert [(r.state, r.files, r.shipped) for r in declined] == [("declined", [], None)]
    assert snapshot(repo) == before and git(repo, "branch", "--show-current") == "main"


# -- the SOP's flows, as a real user runs them ------------------------------------------------------
def test_one_environment_first_then_the_rest(world, run) -> None:  # type: ignore[no-untyped-def]
    """`--env production --commit`, merged, then `--commit` for the rest: two branches, and the
    second commits every remaining target (it used to say 'already holds this promotion')."""
    repo, r = world["repo"], world["r"]
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--env", "production", "--yes", "--commit")
    assert code == 0, err
    first = f"promote/reconcile-{r[3][:7]}-production"
    assert f"on {first} (you are now on it):" in out
    assert git(repo, "diff", "--name-only", "main", first) == "saas.yaml"
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-edit", first)  # the merge request is merged
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    second = f"promote/reconcile-{r[3][:7]}"
    assert f"on {second} (you are now on it):" in out and "already holds" not in out
    assert git(repo, "diff", "--name-only", "main", second) == ".env"
    assert f"RECONCILE_TAG={r[3][:7]}" in git(repo, "show", f"{second}:.env")


def test_a_commit_that_fails_after_writing_is_undone_and_the_same_command_finishes_it(world, run) -> None:  # type: ignore[no-untyped-def]
    """The branch cannot be moved to the commit (a lock file of that ref, left by a crashed git):
    nothing is committed, the written files are put back, and git's reason is said. (A missing
    identity or index lock is refused before anything is written: tests/test_commit_failures.py.)"""
    repo, r = world["repo"], world["r"]
    before = snapshot(repo)
    lock = repo / ".git" / "refs" / "heads" / "promote" / f"reconcile-{r[3][:7]}.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 4, err
    assert f"git update-ref could not move branch promote/reconcile-{r[3][:7]} to the new commit: " in err
    assert f"reconcile-{r[3][:7]}.lock': File exists" in err
    assert "nothing was committed: the files were put back (you are on main)" in err
    assert "run the same command again" in err
    assert snapshot(repo) == before and git(repo, "branch", "--show-current") == "main"
    assert not git(repo, "branch", "--list", "promote/*")
    lock.unlink()
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    assert git(repo, "log", "-1", "--format=%s") == f"promote reconcile {r[1][:7]} to {r[3][:7]}"


def test_a_branch_left_with_no_commit_of_its_own_is_reused(world, run) -> None:  # type: ignore[no-untyped-def]
    """A killed `--commit` leaves its branch at the base: the next run takes it over."""
    repo, r = world["repo"], world["r"]
    branch = f"promote/reconcile-{r[3][:7]}"
    git(repo, "branch", branch, "main")
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 0, err
    assert f"on {branch} (you are now on it):" in out
    assert git(repo, "rev-parse", f"{branch}~1") == git(repo, "rev-parse", "main")


def test_a_branch_holding_something_else_is_refused(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    branch = f"promote/reconcile-{r[3][:7]}"
    git(repo, "switch", "-q", "-c", branch)
    (repo / "README").write_text("unrelated work\n")
    git(repo, "commit", "-qam", "unrelated")
    git(repo, "switch", "-q", "main")
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit")
    assert code == 3
    assert f"branch {branch} already exists and holds something else than this change" in err
    assert snapshot(repo) == before


def test_a_checkout_in_another_shell_never_makes_the_commit_land_elsewhere(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """HEAD moved to main while promoter was writing: the commit still lands on the promotion's
    branch (built from the planned tree, the branch moved only from its expected base), main is
    neither committed to nor pushed."""
    import os
    import subprocess
    import sys

    repo, remote, r = world["repo"], world["remote"], world["r"]
    main_before = git(repo, "rev-parse", "main")
    fifo = tmp_path / "hold"
    os.mkfifo(fifo)
    env = {**os.environ, "PROMOTER_FAULT": "planned", "PROMOTER_FAULT_ACTION": "wait", "PROMOTER_FAULT_FIFO": str(fifo)}
    argv = [sys.executable, "-m", "promoter", "-C", str(repo), "promote", "reconcile", r[3], "--yes", "--push"]
    proc = subprocess.Popen(
        [*argv, "--ignore-deps"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with open(fifo, "wb"):  # promoter is on its branch, about to write
        git(repo, "checkout", "-q", "main")  # another shell
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    branch = f"promote/reconcile-{r[3][:7]}"
    assert git(repo, "rev-parse", "main") == main_before
    assert git(remote, "rev-parse", "main") == main_before
    assert git(remote, "log", "-1", "--format=%s", branch) == f"promote reconcile {r[1][:7]} to {r[3][:7]}"
    assert git(remote, "rev-parse", f"{branch}~1") == main_before
    assert sorted(git(remote, "diff", "--name-only", "main", branch).split()) == [".env", "saas.yaml"]


def test_user_hooks_never_change_what_is_committed(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    hooks = repo / ".git" / "hooks"
    (hooks / "pre-commit").write_text("#!/bin/sh\necho tampered >> README\ngit add README\n")
    (hooks / "commit-msg").write_text('#!/bin/sh\necho "rewritten" > "$1"\n')
    for hook in ("pre-commit", "commit-msg"):
        (hooks / hook).chmod(0o755)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--commit", "--ignore-deps")
    assert code == 0, err
    assert git(repo, "log", "-1", "--format=%s") == f"promote reconcile {r[1][:7]} to {r[3][:7]}"
    assert sorted(git(repo, "diff", "--name-only", "main", "HEAD").split()) == [".env", "saas.yaml"]
    assert (repo / "README").read_text() == "config repo\n"


def test_a_target_that_also_locates_another_components_pin_is_refused(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """`key: tag` on Helm values that also hold the sidecar's tag: the sidecar's value is no commit
    of the upstream, so the promotion is refused naming it, with a `path:` that selects only ours."""
    up = tmp_path / "app"
    up.mkdir()
    git(up, "init", "-q", "-b", "main")
    r = [commit(up, f"a{i}", NOW - (10 - i) * HOUR) for i in range(3)]
    config = (
        f"version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n    fetch: {up}\n    branch: main\n"
        "    targets:\n      - {name: values, file: values.yaml, key: tag}\n"
    )
    values = f"image:\n  repository: quay.io/org/app\n  tag: {r[1][:7]}\nsidecar:\n  image:\n    tag: 9f8e7d6\n"
    repo = make_repo(tmp_path / "config", {"promotion.yaml": config, "values.yaml": values})
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "app", "--yes")
    assert code == 3, err
    assert "app: target 'values' (key tag) also locates values that are not commits of" in err
    assert "values.yaml:6: 9f8e7d6" in err and "path: '$.image.tag'" in err
    assert snapshot(repo) == before
    code, out, err = run("-C", repo, "plan", "app", r[2], "--offline")
    assert code == 0
    assert (
        f"warning: target 'values' locates 2 different values (values.yaml:3: {r[1][:7]}; values.yaml:6: 9f8e7d6)"
        in err
    )


def test_promote_what_another_environment_runs(world, run) -> None:  # type: ignore[no-untyped-def]
    repo, r = world["repo"], world["r"]
    assert run("-C", repo, "promote", "reconcile", r[2], "--env", "ci", "--yes", "--ignore-deps")[0] == 0
    code, out, err = run(
        "-C", repo, "promote", "reconcile", "--from-env", "ci", "--env", "production", "--yes", "--ignore-deps"
    )
    assert code == 0, err
    assert f"ref: {r[2]}" in (repo / "saas.yaml").read_text()
    code, out, err = run("-C", repo, "plan", "reconcile", r[3], "--from-env", "ci", "--env", "production")
    assert code == 2 and "give REV or --from-env ci, not both" in err
    code, out, err = run("-C", repo, "plan", "reconcile", "--from-env", "ci", "--offline")
    assert code == 2 and "--from-env ci is also an environment to promote" in err
    code, out, err = run("-C", repo, "plan", "reconcile", "--from-env", "ci", "--env", "production", "--offline")
    assert (
        code == 3
        and f"environment 'ci' runs {r[2][:7]}, which names no commit that promoter can resolve offline" in err
    )


def test_push_checks_the_remote_before_anything_is_written(world, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo, remote, r = world["repo"], world["remote"], world["r"]
    git(remote, "config", "receive.advertisePushOptions", "false")  # a server that takes no push options
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--push", "--ignore-deps")
    assert code == 4
    assert "cannot push to origin: fatal: the receiving end does not support push options" in err
    assert "set merge_request.method: api" in err and "nothing was written" in err
    assert snapshot(repo) == before and git(repo, "branch", "--list", "promote/*") == ""
    git(repo, "remote", "set-url", "origin", str(tmp_path / "no-such-remote.git"))
    code, out, err = run("-C", repo, "promote", "reconcile", r[3], "--yes", "--push", "--ignore-deps")
    assert code == 4 and "cannot push to origin" in err and snapshot(repo) == before


def test_two_promotions_of_different_components_pushing_at_once_never_tangle(world) -> None:  # type: ignore[no-untyped-def]
    """Two shells push two components' promotions at the same moment: the repository lock covers
    branch, write, commit and push, so the second waits for nobody and is refused, or comes after;
    never one branch carrying both, never a commit on the other's branch."""
    import os
    import subprocess
    import sys

    repo, remote, schemas = world["repo"], world["remote"], world["schemas"]
    s3 = commit(schemas, "s3", NOW - 3600)
    base = [sys.executable, "-m", "promoter", "-C", str(repo), "promote"]
    argvs = [[*base, "reconcile", "--yes", "--push", "--ignore-deps"], [*base, "schemas", s3, "--yes", "--push"]]
    procs = [
        subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ) for a in argvs
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    assert sorted(code for code, _, _ in results) in ([0, 0], [0, 3]), results
    for code, _, err in results:
        if code == 3:
            assert "another promoter run holds the lock" in err
    for ref in git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/promote/").split():
        files = git(remote, "diff", "--name-only", "main", ref).split()
        subject = git(remote, "log", "-1", "--format=%s", ref)
        if "schemas" in ref:
            assert files == [".env"] and subject.startswith("promote schemas ")
        else:
            assert sorted(files) == [".env", "saas.yaml"] and subject.startswith("promote reconcile ")
        assert git(remote, "rev-parse", f"{ref}~1") == git(remote, "rev-parse", "main")  # one commit each
