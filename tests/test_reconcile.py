"""`promoter reconcile` on real repositories: an upstream, a config repository and its bare
remote (push options recorded by a pre-receive hook), and GitHub's contract fake for the API
method (GitHub cannot run here; tests/forge_fakes.py follows its public REST API)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git, make_repo
from tests.forge_fakes import FakeServer

NOW = int(time.time())
TOKEN = "ghp_reconcile"


def commit(repo: Path, name: str, when: int) -> str:
    (repo / "log").write_text(((repo / "log").read_text() if (repo / "log").exists() else "") + name + "\n")
    git(repo, "add", "log")
    git(repo, "commit", "-qm", name, env={"GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000"})
    return git(repo, "rev-parse", "HEAD")


class Fleet:
    def __init__(self, root: Path, extra: str = "") -> None:
        self.root = root
        self.ups: dict[str, Path] = {}
        self.shas: dict[str, list[str]] = {}
        for name in ("schemas", "app"):
            up = root / name
            up.mkdir()
            git(up, "init", "-q", "-b", "main")
            self.ups[name] = up
            self.shas[name] = [commit(up, f"{name}{i}", NOW - (30 - i) * 3600) for i in range(3)]
        s, a = self.shas["schemas"], self.shas["app"]
        config = (
            "version: 1\ncomponents:\n"
            "  schemas:\n    repo: https://github.com/org/schemas\n"
            f"    fetch: {self.ups['schemas']}\n    branch: main\n"
            "    targets:\n      - {name: env, environment: ci, file: .env, env: SCHEMAS_TAG}\n"
            f"  app:\n    repo: https://github.com/org/app\n    fetch: {self.ups['app']}\n    branch: main\n"
            "    depends_on: [schemas]\n"
            "    targets:\n"
            "      - {name: int, environment: integration, file: int.yaml, key: ref, format: sha}\n"
            "      - {name: prod, environment: production, file: prod.yaml, key: ref, format: sha}\n"
            f"{extra}"
        )
        files = {
            "promotion.yaml": config,
            ".env": f"SCHEMAS_TAG={s[2][:7]}\n",
            "int.yaml": f"ref: {a[0]}\n",
            "prod.yaml": f"ref: {a[0]}\n",
        }
        self.config = make_repo(root / "config", files)
        self.remote = root / "origin.git"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        git(self.remote, "config", "receive.advertisePushOptions", "true")
        hook = self.remote / "hooks" / "pre-receive"
        hook.write_text(
            '#!/bin/sh\ncat >/dev/null\n: > "$GIT_DIR/options"\ni=0\n'
            'while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do\n'
            '  eval "echo \\"\\$GIT_PUSH_OPTION_$i\\"" >> "$GIT_DIR/options"\n  i=$((i+1))\ndone\n'
        )
        hook.chmod(0o755)
        git(self.config, "remote", "add", "origin", str(self.remote))
        git(self.config, "push", "-q", "origin", "main")

    def tip(self, branch: str) -> str:
        return git(self.remote, "rev-parse", f"refs/heads/{branch}")

    def use_api(self, forge: str, web: str, api_url: str, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """The remote is named by its forge URL `web` (git's insteadOf sends it to the bare one)
        and merge requests go through `forge`'s API at `api_url` with `token`, committed and pushed."""
        git(self.config, "remote", "set-url", "origin", web)
        git(self.config, "config", f"url.{self.remote}.insteadOf", web)
        path = self.config / "promotion.yaml"
        path.write_text(path.read_text() + f"merge_request:\n  method: api\n  forge: {forge}\n  api_url: {api_url}\n")
        git(self.config, "commit", "-qam", "api")
        git(self.config, "push", "-q", "origin", "main")
        monkeypatch.setenv(f"{forge.upper()}_TOKEN", token)


def taken(server: FakeServer) -> list[str]:
    """The requests a forge fake has had since the last call, one line each."""
    lines = server.lines()
    server.requests.clear()
    return lines


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    return Fleet(tmp_path)


def test_dry_run_shows_the_decisions_and_pushes_nothing(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    a = fleet.shas["app"]
    code, out, err = run("-C", fleet.config, "reconcile", "--push", "--dry-run", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["schema_version"], doc["kind"], doc["pushed"]) == (1, "reconcile", False)
    comps = {c["component"]: c for c in doc["components"]}
    assert list(comps) == ["schemas", "app"]  # dependency order
    assert comps["schemas"]["merge_request"]["action"] == "none"
    assert comps["app"]["merge_request"]["action"] == "open"
    assert [(e["environment"], e["action"], e["candidate"]["sha"]) for e in comps["app"]["environments"]] == [
        ("integration", "promote", a[2]),
        ("production", "promote", a[2]),
    ]
    assert git(fleet.remote, "branch", "--list") == "* main"  # nothing pushed


def test_push_opens_once_leaves_it_then_updates_it_with_a_lease(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    a = fleet.shas["app"]
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 0, err
    assert "app: merge request: open" in out
    first = fleet.tip("promote/app")
    assert git(fleet.remote, "rev-parse", f"{first}~1") == git(fleet.config, "rev-parse", "main")
    assert (
        git(fleet.remote, "log", "-1", "--format=%s", first)
        == f"promote app: integration to {a[2][:7]}, production to {a[2][:7]}"
    )
    assert "merge_request.create" in (fleet.remote / "options").read_text()
    assert git(fleet.config, "status", "--porcelain") == "" and git(fleet.config, "branch", "--show-current") == "main"

    (fleet.remote / "options").unlink()
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 0, err
    assert "app: merge request: leave" in out
    assert fleet.tip("promote/app") == first and not (fleet.remote / "options").exists()  # nothing pushed

    new = commit(fleet.ups["app"], "app3", NOW - 3600)  # the upstream moves: the promotion is rebuilt
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 0, err
    assert "app: merge request: update" in out
    second = fleet.tip("promote/app")
    assert second != first and git(fleet.remote, "rev-parse", f"{second}~1") == git(fleet.config, "rev-parse", "main")
    assert f"ref: {new}" in git(fleet.remote, "show", f"{second}:prod.yaml")


def test_a_foreign_commit_on_the_branch_is_refused_and_reported(fleet: Fleet, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(fleet.remote), str(other))
    git(other, "switch", "-q", "promote/app")
    (other / "README").write_text("sneaked in\n")
    git(other, "add", "README")
    git(other, "commit", "-qm", "unreviewed")
    git(other, "push", "-q", "origin", "promote/app")
    theirs = fleet.tip("promote/app")
    commit(fleet.ups["app"], "app3", NOW - 3600)
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 3, out
    assert "app: merge request: error" in out and "holds commits that are not promoter's" in out and "unreviewed" in out
    assert fleet.tip("promote/app") == theirs


def test_one_failure_never_stops_the_others_and_the_exit_code_says_what_happened(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    import shutil

    (fleet.config / "int.yaml").write_text("something: else\n")  # app's integration target locates nothing
    git(fleet.config, "commit", "-qam", "break app's integration target")
    commit(fleet.ups["schemas"], "schemas3", NOW - 3600)  # schemas has something to promote
    shutil.move(fleet.ups["app"], fleet.root / "app-gone")  # and app's upstream is unreachable
    code, out, err = run("-C", fleet.config, "reconcile", "--push", "-o", "json")
    assert code == 4, out  # something failed on the network
    comps = {c["component"]: c for c in json.loads(out)["components"]}
    assert comps["schemas"]["merge_request"]["action"] == "open"  # done although app failed
    assert {e["environment"]: e["action"] for e in comps["app"]["environments"]} == {
        "integration": "error",
        "production": "error",
    }
    assert fleet.tip("promote/schemas")


def test_held_environments_are_reported_and_the_job_stays_green(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    """A hold is the policy working: reported, exit 0, so a scheduled job is not red on every run
    while production is held on purpose."""
    assert run("-C", fleet.config, "hold", "app", "--env", "production", "--reason", "freeze")[0] == 0
    git(fleet.config, "add", "promotion-holds.yaml")
    git(fleet.config, "commit", "-qm", "hold")
    code, out, err = run("-C", fleet.config, "reconcile", "-o", "json")
    assert code == 0, out
    (app,) = [c for c in json.loads(out)["components"] if c["component"] == "app"]
    assert {e["environment"]: e["action"] for e in app["environments"]} == {
        "integration": "promote",
        "production": "held",
    }


def test_max_open_makes_the_rest_wait(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("-C", fleet.config, "reconcile", "--push", "--max-open", "0")
    assert code == 0, err
    assert "app: merge request: wait (--max-open 0: 0 promotion merge requests are open)" in out
    assert git(fleet.remote, "branch", "--list") == "* main"


def test_shards_are_disjoint_cover_everything_and_keep_chains_together(tmp_path: Path) -> None:
    from promoter.model import Component
    from promoter.ship.reconcile import shard

    comps = {
        f"c{i}": Component(f"c{i}", "r", "r", "main", 7, (), 1, depends_on=(f"c{i - 1}",) if i % 3 else ())
        for i in range(60)
    }
    everything = list(comps.values())
    parts = [shard(everything, i, 4, comps) for i in range(1, 5)]
    names = [c.name for part in parts for c in part]
    assert sorted(names) == sorted(comps) and len(names) == len(set(names))  # disjoint, complete
    where = {c.name: i for i, part in enumerate(parts) for c in part}
    assert all(where[c.name] == where[d] for c in everything for d in c.depends_on)  # chains together
    assert sum(1 for p in parts if p) > 1  # and the load is spread


def test_a_run_killed_between_push_and_merge_request_is_finished_by_the_next(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.forge_fakes import FakeGitHub, running

    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        gh.branches.add("main")
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        env = {**os.environ, "PROMOTER_FAULT": "reconcile-pushed", "PROMOTER_FAULT_ACTION": "kill"}
        killed = subprocess.run(
            [sys.executable, "-m", "promoter", "-C", str(fleet.config), "reconcile", "--push"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert killed.returncode == -signal.SIGKILL
        pushed = fleet.tip("promote/app")
        assert gh.pulls == []  # pushed, but no pull request: the kill came in between
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0, err
        assert fleet.tip("promote/app") == pushed  # not pushed again
        assert len(gh.pulls) == 1 and gh.pulls[0]["head"] == "promote/app"
        assert "promoter-hash: " in gh.pulls[0]["body"]
        posts = [r.line for r in gh.requests if r.method != "GET"]
        code, out, err = run("-C", fleet.config, "reconcile", "--push")  # nothing changed: one listing only
        assert code == 0 and "app: merge request: leave" in out
        assert [r.line for r in gh.requests if r.method != "GET"] == posts
        gets = [r.line for r in gh.requests[-3:]]
        assert all(line.startswith("GET /repos/org/config/pulls?state=open") for line in gets[-1:])


def test_superseded_and_stale_merge_requests_are_closed(fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tests.forge_fakes import FakeGitHub, running

    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        gh.add_pull("promote/app-1234567")  # opened earlier by `promote --push`
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0, err
        ours = next(p for p in gh.pulls if p["head"] == "promote/app")
        older = next(p for p in gh.pulls if p["head"] == "promote/app-1234567")
        assert (
            older["state"] == "closed" and "Superseded by https://github.com/org/config/pull/" in older["comments"][0]
        )
        # the promotion is merged by hand meanwhile: nothing to promote, the open one is stale
        git(fleet.config, "fetch", "-q", "origin", "promote/app")
        git(fleet.config, "merge", "-q", "--ff-only", "FETCH_HEAD")
        git(fleet.config, "push", "-q", "origin", "main")
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0, err
        assert "app: merge request: close" in out and ours["state"] == "closed"


def test_two_runs_at_once_open_one_merge_request(fleet: Fleet) -> None:
    """Two CI runners started together: deterministic branch names and the push's lease let one
    open the merge request; the other is refused by the lease and says so."""
    argv = [sys.executable, "-m", "promoter", "-C", str(fleet.config), "reconcile", "--push"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    opened = [out for code, out, _ in results if "app: merge request: open" in out]
    assert len(opened) >= 1
    refused = [out for code, out, _ in results if "app: merge request: error" in out]
    assert len(opened) + len(refused) == 2 or len(opened) == 2  # the second came after: it found it and left it
    assert git(fleet.remote, "for-each-ref", "--format=%(refname)", "refs/heads/promote/") == "refs/heads/promote/app"
    for out in refused:
        assert "refused or failed" in out


@pytest.mark.skipif(not __import__("shutil").which("ssh-keygen"), reason="ssh-keygen is not installed")
def test_signed_promotion_commits(fleet: Fleet, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """git's own commit.gpgsign with an SSH key signs the promotion commits; `merge_request.sign`
    refuses to push unsigned ones."""
    text = (fleet.config / "promotion.yaml").read_text()
    (fleet.config / "promotion.yaml").write_text(text + "merge_request:\n  sign: true\n")
    git(fleet.config, "commit", "-qam", "sign")
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 3, out
    assert "merge_request.sign is true, but promotion commits would not be signed" in out
    assert git(fleet.remote, "branch", "--list") == "* main"
    key = tmp_path / "signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", str(key)], check=True)
    for k, v in (("gpg.format", "ssh"), ("user.signingkey", str(key)), ("commit.gpgsign", "true")):
        git(fleet.config, "config", k, v)
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 0, out
    allowed = tmp_path / "allowed"
    allowed.write_text(f"author@example.com {(tmp_path / 'signing.pub').read_text()}")
    git(fleet.config, "config", "gpg.ssh.allowedSignersFile", str(allowed))
    git(fleet.config, "fetch", "-q", "origin", "promote/app")
    verified = subprocess.run(
        ["git", "verify-commit", "FETCH_HEAD"], cwd=fleet.config, capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stderr
    assert 'Good "git" signature for author@example.com' in verified.stderr


def test_reconcile_on_gitlab_makes_exactly_the_requests_it_needs(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole life of one merge request on GitLab's contract fake (GitLab cannot run here;
    tests/forge_fakes.py follows its public REST API v4): opened, left alone, updated when the
    upstream moves, an older one superseded, closed once the promotion landed by hand; every
    request made is listed, so a run that asks more than it needs fails here."""
    from tests.forge_fakes import FakeGitLab, running

    with running(FakeGitLab("glpat-reconcile")) as gl:
        assert isinstance(gl, FakeGitLab)
        web = "https://gitlab.example.com/service/app-interface.git"
        fleet.use_api("gitlab", web, f"{gl.url}/api/v4", "glpat-reconcile", monkeypatch)
        older = gl.add_mr("promote/app-1234567", target_branch="main", title="promote app (by hand)")

        project, mrs = "GET /api/v4/projects/service%2Fapp-interface", "/api/v4/projects/13/merge_requests"
        listing = f"GET {mrs}?state=opened&per_page=100&page=1"
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0, err
        assert "app: merge request: open" in out and "glpat-reconcile" not in out + err
        assert taken(gl) == [
            project,
            listing,
            # a new merge request: was one of this promotion closed by a person (declined)? only now
            f"GET {mrs}?state=closed&source_branch=promote%2Fapp&per_page=100",
            f"GET {mrs}?state=opened&source_branch=promote%2Fapp",
            f"POST {mrs}",
            f"POST {mrs}/1/notes",  # the older one is superseded: a note, then closed
            f"PUT {mrs}/1",
        ]
        ours = next(mr for mr in gl.mrs if mr["source_branch"] == "promote/app")
        assert (ours["state"], ours["target_branch"], older["state"]) == ("opened", "main", "closed")
        assert older["notes"] == [f"Superseded by {ours['web_url']} (promoter reconcile)."]
        assert "promoter-hash: " in ours["description"]
        first = fleet.tip("promote/app")

        code, out, err = run("-C", fleet.config, "reconcile", "--push")  # nothing changed
        assert code == 0 and "app: merge request: leave" in out, err
        assert taken(gl) == [project, listing]
        assert fleet.tip("promote/app") == first

        new = commit(fleet.ups["app"], "app3", NOW - 3600)  # the upstream moves: the same one is updated
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0 and "app: merge request: update" in out, err
        assert taken(gl) == [project, listing, f"GET {mrs}?state=opened&source_branch=promote%2Fapp", f"PUT {mrs}/2"]
        assert [mr["state"] for mr in gl.mrs] == ["closed", "opened"] and new[:7] in ours["title"]
        assert fleet.tip("promote/app") != first

        # the promotion is merged by hand: nothing left to promote, the open one is closed
        git(fleet.config, "fetch", "-q", "origin", "promote/app")
        git(fleet.config, "merge", "-q", "--ff-only", "FETCH_HEAD")
        git(fleet.config, "push", "-q", "origin", "main")
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0 and "app: merge request: close" in out, err
        assert taken(gl) == [project, listing, f"POST {mrs}/2/notes", f"PUT {mrs}/2"]
        assert ours["state"] == "closed"
        assert ours["notes"] == ["promoter reconcile: nothing to promote any more; closing."]
        # closed by promoter, in the same request: not a person's "declined" if this promotion comes back
        assert "promoter-hash: " not in ours["description"] and "promoter-closed: " in ours["description"]

        monkeypatch.setenv("GITLAB_TOKEN", "glpat-wrong")  # a bad token: a clear error, no secret shown
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code != 0 and "GITLAB_TOKEN" in out + err and "glpat-" not in out + err
        assert taken(gl) == [project]


def _image(fleet: Fleet, image: str) -> None:
    path = fleet.config / "promotion.yaml"
    path.write_text(
        path.read_text().replace("    depends_on: [schemas]\n", f"    depends_on: [schemas]\n    image: {image}\n")
    )
    git(fleet.config, "commit", "-qam", "image gate")
    git(fleet.config, "push", "-q", "origin", "main")


def _envs(out: str) -> dict[str, list[tuple[str, str, str | None]]]:
    doc = json.loads(out)
    return {
        c["component"]: [
            (e["environment"], e["action"], (e.get("candidate") or {}).get("sha")) for e in c["environments"]
        ]
        for c in doc["components"]
    }


def test_the_image_gate_against_a_real_registry(fleet: Fleet, run, registry) -> None:  # type: ignore[no-untyped-def]
    """Debian's docker-registry on 127.0.0.1: a commit whose image is not built yet is passed over
    for the newest one that has it; none built is `image-missing`."""
    a = fleet.shas["app"]
    _image(fleet, f"{registry.host}/reconcile/app")  # one repository per test: the registry is shared
    image = f"{registry.host}/reconcile/app"
    code, out, err = run("-C", fleet.config, "reconcile", "--dry-run", "-o", "json")
    assert code == 0, err
    assert _envs(out)["app"] == [("integration", "image-missing", None), ("production", "image-missing", None)]
    reasons = [e["reason"] for e in json.loads(out)["components"][1]["environments"]]
    assert reasons == [f"app: no image {image}:{a[2][:7]} yet"] * 2  # the newest one is named

    registry.push_image("reconcile/app", a[1][:7])  # a[2] is not built yet: a[1] goes
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 0, err
    assert git(fleet.remote, "show", "promote/app:int.yaml") == f"ref: {a[1]}"
    assert git(fleet.remote, "show", "promote/app:prod.yaml") == f"ref: {a[1]}"

    registry.push_image("reconcile/app", a[2][:7])  # built now: the same branch moves on to it
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 0 and "app: merge request: update" in out, err
    assert git(fleet.remote, "show", "promote/app:int.yaml") == f"ref: {a[2]}"
    assert git(fleet.remote, "for-each-ref", "--format=%(refname)", "refs/heads/promote/") == "refs/heads/promote/app"


def test_a_registry_that_is_down_fails_that_component_alone(fleet: Fleet, run) -> None:  # type: ignore[no-untyped-def]
    """A registry answering 503 (a real HTTP server on 127.0.0.1): the component's environments
    are errors and the exit code is 4 (the network); the other component goes on; the failing
    image:tag is asked once, with its retries, not once per environment and candidate."""
    from tests.registry_fixtures import Server, error_body, reply

    def unavailable(req) -> None:  # type: ignore[no-untyped-def]
        reply(req, 503, {"Retry-After": "0", "Content-Type": "application/json"}, error_body("UNAVAILABLE", "down"))

    a = fleet.shas["app"]
    with Server(unavailable) as server:
        _image(fleet, f"{server.host}/reconcile/app")
        code, out, err = run("-C", fleet.config, "reconcile", "--dry-run", "-o", "json")
        asked = [(method, path) for method, path, _ in server.requests]
    assert code == 4, out
    envs = _envs(out)
    assert envs["schemas"] == [("ci", "up-to-date", None)]
    assert [(e, act) for e, act, _ in envs["app"]] == [("integration", "error"), ("production", "error")]
    assert set(asked) == {("HEAD", f"/v2/reconcile/app/manifests/{a[2][:7]}")}
    assert 1 < len(asked) <= 4  # retried, then remembered for the second environment


def test_reconcile_on_github_makes_exactly_the_requests_it_needs(  # type: ignore[no-untyped-def]
    fleet: Fleet, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same life on GitHub's contract fake (GitHub cannot run here; tests/forge_fakes.py
    follows its public REST API): every request listed, one listing when nothing changed."""
    from tests.forge_fakes import FakeGitHub, running

    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        assert isinstance(gh, FakeGitHub)
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        gh.add_pull("promote/app-1234567")

        pulls, listing = "/repos/org/config/pulls", "GET /repos/org/config/pulls?state=open&per_page=100&page=1"
        find = f"GET {pulls}?head=org%3Apromote%2Fapp&state=open"
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0 and "app: merge request: open" in out, err
        assert taken(gh) == [
            listing,
            # a new pull request: was one of this promotion closed by a person (declined)? only now
            f"GET {pulls}?head=org%3Apromote%2Fapp&state=closed&per_page=100",
            find,
            f"POST {pulls}",
            "POST /repos/org/config/issues/1/comments",
            f"PATCH {pulls}/1",
        ]
        ours = next(p for p in gh.pulls if p["head"] == "promote/app")
        assert [p["state"] for p in gh.pulls] == ["closed", "open"] and ours["number"] == 2
        assert gh.pulls[0]["comments"] == ["Superseded by https://github.com/org/config/pull/2 (promoter reconcile)."]

        code, out, err = run("-C", fleet.config, "reconcile", "--push")  # nothing changed: one listing
        assert code == 0 and "app: merge request: leave" in out, err
        assert taken(gh) == [listing]

        new = commit(fleet.ups["app"], "app3", NOW - 3600)
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0 and "app: merge request: update" in out, err
        assert taken(gh) == [listing, find, f"PATCH {pulls}/2"]
        assert new[:7] in ours["title"] and len(gh.pulls) == 2

        git(fleet.config, "fetch", "-q", "origin", "promote/app")
        git(fleet.config, "merge", "-q", "--ff-only", "FETCH_HEAD")
        git(fleet.config, "push", "-q", "origin", "main")
        code, out, err = run("-C", fleet.config, "reconcile", "--push")
        assert code == 0 and "app: merge request: close" in out, err
        assert taken(gh) == [listing, "POST /repos/org/config/issues/2/comments", f"PATCH {pulls}/2"]
        assert ours["state"] == "closed"
