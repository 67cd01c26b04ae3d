"""app-interface's promotion channels, with no promotion.yaml (SAPM's and saasherder's semantics).

Each test builds a small app-interface tree of its own (a publisher, subscribers, their namespaces,
environments, cluster and app, `.env` pinning qontract-reconcile), with the config repository's
history dated commit by commit, and an upstream whose url git rewrites to a local repository
(`url.<base>.insteadOf`, as a mirror would be). The clock is PROMOTER_NOW.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from promoter.native.confighash import repository_reader, target_config_hash
from tests.conftest import git, snapshot, write_tree

Run = Callable[..., tuple[int, str, str]]
UP = "https://github.com/acme/app"
DEPLOY = "data/services/app/cicd/deploy.yml"
TESTS = "data/services/app/cicd/tests.yml"
STAGE = "app-deploy/app/app-stage"
PROD = "app-deploy/app/app-production"
CHECK = "app-tests/app-tests/app-stage"
OLD_HASH = "0123456789abcdef"
DAY = 86400


def _env(name: str, kind: str) -> str:
    return f"---\n$schema: /app-sre/environment-1.yml\nlabels:\n  type: {kind}\nname: {name}\n"


def _namespace(name: str, env: str) -> str:
    return (
        f"---\n$schema: /openshift/namespace-1.yml\nname: {name}\ncluster:\n  $ref: /openshift/c1/cluster.yml\n"
        f"app:\n  $ref: /services/app/app.yml\nenvironment:\n  $ref: /products/app/environments/{env}.yml\n"
    )


APP = f"""---
$schema: /app-sre/app-1.yml
name: app
codeComponents:
- name: app
  resource: upstream
  url: {UP}
"""

BASE: dict[str, str] = {
    ".env": "export RECONCILE_IMAGE_TAG=862eebc\n",
    "data/products/app/environments/stage.yml": _env("app-stage", "stage"),
    "data/products/app/environments/production.yml": _env("app-production", "production"),
    "data/openshift/c1/cluster.yml": "---\n$schema: /openshift/cluster-1.yml\nname: c1\nserverUrl: https://c1.example\n",
    "data/services/app/app.yml": APP,
    "data/services/app/namespaces/app-stage.yml": _namespace("app-stage", "stage"),
    "data/services/app/namespaces/app-production.yml": _namespace("app-production", "production"),
}


def deploy(stage: str, prod: str, promotion: str = "", stage_promotion: str = "") -> str:
    """The deploy saas file: stage publishes app-stage-deploy; production (auto) subscribes to it."""
    promotion = promotion or (
        "    promotion:\n      auto: true\n      subscribe:\n      - app-stage-deploy\n"
        "      promotion_data:\n      - channel: app-stage-deploy\n        data:\n"
        f"        - parent_saas: app-deploy\n          target_config_hash: {OLD_HASH}\n"
        "          type: parent_saas_config\n"
    )
    stage_promotion = stage_promotion or "    promotion:\n      publish:\n      - app-stage-deploy\n"
    return (
        "---\n$schema: /app-sre/saas-file-2.yml\nname: app-deploy\napp:\n  $ref: /services/app/app.yml\n"
        "managedResourceTypes:\n- Deployment\nresourceTemplates:\n- name: app\n"
        f"  url: {UP}\n  path: /openshift/app.yaml\n  targets:\n"
        f"  - namespace:\n      $ref: /services/app/namespaces/app-stage.yml\n    ref: {stage}\n{stage_promotion}"
        f"  - namespace:\n      $ref: /services/app/namespaces/app-production.yml\n    ref: {prod}\n{promotion}"
    )


def checks_file(ref: str, promotion: str) -> str:
    """A second saas file: the stage tests, a target of the same url in the stage namespace."""
    return (
        "---\n$schema: /app-sre/saas-file-2.yml\nname: app-tests\napp:\n  $ref: /services/app/app.yml\n"
        "managedResourceTypes:\n- Job\nresourceTemplates:\n- name: app-tests\n"
        f"  url: {UP}\n  path: /openshift/tests.yaml\n  targets:\n"
        f"  - namespace:\n      $ref: /services/app/namespaces/app-stage.yml\n    ref: {ref}\n{promotion}"
    )


def upstream(root: Path, dates: list[str]) -> list[str]:
    """The component's upstream: one commit on main per date (committed then); its shas, oldest
    first. Its url is rewritten to it for git."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    shas = []
    for i, date in enumerate(dates):
        (root / "f").write_text(f"{i}\n")
        git(root, "add", "f")
        git(root, "commit", "-qm", f"change {i}", env={"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date})
        shas.append(git(root, "rev-parse", "HEAD"))
    (Path.home() / ".gitconfig").write_text(f'[url "{root}"]\n\tinsteadOf = {UP}\n')
    return shas


def config_repo(root: Path, history: list[tuple[str, dict[str, str]]]) -> Path:
    """The config repository: each (date, files) a commit on main, dated then."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for date, files in history:
        write_tree(root, files)
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"at {date}", env={"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date})
    return root


def stage_hash(repo: Path, file: str = DEPLOY, rt: int = 0, target: int = 0) -> str:
    """The target_config_hash of a publisher, computed independently (confighash on the file as it is)."""
    doc = yaml.safe_load((repo / file).read_text())
    return target_config_hash(doc, rt, target, repository_reader(str(repo)), "862eebc")


def _json(run: Run, *argv: str | Path, code: int = 0) -> dict[str, Any]:
    got, out, err = run(*argv)
    assert got == code, out + err
    doc: dict[str, Any] = json.loads(out)
    return doc


def _decisions(doc: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    """reconcile -o json: (environment, its targets...) -> the decision."""
    return {
        (e["environment"], *(t["target"] for t in e["targets"])): e
        for c in doc["components"]
        for e in c["environments"]
    }


# -- the order: a subscriber takes only what every publisher of its channels runs ------------------


def test_a_subscriber_takes_only_a_version_its_publisher_ran_and_its_hash_moves_with_it(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = [x * 40 for x in "abcd"]  # offline: shas need no upstream
    repo = config_repo(
        tmp_path / "ai",
        [
            ("2026-03-01T00:00:00Z", {**BASE, DEPLOY: deploy(c[0], c[0])}),
            ("2026-03-02T00:00:00Z", {DEPLOY: deploy(c[1], c[0])}),  # stage ran c1, then c2
            ("2026-03-03T00:00:00Z", {DEPLOY: deploy(c[2], c[0])}),
        ],
    )
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-04T00:00:00Z")
    code, out, err = run("-C", repo, "plan", "app", c[3], "--target", PROD, "--offline")
    assert code == 3
    assert f"'{PROD}' comes after '{STAGE}' (channel 'app-stage-deploy'), and '{STAGE}' does not run {c[3][:7]}" in err
    assert "--ignore-soak" in err
    for ran in (c[1], c[2]):  # what it runs, and what it ran before (offline: descent not asked)
        doc = _json(run, "-C", repo, "plan", "app", ran, "--target", PROD, "--offline", "-o", "json")
        assert [e["kind"] for e in doc["edits"]] == ["pin", "target_config_hash"]
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "app", c[2], "--target", PROD, "--offline", "--yes")
    assert code == 0, err
    after = snapshot(repo)
    assert {k for k in after if after[k] != before[k]} == {DEPLOY}
    # its ref and the hash of the publisher it follows, computed as qontract-reconcile computes it
    assert after[DEPLOY].decode() == deploy(c[2], c[2]).replace(OLD_HASH, stage_hash(repo))
    code, out, err = run("-C", repo, "plan", "app", c[3], "--target", PROD, "--offline", "--ignore-soak")
    assert code == 0, err  # what lifts the order


def test_reconcile_promotes_a_subscriber_to_what_its_publisher_runs_and_leaves_the_rest(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = [f"2026-03-0{i}T00:00:00Z" for i in range(1, 6)]
    c = upstream(tmp_path / "up", days)
    repo = config_repo(tmp_path / "ai", [("2026-03-05T12:00:00Z", {**BASE, DEPLOY: deploy(c[2], c[0])})])
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-06T00:00:00Z")
    doc = _json(run, "-C", repo, "reconcile", "--dry-run", "-o", "json")
    decided = _decisions(doc)
    # production (auto) moves to what stage runs, not to the branch's head (c[4]); stage (no
    # promotion.auto) is left to an explicit promote
    assert decided[("app-production",)]["action"] == "promote"
    assert decided[("app-production",)]["candidate"]["value"] == c[2]
    assert decided[("app-stage",)]["action"] == "manual"
    doc = _json(run, "-C", repo, "plan", "app", "--target", PROD, "-o", "json")
    assert doc["new"]["value"] == c[2]
    assert {e["kind"]: e["new"]["value"] for e in doc["edits"]} == {"pin": c[2], "target_config_hash": stage_hash(repo)}
    status = _json(run, "-C", repo, "status", "-o", "json")
    (prod,) = [e for e in status["components"][0]["environments"] if e["environment"] == "app-production"]
    assert prod["next"]["action"] == "promote" and prod["next"]["candidate"]["value"] == c[2]


def test_soak_days_are_summed_over_the_publishers_as_sapm_sums_them(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = upstream(tmp_path / "up", [f"2026-03-0{i}T00:00:00Z" for i in range(1, 4)])
    both = (
        "    promotion:\n      auto: true\n      soakDays: 1\n      subscribe:\n      - app-stage-deploy\n"
        "      - app-stage-tests\n"
    )
    tests = "    promotion:\n      publish:\n      - app-stage-tests\n"
    repo = config_repo(
        tmp_path / "ai",
        [
            ("2026-03-04T00:00:00Z", {**BASE, DEPLOY: deploy(c[0], c[0], both), TESTS: checks_file(c[0], tests)}),
            # both publishers run c[2] from 2026-03-05 00:00
            ("2026-03-05T00:00:00Z", {DEPLOY: deploy(c[2], c[0], both), TESTS: checks_file(c[2], tests)}),
        ],
    )
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-05T11:00:00Z")  # 11 h each: 22 h of the 24
    decided = _decisions(_json(run, "-C", repo, "reconcile", "--dry-run", "-o", "json"))
    prod = decided[("app-production",)]
    assert prod["action"] == "soaking"
    assert prod["until"] == "2026-03-05T12:00:00+00:00"  # the 2 h left, run on both at once
    assert "summed over 2 publishers" in prod["reason"]
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-05T13:00:00Z")  # 26 h: soaked, though each ran 13 h
    decided = _decisions(_json(run, "-C", repo, "reconcile", "--dry-run", "-o", "json"))
    assert decided[("app-production",)]["action"] == "promote"
    assert decided[("app-production",)]["candidate"]["value"] == c[2]


def test_a_publisher_tracking_a_branch_runs_each_commit_from_when_it_landed_there(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = upstream(tmp_path / "up", ["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"])
    up = tmp_path / "up"
    # a commit made on a branch on 03-01 and merged into main on 03-05 12:00: it landed then
    git(up, "checkout", "-q", "-b", "feature", c[0])
    (up / "g").write_text("feature\n")
    git(up, "add", "g")
    old = {"GIT_COMMITTER_DATE": "2026-03-01T06:00:00Z", "GIT_AUTHOR_DATE": "2026-03-01T06:00:00Z"}
    git(up, "commit", "-qm", "feature", env=old)
    feature = git(up, "rev-parse", "HEAD")
    git(up, "checkout", "-q", "main")
    merged = {"GIT_COMMITTER_DATE": "2026-03-05T12:00:00Z", "GIT_AUTHOR_DATE": "2026-03-05T12:00:00Z"}
    git(up, "merge", "-q", "--no-ff", "-m", "merge feature", "feature", env=merged)
    merge = git(up, "rev-parse", "HEAD")
    soak = "    promotion:\n      auto: true\n      soakDays: 1\n      subscribe:\n      - app-stage-deploy\n"
    repo = config_repo(tmp_path / "ai", [("2026-03-01T00:00:00Z", {**BASE, DEPLOY: deploy("main", c[0], soak)})])
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-06T00:00:00Z")
    # c[1] landed on main on 03-02: soaked; the feature commit, though committed on 03-01, landed
    # with its merge 12 h ago: soaking until 03-06 12:00
    code, out, err = run("-C", repo, "plan", "app", c[1], "--target", PROD)
    assert code == 0, err
    code, out, err = run("-C", repo, "plan", "app", feature, "--target", PROD)
    assert code == 3
    assert f"{feature[:7]} is soaking on the publishers of '{PROD}' until 2026-03-06 12:00 UTC" in err
    decided = _decisions(_json(run, "-C", repo, "reconcile", "--dry-run", "-o", "json"))
    assert decided[("app-production",)]["action"] == "soaking"  # the branch's tip, the merge, is its candidate
    assert decided[("app-production",)]["until"] == "2026-03-06T12:00:00+00:00"
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-06T13:00:00Z")
    decided = _decisions(_json(run, "-C", repo, "reconcile", "--dry-run", "-o", "json"))
    assert decided[("app-production",)]["candidate"]["value"] == merge
    code, out, err = run("-C", repo, "plan", "app", c[1], "--target", PROD, "--offline")
    assert code == 0, err  # offline, a tracking publisher is not judged: said
    assert f"--offline: whether {STAGE} (tracking a branch) run the version '{PROD}' takes is not judged" in err


def test_a_schedule_opens_promotions_for_an_hour_from_each_time_it_names(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = [x * 40 for x in "ab"]
    scheduled = (
        "    promotion:\n      auto: true\n      schedule: '0 8 * * 1-5'\n      subscribe:\n      - app-stage-deploy\n"
    )
    repo = config_repo(tmp_path / "ai", [("2026-03-01T00:00:00Z", {**BASE, DEPLOY: deploy(c[1], c[0], scheduled)})])
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-02T08:30:00Z")  # a Monday, 08:30 UTC
    code, out, err = run("-C", repo, "plan", "app", c[1], "--target", PROD, "--offline")
    assert code == 0, err
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-02T09:30:00Z")
    code, out, err = run("-C", repo, "plan", "app", c[1], "--target", PROD, "--offline")
    assert code == 3
    assert f"'{PROD}' promotes on its schedule '0 8 * * 1-5'" in err and "it opens 2026-03-03 08:00 UTC" in err
    code, out, err = run("-C", repo, "plan", "app", c[1], "--target", PROD, "--offline", "--ignore-window")
    assert code == 0, err
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-07T08:30:00Z")  # a Saturday
    code, out, err = run("-C", repo, "plan", "app", c[1], "--target", PROD, "--offline")
    assert code == 3 and "it opens 2026-03-09 08:00 UTC" in err


def test_a_disabled_publisher_and_a_channel_nobody_publishes_hold_the_subscriber_back(tmp_path: Path, run: Run) -> None:
    c = [x * 40 for x in "ab"]
    disabled = "    disable: true\n    promotion:\n      publish:\n      - app-stage-deploy\n"
    repo = config_repo(
        tmp_path / "ai", [("2026-03-01T00:00:00Z", {**BASE, DEPLOY: deploy(c[1], c[0], stage_promotion=disabled)})]
    )
    code, out, err = run("-C", repo, "plan", "app", c[1], "--target", PROD, "--offline")
    assert code == 3 and f"'{STAGE}' is disabled: it runs nothing" in err
    nobody = "    promotion:\n      auto: true\n      subscribe:\n      - nobody-publishes-this\n"
    write_tree(repo, {DEPLOY: deploy(c[1], c[0], nobody)})
    git(repo, "commit", "-qam", "a channel of nobody")
    code, out, err = run("-C", repo, "plan", "app", c[1], "--target", PROD, "--offline")
    assert code == 3
    assert f"'{PROD}' subscribes to channel 'nobody-publishes-this', which no target publishes" in err


# -- promotion_data ------------------------------------------------------------------------------------


def test_a_hash_that_cannot_be_made_current_refuses_the_subscriber_and_writes_nothing(tmp_path: Path, run: Run) -> None:
    c = [x * 40 for x in "ab"]
    files = {k: v for k, v in BASE.items() if k != ".env"}
    repo = config_repo(tmp_path / "ai", [("2026-03-01T00:00:00Z", {**files, DEPLOY: deploy(c[1], c[0])})])
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "app", c[1], "--target", PROD, "--offline", "--yes")
    assert code == 3
    line = deploy(c[1], c[0]).splitlines().index(f"          target_config_hash: {OLD_HASH}") + 1
    assert f"{DEPLOY}:{line}: target '{PROD}' cannot move: the target_config_hash of its publisher '{STAGE}'" in err
    assert "no .env pinning RECONCILE_IMAGE_TAG" in err and "never" not in err
    write_tree(repo, {".env": "export RECONCILE_IMAGE_TAG=0123abc\n"})  # a version outside the recipes
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "env")
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "app", c[1], "--target", PROD, "--offline", "--yes")
    assert code == 3 and "not a version whose target_config_hash recipe promoter knows" in err
    assert snapshot(repo) == before
    # a parent_saas that publishes nothing of the channel
    write_tree(
        repo, {".env": BASE[".env"], DEPLOY: deploy(c[1], c[0]).replace("parent_saas: app-deploy", "parent_saas: gone")}
    )
    git(repo, "commit", "-qam", "renamed")
    code, out, err = run("-C", repo, "promote", "app", c[1], "--target", PROD, "--offline", "--yes")
    assert code == 3
    assert "names parent_saas 'gone', and no target of a saas file of that name publishes 'app-stage-deploy'" in err
    assert "its publishers are in app-deploy" in err


def test_a_current_hash_stays_and_a_publisher_moved_in_the_same_promotion_is_hashed_as_merged(
    tmp_path: Path, run: Run
) -> None:
    c = [x * 40 for x in "abc"]
    repo = config_repo(tmp_path / "ai", [("2026-03-01T00:00:00Z", {**BASE, DEPLOY: deploy(c[1], c[0])})])
    current = stage_hash(repo)
    write_tree(repo, {DEPLOY: deploy(c[1], c[0]).replace(OLD_HASH, current)})
    git(repo, "commit", "-qam", "current")
    doc = _json(run, "-C", repo, "plan", "app", c[1], "--target", PROD, "--offline", "-o", "json")
    assert [e["kind"] for e in doc["edits"]] == ["pin"]  # its ref alone: the hash is current
    # stage and production together (the order lifted): production's hash is stage's at its new ref
    code, out, err = run("-C", repo, "promote", "app", c[2], "--offline", "--yes", "--ignore-soak")
    assert code == 0, err
    assert stage_hash(repo) != current
    assert (repo / DEPLOY).read_text() == deploy(c[2], c[2]).replace(OLD_HASH, stage_hash(repo))


def test_a_publisher_whose_own_promotion_data_moves_in_the_same_promotion_refuses_its_subscriber(
    tmp_path: Path, run: Run
) -> None:
    c = [x * 40 for x in "ab"]
    # the stage tests follow stage and publish app-stage-tests; production follows the tests
    tests = (
        "    promotion:\n      auto: true\n      subscribe:\n      - app-stage-deploy\n      publish:\n"
        "      - app-stage-tests\n      promotion_data:\n      - channel: app-stage-deploy\n        data:\n"
        f"        - parent_saas: app-deploy\n          target_config_hash: {OLD_HASH}\n"
        "          type: parent_saas_config\n"
    )
    prod = (
        "    promotion:\n      auto: true\n      subscribe:\n      - app-stage-tests\n      promotion_data:\n"
        "      - channel: app-stage-tests\n        data:\n        - parent_saas: app-tests\n"
        f"          target_config_hash: {OLD_HASH}\n          type: parent_saas_config\n"
    )
    repo = config_repo(
        tmp_path / "ai",
        [("2026-03-01T00:00:00Z", {**BASE, DEPLOY: deploy(c[1], c[0], prod), TESTS: checks_file(c[0], tests)})],
    )
    code, out, err = run(
        "-C", repo, "promote", "app", c[1], "--target", CHECK, "--target", PROD, "--offline", "--yes", "--ignore-soak"
    )
    assert code == 3
    assert f"target '{PROD}' follows '{CHECK}', whose own promotion_data this promotion rewrites" in err
    assert f"promote '{CHECK}' first, then '{PROD}'" in err
    code, out, err = run("-C", repo, "promote", "app", c[1], "--target", CHECK, "--offline", "--yes")
    assert code == 0, err
    git(repo, "commit", "-qam", "the tests first")
    code, out, err = run("-C", repo, "promote", "app", c[1], "--target", PROD, "--offline", "--yes")
    assert code == 0, err
    assert f"target_config_hash: {stage_hash(repo, TESTS)}" in (repo / DEPLOY).read_text()


# -- codeComponents: blockedVersions and hotfixVersions ----------------------------------------------


def test_an_apps_blocked_and_hotfix_versions_are_blocked_and_hotfix_for_its_url(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = [x * 40 for x in "abcd"]
    app = APP + f"  blockedVersions:\n  - {c[1]}\n  hotfixVersions:\n  - {c[3]}\n"
    scheduled = (
        "    promotion:\n      auto: true\n      schedule: '0 8 * * 1-5'\n      subscribe:\n      - app-stage-deploy\n"
    )
    files = {**BASE, "data/services/app/app.yml": app, DEPLOY: deploy(c[0], c[0], scheduled)}
    repo = config_repo(tmp_path / "ai", [("2026-03-01T00:00:00Z", files)])
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-02T08:30:00Z")  # in the schedule
    for target in (PROD, STAGE):  # blocked for every target of the url, subscriber or not
        code, out, err = run("-C", repo, "plan", "app", c[1], "--target", target, "--offline")
        assert code == 3, err
        assert f"app: {c[1][:7]} is blocked (blockedVersions at data/services/app/app.yml:9); no option lifts it" in err
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-02T10:30:00Z")  # out of the schedule
    # a hotfix skips the order (stage never ran it) and the schedule, as saasherder's validation lets it
    code, out, err = run("-C", repo, "plan", "app", c[3], "--target", PROD, "--offline")
    assert code == 0, err
    code, out, err = run("-C", repo, "plan", "app", c[2], "--target", PROD, "--offline")
    assert code == 3 and "does not run" in err and "promotes on its schedule" in err
    # an edit of the app's lists is an edit of the policy, said at its line
    write_tree(repo, {"data/services/app/app.yml": app.replace(f"  - {c[1]}\n", f"  - {c[1]}\n  - {c[2]}\n")})
    doc = _json(run, "-C", repo, "check", "--base", "HEAD", "--offline", "-o", "json")
    (changed,) = [p for p in doc["problems"] if p["kind"] == "policy-changed"]
    assert (changed["file"], changed["line"], changed["level"]) == ("data/services/app/app.yml", 10, "note")
    assert f"blocked: {c[2]} added" in changed["message"]


# -- check --base: what saasherder's validate_promotions judges ----------------------------------------


def test_check_base_judges_a_subscriber_by_its_publishers_and_its_promotion_data(tmp_path: Path, run: Run) -> None:
    c = [x * 40 for x in "abcd"]
    repo = config_repo(tmp_path / "ai", [("2026-03-01T00:00:00Z", {**BASE, DEPLOY: deploy(c[2], c[0])})])
    text = deploy(c[2], c[0]).splitlines()
    ref_line = text.index(f"    ref: {c[0]}") + 1
    hash_line = text.index(f"          target_config_hash: {OLD_HASH}") + 1
    want = stage_hash(repo)
    # a hand-made change: production to a version stage never ran, the hash left as it was
    write_tree(repo, {DEPLOY: deploy(c[2], c[3])})
    doc = _json(run, "-C", repo, "check", "--base", "HEAD", "--offline", "-o", "json", code=3)
    got = {(p["kind"], p["line"]): p for p in doc["problems"]}
    assert set(got) == {("policy-after", ref_line), ("promotion-data-stale", hash_line)}
    after = got[("policy-after", ref_line)]
    assert f"'{PROD}' comes after '{STAGE}' (channel 'app-stage-deploy')" in after["message"]
    assert f"promoter promote app {c[3][:7]} --target {STAGE}" in after["hint"]
    stale = got[("promotion-data-stale", hash_line)]
    assert f"holds target_config_hash {OLD_HASH}, not {want}, the hash of its publisher '{STAGE}'" in stale["message"]
    # what stage runs, with the hash left stale: the hash alone
    write_tree(repo, {DEPLOY: deploy(c[2], c[2])})
    doc = _json(run, "-C", repo, "check", "--base", "HEAD", "--offline", "-o", "json", code=3)
    assert [(p["kind"], p["line"]) for p in doc["problems"]] == [("promotion-data-stale", hash_line)]
    write_tree(repo, {DEPLOY: deploy(c[2], c[2]).replace(OLD_HASH, want)})  # what promote writes
    doc = _json(run, "-C", repo, "check", "--base", "HEAD", "--offline", "-o", "json")
    assert doc["problems"] == []
    write_tree(repo, {".env": "export RECONCILE_IMAGE_TAG=0123abc\n"})  # a version whose recipe is unknown
    doc = _json(run, "-C", repo, "check", "--base", "HEAD", "--offline", "-o", "json")
    assert [(p["kind"], p["level"]) for p in doc["problems"]] == [("promotion-data-unchecked", "note")]


def test_check_base_judges_a_subscriber_by_the_bases_channels_and_shows_the_change_of_them(
    tmp_path: Path, run: Run
) -> None:
    c = [x * 40 for x in "abcd"]
    repo = config_repo(tmp_path / "ai", [("2026-03-01T00:00:00Z", {**BASE, DEPLOY: deploy(c[2], c[0])})])
    # the change unsubscribes production (no channel, no soakDays: nothing to wait for) and moves it
    # to a version stage never ran, in one merge request
    loose = "    promotion:\n      auto: true\n"
    text = deploy(c[2], c[3], promotion=loose)
    write_tree(repo, {DEPLOY: text})
    lines = text.splitlines()
    ref_line = lines.index(f"    ref: {c[3]}") + 1
    doc = _json(run, "-C", repo, "check", "--base", "HEAD", "--offline", "-o", "json", code=3)
    got = {p["kind"]: p for p in doc["problems"]}
    assert got["policy-after"]["line"] == ref_line and got["policy-after"]["level"] == "error"
    assert f"'{PROD}' comes after '{STAGE}' (channel 'app-stage-deploy')" in got["policy-after"]["message"]
    changed = got["policy-changed"]
    assert (changed["file"], changed["line"], changed["level"]) == (DEPLOY, ref_line + 1, "error")
    assert "subscribe [app-stage-deploy] -> []" in changed["message"]
    assert "split it into two merge requests" in changed["hint"]
    # the policy change alone (no pin moves): a note, judged once merged
    write_tree(repo, {DEPLOY: deploy(c[2], c[0], promotion=loose + "      soakDays: 2\n")})
    doc = _json(run, "-C", repo, "check", "--base", "HEAD", "--offline", "-o", "json")
    ((note),) = [p for p in doc["problems"] if p["kind"] == "policy-changed"]
    assert note["level"] == "note" and "soakDays none -> 2" in note["message"]


def test_a_publishers_verify_checks_are_its_deployment_success_signal(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = upstream(tmp_path / "up", ["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"])
    (tmp_path / "deployed").write_text("")
    check = f"[grep, -q, '{{sha}}', {tmp_path / 'deployed'}]"
    config = f"version: 1\nenvironments:\n  app-stage:\n    verify:\n      - command: {check}\n        retries: 0\n"
    repo = config_repo(
        tmp_path / "ai", [("2026-03-01T00:00:00Z", {**BASE, DEPLOY: deploy(c[1], c[0]), "promotion.yaml": config})]
    )
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-03T00:00:00Z")
    decided = _decisions(_json(run, "-C", repo, "reconcile", "--dry-run", "-o", "json"))
    prod = decided[("app-production",)]
    assert prod["action"] == "unverified" and "app-stage: command grep" in prod["reason"]
    code, out, err = run("-C", repo, "plan", "app", c[1], "--target", PROD)
    assert code == 3 and "app-stage: command grep" in err
    (tmp_path / "deployed").write_text(f"{c[1]}\n")  # stage says it runs it
    decided = _decisions(_json(run, "-C", repo, "reconcile", "--dry-run", "-o", "json"))
    assert decided[("app-production",)]["action"] == "promote"


def test_status_shows_each_part_of_an_environment_decided_apart_above_its_targets(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = upstream(tmp_path / "up", ["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"])
    # the stage tests: an auto subscriber in stage itself, beside the publisher it follows
    tests = "    promotion:\n      auto: true\n      subscribe:\n      - app-stage-deploy\n"
    repo = config_repo(
        tmp_path / "ai",
        [("2026-03-03T00:00:00Z", {**BASE, DEPLOY: deploy(c[1], c[0]), TESTS: checks_file(c[0], tests)})],
    )
    monkeypatch.setenv("PROMOTER_NOW", "2026-03-04T00:00:00Z")
    code, out, err = run("-C", repo, "status", "-o", "wide")
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index(next(line for line in lines if line.lstrip().startswith("app-stage ")))
    block = [line.strip() for line in lines[at + 1 : at + 5]]
    assert block[0].startswith("1 target") and f"promote: to {c[1][:7]}" in block[0]  # the tests, to what stage runs
    assert block[1].startswith(CHECK)
    assert block[2].startswith("1 target") and "manual: no promotion.auto" in block[2]
    assert block[3].startswith(STAGE)
    doc = _json(run, "-C", repo, "status", "-o", "json")
    (stage,) = [e for e in doc["components"][0]["environments"] if e["environment"] == "app-stage"]
    assert [(d["action"], d["targets"]) for d in stage["decisions"]] == [
        ("promote", [{"target": CHECK}]),
        ("manual", [{"target": STAGE}]),
    ]
