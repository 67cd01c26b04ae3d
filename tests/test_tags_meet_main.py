"""Release tags (issue 22) where they meet what main gained meanwhile: a plan that changes nothing
is never refused (previews) and says the release, not a short sha; with no REV, nothing higher
than the release that runs may go now is nothing to change; `Promoted-From:` gives the full sha of
the release each target ran beside `Promoted-Tag:` (promote, reconcile, rollback); a commit that
failed half way is finished by a command naming the release (the commit sequence).

The upstream and the Helm/kustomize/Argo CD config repository of tests/tags_fixture.py (v1.4.2 on
c1, v1.5.0 on c3, v1.10.0 on c4), real git repositories, the CLI in process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import tags_fixture as t
from tests.conftest import RunResult, git
from tests.test_commit_failures import finish_command, lock_index_after_the_branch_moved

Run = Callable[..., RunResult]
HOLD = (
    "holds:\n  - component: app\n    environments: [production]\n    reason: incident 42\n"
    '    author: Ada <ada@example.com>\n    since: "2026-01-01T00:00:00Z"\n'
)


def _remote(repo: Path, root: Path) -> Path:
    """A bare remote of the config repository that takes push options (merge requests by push)."""
    remote = root / "origin.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    git(remote, "config", "receive.advertisePushOptions", "true")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    return remote


def test_a_release_every_target_runs_is_nothing_to_change_and_never_refused(tmp_path: Path, run: Run) -> None:
    """Every target pins v1.5.0 (1.5.0 in the kustomization) and production is held: promoting
    v1.5.0 changes nothing, so the hold refuses nothing (a note), and it is said as the release."""
    up, repo, shas = t.build(tmp_path, version="1.5.0")
    (repo / "promotion-holds.yaml").write_text(HOLD)
    git(repo, "add", "promotion-holds.yaml")
    git(repo, "commit", "-qm", "hold production")
    before = {f: (repo / f).read_text() for f in (t.ARGO, t.KUSTOMIZE, t.HELM)}
    for argv in (("plan", "app", "v1.5.0"), ("promote", "app", "1.5.0", "--yes")):
        code, out, err = run("-C", repo, *argv)
        assert code == 0, out + err
        assert "app: every selected target is already at v1.5.0; nothing to change" in out, out
        assert "production is held by Ada" in err and "(nothing changes, so nothing is refused)" in err, err
    assert {f: (repo / f).read_text() for f in before} == before
    code, out, err = run("-C", repo, "plan", "app", "v1.10.0")  # a change: the hold refuses it
    assert code == 3 and "production is held by Ada" in err, out + err


def test_with_no_rev_the_highest_release_that_runs_is_nothing_to_change(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path, version="1.10.0")
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0, out + err
    assert out.endswith(
        "helm [production] helm/app/values-production.yaml: already at v1.10.0 (1 place)\n"
        "app: every selected target is already at v1.10.0; nothing to change\n"
    ), out


def test_nothing_higher_than_the_release_that_runs_may_go_now(tmp_path: Path, run: Run) -> None:
    """v1.5.0 runs everywhere and v1.10.0, the one release above it, is blocked: nothing changes
    (exit 0), said with the releases that run as written; v1.5.0 is never promoted again nor
    anything lower, and the note names v1.10.0 by its tag."""
    up, repo, shas = t.build(tmp_path, version="1.5.0")
    t.set_config(repo, up, blocked=[shas[4][:10]])
    for argv in (("plan", "app"), ("promote", "app", "--yes")):
        code, out, err = run("-C", repo, *argv)
        assert code == 0, out + err
        assert out.endswith(
            "app: nothing to change: staging runs v1.5.0, integration runs 1.5.0, production runs v1.5.0; "
            "no higher release on main may be promoted now to all of them\n"
        ), out
        assert "note: skipped v1.10.0: " in err and "blocked" in err, err
    assert git(repo, "status", "--porcelain") == ""


def test_promoted_from_is_the_commit_of_the_release_that_ran(tmp_path: Path, run: Run) -> None:
    """promote and rollback: `Promoted-From:` the full sha of the release each target ran (its tag
    read through the upstream, `v1.4.2` and `1.4.2` one commit), `Promoted-Tag:` the release."""
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "promote", "app", "--yes", "--commit")
    assert code == 0, err
    message = git(repo, "log", "-1", "--format=%B")
    assert f"Promoted-From: {shas[1]}\nPromoted-To: {shas[4]}\nPromoted-Environments: " in message
    assert f"\nPromoted-Tag: v1.10.0 {shas[4]}\n" in message
    code, out, err = run("-C", repo, "rollback", "app", "--reason", "broken", "--env", "staging", "--commit")
    assert code == 0, err
    message = git(repo, "log", "-1", "--format=%B")
    assert f"Promoted-From: {shas[4]}\nPromoted-To: {shas[1]}\nPromoted-Tag: v1.4.2 {shas[1]}\n" in message


def test_reconciles_commit_gives_promoted_from_and_each_release(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    remote = _remote(repo, tmp_path)
    code, out, err = run("-C", repo, "reconcile", "--push")
    assert code == 0, out + err
    message = git(remote, "log", "-1", "--format=%B", "promote/app")
    assert message.startswith("promote app: staging to v1.10.0, integration to v1.10.0, production to v1.10.0\n")
    assert (
        f"Promoted-Component: app\nPromoted-From: {shas[1]}\nPromoted-To: {shas[4]}\n"
        f"Promoted-Environments: staging, integration, production\nPromoted-Tag: v1.10.0 {shas[4]}\n"
    ) in message


def test_a_release_committed_half_way_is_finished_by_a_command_naming_it(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The branch moved to the promotion's commit, then git's index was locked: the message's
    command promotes the release by its tag, and finishes the job once the lock is gone."""
    up, repo, shas = t.build(tmp_path)
    branch = f"promote/app-{shas[3][:7]}"
    lock_index_after_the_branch_moved(monkeypatch, repo)
    code, out, err = run("-C", repo, "promote", "app", "v1.5.0", "--yes", "--commit")
    assert code == 4, out + err
    made = git(repo, "rev-parse", branch)
    assert f"the promotion is committed as {made[:12]} on branch {branch}" in err
    argv = finish_command(err)
    assert argv[argv.index("promote") :] == ["promote", "app", "v1.5.0", "--commit"]
    monkeypatch.undo()
    (repo / ".git" / "index.lock").unlink()
    code, out, err = run(*argv)
    assert code == 0, out + err
    assert f"{branch} already holds this promotion of app to v1.5.0" in out
    assert git(repo, "rev-parse", branch) == made
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_what_a_moved_tag_ran_is_the_commit_it_was_promoted_as(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v1.5.0 was promoted as c3, then moved to c5 (after v1.10.0's c4): what runs is c3, so
    v1.10.0 is newer and promoted, never taken for an older commit than what runs."""
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "promote", "app", "v1.5.0", "--commit", "--yes")
    assert code == 0, out + err
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", f"promote/app-{shas[3][:7]}")
    git(up, "tag", "-f", "-a", "-m", "again", "v1.5.0", shas[5])
    monkeypatch.setenv("PROMOTER_CACHE_DIR", str(tmp_path / "elsewhere"))  # a mirror that never saw it move
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0, out + err
    assert "argo [staging] argocd/app-staging.yaml: v1.5.0 -> v1.10.0 (1 place)" in out, out
    assert "note: v1.5.0, which argo, helm run: tag v1.5.0 names" in err, err


def test_status_and_reconcile_judge_a_moved_tag_by_the_commit_it_was_promoted_as(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As plan does: v1.5.0 runs c3 (moved to c5 since), so v1.10.0 (c4) is newer, to promote;
    reconcile's commit says it comes from c3."""
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "promote", "app", "v1.5.0", "--commit", "--yes")
    assert code == 0, out + err
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", f"promote/app-{shas[3][:7]}")
    git(up, "tag", "-f", "-a", "-m", "again", "v1.5.0", shas[5])
    monkeypatch.setenv("PROMOTER_CACHE_DIR", str(tmp_path / "elsewhere"))
    code, out, err = run("-C", repo, "status", "-o", "json")
    assert code == 0, out + err
    envs = json.loads(out)["components"][0]["environments"]
    assert [(e["next"]["action"], e["next"]["candidate"]) for e in envs] == [
        ("promote", {"value": "v1.10.0", "sha": shas[4]})
    ] * 3
    remote = _remote(repo, tmp_path)
    code, out, err = run("-C", repo, "reconcile", "--push")
    assert code == 0, out + err
    message = git(remote, "log", "-1", "--format=%B", "promote/app")
    assert f"Promoted-From: {shas[3]}\nPromoted-To: {shas[4]}\n" in message
