"""Release tags as versions (issue 22): `format: tag` targets pin `v1.4.2` in Argo CD, `1.4.2` in a
kustomization, `'v1.4.2'` in Helm values; everything resolves through the upstream's git tags.

A real upstream with lightweight and annotated tags, a tag off the branch, a pre-release and a tag
that names no semantic version (tests/tags_fixture.py), a real config repository; the CLI in
process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import tags_fixture as t
from tests.conftest import RunResult, git, make_repo, snapshot

Run = Callable[..., RunResult]


def _json(run: Run, *argv: object) -> dict[str, object]:
    code, out, err = run(*argv, "-o", "json")
    assert code in (0, 5), err
    doc: dict[str, object] = json.loads(out)
    return doc


def _files(repo: Path) -> dict[str, str]:
    return {f: (repo / f).read_text() for f in (t.ARGO, t.KUSTOMIZE, t.HELM)}


def _expected(version: str, envs: tuple[str, ...] = ("staging", "integration", "production")) -> dict[str, str]:
    """The three files with the environments `envs` at `version` and the others at 1.4.2."""
    new, old = t.files(version), t.files("1.4.2")
    where = {"staging": t.ARGO, "integration": t.KUSTOMIZE, "production": t.HELM}
    return {f: (new if any(where[e] == f for e in envs) else old)[f] for f in where.values()}


# -- resolution: which release, by what name ------------------------------------------------------


def test_the_candidate_is_the_highest_release_on_the_branch_in_semver_order(tmp_path: Path, run: Run) -> None:
    """v1.10.0 is above v1.5.0 (semver, not text order); v2.0.0 is not on main, v1.5.0-rc.1 is a
    pre-release, latest-build names no version: none of them is chosen. Each file changes in the
    value's characters only: quotes, comments and the other image's tags kept."""
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "promote", "app", "--yes")
    assert code == 0, err
    assert _files(repo) == _expected("1.10.0")
    assert "argo [staging] argocd/app-staging.yaml: v1.4.2 -> v1.10.0 (1 place)" in out
    assert "kustomize [integration] kustomize/overlays/integration/kustomization.yaml: 1.4.2 -> 1.10.0" in out
    assert "promoted app to v1.10.0 in 3 files" in out
    assert "note: tags that name no semantic version are not releases: latest-build" in err


@pytest.mark.parametrize("rev", ["v1.5.0", "1.5.0", "sha3", "short3"])
def test_a_rev_names_a_release_by_tag_by_version_or_by_its_commit(tmp_path: Path, run: Run, rev: str) -> None:
    up, repo, shas = t.build(tmp_path)
    given = {"sha3": shas[3], "short3": shas[3][:9]}.get(rev, rev)
    doc = _json(run, "-C", repo, "plan", "app", given)
    assert doc["new"] == {"value": "v1.5.0", "sha": shas[3]}
    targets = doc["targets"]
    assert isinstance(targets, list)
    assert [(x["old"], x["new"]) for x in targets] == [
        ([{"value": "v1.4.2", "sha": shas[1]}], {"value": "v1.5.0", "sha": shas[3]}),
        ([{"value": "1.4.2", "sha": shas[1]}], {"value": "1.5.0", "sha": shas[3]}),
        ([{"value": "v1.4.2", "sha": shas[1]}], {"value": "v1.5.0", "sha": shas[3]}),
    ]


def test_a_commit_without_a_release_or_with_only_a_pre_release_is_refused(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "app", shas[5], "--yes")
    assert code == 3
    assert err == (
        f"promoter: error: app: {shas[5]} is commit {shas[5][:7]}, and no release tag names it; app is pinned by "
        "release tags: give a release (such as v1.5.0)\n"
    )
    code, out, err = run("-C", repo, "plan", "app", shas[2])
    assert code == 3 and "its releases v1.5.0-rc.1 are pre-releases (name one to promote it)" in err
    code, out, err = run("-C", repo, "plan", "app", shas[4])  # latest-build and v1.10.0: the release
    assert code == 0 and "-> v1.10.0" in out
    code, out, err = run("-C", repo, "promote", "app", "v1.5.0-rc.1", "--env", "staging", "--yes")  # named: asked for
    assert code == 0, err
    assert (repo / t.ARGO).read_text() == t.files("1.5.0-rc.1")[t.ARGO]
    git(repo, "checkout", "--", ".")
    code, out, err = run("-C", repo, "plan", "app", "v2.0.0")  # a release off the branch: unmerged
    assert code == 3 and f"app: v2.0.0 is not on main (not in the history of its head {shas[5][:7]})" in err
    assert snapshot(repo) == before


def test_a_constraint_and_pre_releases_choose_among_the_releases(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path, constraint="~1.5")
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0 and "v1.4.2 -> v1.5.0" in out, err  # v1.10.0 is outside ~1.5
    code, out, err = run("-C", repo, "plan", "app", "v1.10.0")
    assert code == 3
    assert err == (
        "promoter: error: app: v1.10.0 is outside its constraint '~1.5'; choose a release within it, or change the "
        "constraint\n"
    )
    t.set_config(repo, up, constraint="<1.5.0", allow_prerelease=True)
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0 and "v1.4.2 -> v1.5.0-rc.1" in out, err
    t.set_config(repo, up, constraint=">=1.5.0-rc.0 <1.5.0")  # a constraint that names a pre-release
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0 and "v1.4.2 -> v1.5.0-rc.1" in out, err
    t.set_config(repo, up, constraint="^3")
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 3
    assert err == (
        "promoter: error: app: no release on main within the constraint '^3' (pre-releases only with "
        "allow_prerelease: true); the highest release: v2.0.0; tags that name no semantic version are not "
        "releases: latest-build\n"
    )


def test_a_tag_added_upstream_is_fetched_though_the_branch_did_not_move(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0 and "-> v1.10.0" in out
    git(up, "tag", "v1.11.0", shas[5])  # the branch's head did not move; a release was made on it
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0 and "-> v1.11.0" in out, err


def test_two_tags_of_one_version_on_two_commits_are_no_release(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    git(up, "tag", "1.10.0", shas[3])  # `v1.10.0` names c4: which one is 1.10.0?
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0 and "-> v1.5.0" in out
    assert "note: 1.10.0 and v1.10.0 name 1.10.0 with different commits: neither is a release" in err
    git(up, "tag", "-d", "1.10.0")
    git(up, "tag", "1.10.0", shas[4])  # the same commit: one release, by its v tag
    code, out, err = run("-C", repo, "plan", "app")
    assert code == 0 and "-> v1.10.0" in out and "different commits" not in err


# -- guards -------------------------------------------------------------------------------------------


def test_a_lower_version_is_a_rollback_even_on_a_newer_commit(tmp_path: Path, run: Run) -> None:
    """Downgrade = a lower semantic version (v1.4.3 tagged on c5, newer than v1.5.0's c3) or a
    commit in the history of what runs (v1.4.2)."""
    up, repo, shas = t.build(tmp_path, version="1.5.0")
    git(up, "tag", "v1.4.3", shas[5])
    before = snapshot(repo)
    code, out, err = run("-C", repo, "plan", "app", "v1.4.3", "--env", "staging")
    assert code == 3
    assert err == (
        "promoter: error: app: v1.4.3 is a lower version than v1.5.0, which argo already run: that would be a "
        "rollback; pass --allow-downgrade to do it\n"
    )
    code, out, err = run("-C", repo, "plan", "app", "v1.4.2", "--env", "integration")
    assert code == 3 and "v1.4.2 is a lower version than 1.5.0, which kustomize already run" in err
    code, out, err = run("-C", repo, "plan", "app", "v1.4.3", "--env", "staging", "--allow-downgrade")
    assert code == 0 and "note: rolling back argo from v1.5.0 (--allow-downgrade)" in err
    assert snapshot(repo) == before


def test_a_tag_the_mirror_saw_move_is_refused_and_passed_over(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "status")  # the mirror has the tags as they were
    assert code == 0
    git(up, "tag", "-f", "v1.10.0", shas[5])  # retagged to another commit
    before = snapshot(repo)
    code, out, err = run("-C", repo, "plan", "app", "v1.10.0")
    assert code == 3
    assert err.startswith(f"promoter: error: app: tag v1.10.0 moved from {shas[4][:7]} to {shas[5][:7]} (the mirror ")
    assert "a moved release is not promoted" in err
    code, out, err = run("-C", repo, "plan", "app")  # the highest release that did not move
    assert code == 0 and "-> v1.5.0" in out, err
    assert f"note: skipped v1.10.0: app: tag v1.10.0 moved from {shas[4][:7]} to {shas[5][:7]}" in err
    doc = _json(run, "-C", repo, "status")
    envs = doc["components"][0]["environments"]  # type: ignore[index]
    assert {e["next"]["candidate"]["value"] for e in envs} == {"v1.5.0"}
    assert snapshot(repo) == before


def test_a_tag_moved_since_it_was_promoted_is_told_by_its_trailer(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another machine (a new mirror, which never saw the tag before) still tells the move: the
    promotion commit's `Promoted-Tag: v1.5.0 <sha>` says which commit it named."""
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "promote", "app", "v1.5.0", "--commit", "--yes")
    assert code == 0, err
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("promote app v1.4.2 to v1.5.0\n")
    assert f"Promoted-From: {shas[1]}\nPromoted-To: {shas[3]}\n" in message
    assert f"\nPromoted-Tag: v1.5.0 {shas[3]}\n" in message
    git(up, "tag", "-f", "-a", "-m", "again", "v1.5.0", shas[5])
    monkeypatch.setenv("PROMOTER_CACHE_DIR", str(tmp_path / "elsewhere"))
    code, out, err = run("-C", repo, "plan", "app", "v1.5.0")
    assert code == 3
    assert err == (
        f"promoter: error: app: tag v1.5.0 names {shas[5][:7]} now, but named {shas[3][:7]} when it was promoted "
        "(its Promoted-Tag trailer in the config repository): it moved; a moved release is not promoted: ask its "
        "owners which commit it is, and promote another release\n"
    )
    code, out, err = run("-C", repo, "plan", "app", "v1.10.0")  # what runs moved: said
    assert code == 0
    assert "note: v1.5.0, which argo, helm run: tag v1.5.0 names" in err


def test_offline_a_tag_target_says_it_needs_the_upstream(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "plan", "app", shas[3], "--offline")
    assert code == 2
    assert err == (
        "promoter: error: app: targets argo, kustomize, helm pin release tags: promote a release (a tag such as "
        "v1.4.2), which needs the upstream's tags (not --offline)\n"
    )


# -- what it shows -------------------------------------------------------------------------------------


def test_status_shows_each_tag_its_commit_and_the_releases_it_is_behind(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "status", "-o", "wide")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"app: upstream head {shas[5][:7]}, newest release v1.10.0"
    rows = [line.split() for line in lines[2:] if not line.startswith("    ")]
    assert rows == [
        [env, value, "2", "behind:", "v1.10.0", "promote:", "to", "v1.10.0", f"({shas[4][:7]})"]
        for env, value in (("staging", "v1.4.2"), ("integration", "1.4.2"), ("production", "v1.4.2"))
    ]
    doc = _json(run, "-C", repo, "status")
    comp = doc["components"][0]  # type: ignore[index]
    assert comp["upstream"]["newest_release"] == {"value": "v1.10.0", "sha": shas[4]}
    integration = comp["environments"][1]
    assert integration["versions"] == [{"value": "1.4.2", "sha": shas[1]}]
    assert integration["behind"] == [{"version": {"value": "1.4.2", "sha": shas[1]}, "commits": 4, "releases": 2}]
    assert integration["next"]["candidate"] == {"value": "v1.10.0", "sha": shas[4]}
    assert integration["targets"][0]["locations"][0]["value"] == {"value": "1.4.2", "sha": shas[1]}

    code, out, err = run("-C", repo, "promote", "app", "--env", "staging", "--yes")
    assert code == 0
    code, out, err = run("-C", repo, "status", "-o", "wide")
    assert out.splitlines()[2].split() == ["staging", "v1.10.0", "up", "to", "date", "up-to-date:", "runs", "v1.10.0"]


def test_changelog_between_two_tags(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "changelog", "app", "v1.10.0", "--from", "v1.4.2")
    assert code == 0, err
    assert out.splitlines()[0] == f"3 commits from v1.4.2 ({shas[1][:7]}) to v1.10.0 ({shas[4][:7]})"
    doc = _json(run, "-C", repo, "changelog", "app")  # from what runs to the highest release
    assert (doc["old"], doc["new"]) == ({"value": "v1.4.2", "sha": shas[1]}, {"value": "v1.10.0", "sha": shas[4]})
    assert [c["sha"] for c in doc["commits"]] == [shas[4], shas[3], shas[2]]  # type: ignore[index]
    code, out, err = run("-C", repo, "changelog", "app", "-o", "markdown")
    assert out.startswith("**3 commits** from `v1.4.2` ([`")


def test_history_resolves_tags_for_lead_times_and_rollbacks(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    env = {"GIT_COMMITTER_DATE": "2026-01-10T10:00:00Z", "GIT_AUTHOR_DATE": "2026-01-10T10:00:00Z"}
    git(up, "tag", "v1.4.3", shas[5])  # a lower version on a newer commit
    for version in ("1.10.0", "1.5.0", "1.4.3"):  # a promotion, then a rollback, then a lower version again
        for f, text in t.files(version).items():
            (repo / f).write_text(text)
        git(repo, "commit", "-qam", f"to {version}", env=env)
    doc = _json(run, "-C", repo, "history", "app", "--env", "staging")
    rows = doc["changes"]
    assert isinstance(rows, list)
    promoted, rolled_back, lower = rows[-3], rows[-2], rows[-1]
    assert lower["rollback"] is True  # v1.5.0 -> v1.4.3: lower, though its commit descends from v1.5.0's
    assert [v["value"] for v in promoted["old"]] == ["v1.4.2"] and promoted["new"] == [
        {"value": "v1.10.0", "sha": shas[4]}
    ]
    assert (promoted["rollback"], rolled_back["rollback"]) == (False, True)
    assert promoted["lead_time_seconds"] == 5 * 86400  # c4 committed 2026-01-05 10:00, promoted 01-10 10:00
    assert rolled_back["new"] == [{"value": "v1.5.0", "sha": shas[3]}]


def test_reconcile_plans_each_environment_to_its_release(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "reconcile", "--dry-run")
    assert code == 0, err
    assert [line.split() for line in out.splitlines()[2:5]] == [
        [env, "promote", "to", "v1.10.0", f"({shas[4][:7]})"] for env in ("staging", "integration", "production")
    ]
    doc = _json(run, "-C", repo, "reconcile", "--dry-run")
    envs = doc["components"][0]["environments"]  # type: ignore[index]
    assert [e["candidate"] for e in envs] == [{"value": "v1.10.0", "sha": shas[4]}] * 3
    code, out, err = run("-C", repo, "reconcile", "--dry-run", "-o", "markdown")
    assert "v1.10.0" in out


# -- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"constraint": "^1.4 ||"}, "component 'app': constraint '^1.4 ||' has an empty alternative around '||'"),
        ({"constraint": "latest"}, "component 'app': constraint 'latest' 'latest' is no version comparator"),
        ({"tag": "{tag}-{nope}"}, "component 'app': tag may use {sha}, {short}, {tag} and {version} only"),
    ],
)
def test_config_errors_of_release_tags(tmp_path: Path, run: Run, change: dict[str, str], said: str) -> None:
    up, repo, shas = t.build(tmp_path, **change)
    code, out, err = run("-C", repo, "status")
    assert code == 2 and said in err, err


def test_a_tag_pattern_and_release_keys_need_format_tag(tmp_path: Path, run: Run) -> None:
    up, shas = t.upstream(tmp_path / "up")
    text = (
        "version: 1\ncomponents:\n  app:\n"
        f"    repo: {t.URL}\n    fetch: {up}\n    constraint: ^1\n"
        f"    targets:\n      - {{name: a, file: {t.ARGO}, key: targetRevision}}\n"
    )
    repo = make_repo(tmp_path / "c", {**t.files(), "promotion.yaml": text})
    code, out, err = run("-C", repo, "status")
    assert code == 2 and "promotion.yaml:6: component 'app': 'constraint' is for release tags" in err, err
    (repo / "promotion.yaml").write_text(
        text.replace("    constraint: ^1\n", "    tag: '{tag}'\n").replace("key: targetRevision", "key: targetRevision")
    )
    code, out, err = run("-C", repo, "status")
    assert code == 2 and "({tag} and {version} are for a component whose targets pin release tags)" in err, err
    (repo / "promotion.yaml").write_text(
        text.replace("    constraint: ^1\n", "").replace(
            "key: targetRevision", "key: targetRevision, tag_pattern: 'v{semver}'"
        )
    )
    code, out, err = run("-C", repo, "status")
    assert code == 2 and "'tag_pattern' goes with 'format: tag'" in err, err
    (repo / "promotion.yaml").write_text(
        text.replace("    constraint: ^1\n", "").replace(
            "key: targetRevision", "key: targetRevision, format: tag, tag_pattern: 'v{version}'"
        )
    )
    code, out, err = run("-C", repo, "status")
    assert code == 2 and "tag_pattern 'v{version}' needs exactly one {semver}" in err, err


def test_rollback_goes_back_to_the_release_that_ran_before(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    code, out, err = run("-C", repo, "promote", "app", "--yes", "--commit")
    assert code == 0, err
    code, out, err = run("-C", repo, "rollback", "app", "--reason", "broken", "--env", "staging", "--commit")
    assert code == 0, err
    assert (repo / t.ARGO).read_text() == t.files("1.4.2")[t.ARGO]
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("rollback app v1.10.0 to v1.4.2 in staging\n")
    assert f"Promoted-To: {shas[1]}\nPromoted-Tag: v1.4.2 {shas[1]}\n" in message
    code, out, err = run("-C", repo, "rollback", "app", "--reason", "again", "--env", "staging", "--to", "v1.4.2")
    assert code == 3 and err == "promoter: error: app: staging already runs v1.4.2; nothing to roll back\n"


def test_the_image_tag_of_a_release_is_its_tag_unless_the_config_says_otherwise(tmp_path: Path) -> None:
    from promoter.model import Release
    from promoter.pipeline import config

    up, repo, shas = t.build(tmp_path, image=t.IMAGE)
    release = Release("v1.5.0", "1.5.0", shas[3])
    comp = config.load(repo / "promotion.yaml", repo).components["app"]
    assert (comp.tag, comp.image_tag(shas[3], release)) == ("{tag}", "v1.5.0")
    t.set_config(repo, up, image=t.IMAGE, tag="{version}-{short}")
    comp = config.load(repo / "promotion.yaml", repo).components["app"]
    assert comp.image_tag(shas[3], release) == f"1.5.0-{shas[3][:7]}"


def test_soak_is_measured_on_the_release_that_ran(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """production comes after staging for an hour: what staging ran is read from the config
    repository's history, its tag resolved to its commit."""
    up, repo, shas = t.build(tmp_path)
    text = (repo / "promotion.yaml").read_text() + "environments:\n  production:\n    after: [staging]\n    soak: 1h\n"
    (repo / "promotion.yaml").write_text(text)
    (repo / t.ARGO).write_text(t.files("1.5.0")[t.ARGO])
    from datetime import UTC, datetime, timedelta

    at = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(minutes=2)  # after the initial commit
    when = {"GIT_COMMITTER_DATE": at.isoformat(), "GIT_AUTHOR_DATE": at.isoformat()}
    git(repo, "commit", "-qam", "staging runs v1.5.0", env=when)
    monkeypatch.setenv("PROMOTER_NOW", (at + timedelta(minutes=30)).isoformat())
    code, out, err = run("-C", repo, "plan", "app", "v1.5.0", "--env", "production")
    assert code == 3
    assert err == (
        f"promoter: error: app: {shas[3][:7]} is soaking in staging until {at + timedelta(hours=1):%Y-%m-%d %H:%M} "
        "UTC (30m left); pass --ignore-soak to promote anyway\n"
    )
    monkeypatch.setenv("PROMOTER_NOW", (at + timedelta(hours=1)).isoformat())
    code, out, err = run("-C", repo, "plan", "app", "v1.5.0", "--env", "production")
    assert code == 0 and "helm [production] helm/app/values-production.yaml: v1.4.2 -> v1.5.0 (1 place)" in out
    code, out, err = run("-C", repo, "plan", "app", "v1.10.0", "--env", "production")  # staging never ran it
    assert code == 3 and "staging does not run" in err


def test_the_merge_request_names_the_release_and_its_commit(tmp_path: Path) -> None:
    from promoter.model import Release
    from promoter.pipeline import core
    from promoter.ship import describe

    up, repo, shas = t.build(tmp_path)
    opened = core.open_repo(repo)
    comp = opened.config.components["app"]
    plan = core.plan(opened, comp, shas[3], list(comp.targets), release=Release("v1.5.0", "1.5.0", shas[3]))
    text = describe.merge_request_description(plan, None)
    assert text.startswith(f"Promotes **app** to `v1.5.0` ([`{shas[3][:7]}`]({t.URL}/commit/{shas[3]})).\n")
    assert "| staging | argo | `argocd/app-staging.yaml` | `v1.4.2` | `v1.5.0` |" in text
    assert f"Promoted-To: {shas[3]}, Promoted-Tag: v1.5.0._" in text


def test_a_release_tag_is_never_a_form_of_another() -> None:
    """`v1.4.2` is no short form of `v1.4.20` (as a short sha is of its full sha)."""
    from promoter.insight.history import forms
    from promoter.model import version_key

    full = "ab" * 20
    assert forms(["v1.4.2", "v1.4.20", full[:7], full]) == ("v1.4.2", "v1.4.20", full)
    assert version_key("v1.10.10", 7) != version_key("v1.10.11", 7)


def test_a_target_that_locates_two_releases_is_warned(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    (repo / t.ARGO).write_text(t.files("1.10.10")[t.ARGO] + "  other:\n    targetRevision: v1.10.11\n")
    git(repo, "commit", "-qam", "two")
    git(up, "tag", "v1.10.10", shas[4])
    git(up, "tag", "v1.10.11", shas[4])
    git(up, "tag", "v1.10.12", shas[5])
    code, out, err = run("-C", repo, "plan", "app", "v1.10.12", "--env", "staging")
    assert code == 0, err
    assert "warning: target 'argo' locates 2 different values" in err


def test_from_env_promotes_the_release_another_environment_runs(tmp_path: Path, run: Run) -> None:
    up, repo, shas = t.build(tmp_path)
    (repo / t.ARGO).write_text(t.files("1.5.0")[t.ARGO])
    git(repo, "commit", "-qam", "staging runs v1.5.0")
    code, out, err = run("-C", repo, "plan", "app", "--from-env", "staging", "--env", "integration")
    assert code == 0, err
    assert out.endswith(
        "kustomize [integration] kustomize/overlays/integration/kustomization.yaml: 1.4.2 -> 1.5.0 (1 place)\n"
    )


def test_reconciles_commit_names_each_release_with_its_commit(tmp_path: Path) -> None:
    from promoter.model import Release
    from promoter.pipeline import core
    from promoter.ship import reconcile
    from promoter.ship.decisions import Decision

    up, repo, shas = t.build(tmp_path)
    opened = core.open_repo(repo)
    comp = opened.config.components["app"]
    releases = {"staging": Release("v1.10.0", "1.10.0", shas[4]), "production": Release("v1.5.0", "1.5.0", shas[3])}
    decisions = [
        Decision("app", env, ("v1.4.2",), "promote", "", candidate=r.sha, release=r) for env, r in releases.items()
    ]
    plans = [
        core.plan(opened, comp, r.sha, [x for x in comp.targets if x.environment == env], release=r)
        for env, r in releases.items()
    ]
    subject, text = reconcile._message(comp, decisions, plans, "0" * 64)
    assert subject == "promote app: staging to v1.10.0, production to v1.5.0"
    assert f"Promoted-Tag: v1.10.0 {shas[4]}\nPromoted-Tag: v1.5.0 {shas[3]}\n" in text


def test_status_never_moves_an_environment_to_a_lower_release(tmp_path: Path, run: Run) -> None:
    """Within `~1.4` the highest release is v1.4.3, on a newer commit than v1.5.0's, which runs:
    a lower version, so every environment is up to date (reconcile would never move it back)."""
    up, repo, shas = t.build(tmp_path, version="1.5.0", constraint="~1.4")
    git(up, "tag", "v1.4.3", shas[5])
    doc = _json(run, "-C", repo, "status")
    envs = doc["components"][0]["environments"]  # type: ignore[index]
    assert [(e["next"]["action"], e["next"]["reason"]) for e in envs] == [
        ("up-to-date", "runs v1.5.0"),
        ("up-to-date", "runs 1.5.0"),
        ("up-to-date", "runs v1.5.0"),
    ]
