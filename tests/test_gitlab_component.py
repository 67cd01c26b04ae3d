"""The GitLab CI/CD component (templates/reconcile.yml, templates/check.yml): its inputs rendered as
GitLab renders them, its jobs made (a parallel job as its shards) and their script lines run
with bash against the demo's config repository and a local bare remote, the CI's variables set
(tests/gitlab_ci.py says which part of GitLab's rules is implemented). promoter is the one
installed with the tests; the image the jobs name is built and run by tests/test_image.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from promoter import __version__
from tests import gitlab_ci
from tests.ci_demo import demo_with_remote, hand_made_change_past_a_hold
from tests.conftest import git

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
BIN = str(Path(sys.executable).parent)  # promoter as installed
SERVER = "https://gitlab.example.com"


def _ci(**more: str) -> dict[str, str]:
    """The variables GitLab sets for a scheduled pipeline of group/config."""
    return {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_SERVER_URL": SERVER,
        "CI_SERVER_HOST": "gitlab.example.com",
        "CI_PROJECT_PATH": "group/config",
        "CI_DEFAULT_BRANCH": "master",
        "CI_PIPELINE_SOURCE": "schedule",
        **more,
    }


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    config, remote = demo_with_remote(tmp_path)
    git(config, "config", "--global", f"url.{remote}.insteadOf", f"{SERVER}/group/config.git")
    for key in ("user.name", "user.email"):  # a CI checkout knows no one: the job says who it is
        git(config, "config", "--unset", key)
    return config


def test_the_components_declare_their_inputs_and_default_to_this_version() -> None:
    for name in ("reconcile", "check"):
        header, body = yaml.safe_load_all((TEMPLATES / f"{name}.yml").read_text())
        inputs = header["spec"]["inputs"]
        assert {"stage", "config", "image", "version", "rule"} <= set(inputs)
        assert all(spec.get("description") for spec in inputs.values())
        assert inputs["version"]["default"] == __version__
        (job,) = gitlab_ci.render(TEMPLATES / f"{name}.yml").values()
        assert job["image"] == {"name": f"ghcr.io/OWNER/promoter:{__version__}", "entrypoint": [""]}
    inputs = yaml.safe_load_all((TEMPLATES / "reconcile.yml").read_text()).__next__()["spec"]["inputs"]
    assert {"shards", "token_variable", "max_open"} <= set(inputs)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"shard": 4}, "unknown input arguments: shard"),
        ({"shards": "4"}, "`shards` input: provided value is not a number"),
        ({"shards": 0}, "parallel config must be a number from 1 to 200"),
        ({"token_variable": "MY-TOKEN"}, "`token_variable` input: provided value does not match"),
        ({"max_open": "five"}, "`max_open` input: provided value does not match"),
    ],
)
def test_inputs_are_checked_as_gitlab_checks_them(given: dict[str, object], said: str) -> None:
    with pytest.raises(gitlab_ci.InputError) as caught:
        gitlab_ci.jobs_of(gitlab_ci.render(TEMPLATES / "reconcile.yml", given))
    assert said in str(caught.value)


def test_reconcile_shards_cover_the_fleet_each_in_its_resource_group_and_push(demo: Path, tmp_path: Path) -> None:
    rendered = gitlab_ci.render(
        TEMPLATES / "reconcile.yml", {"shards": 4, "token_variable": "CONFIG_BOT_TOKEN", "stage": "promote"}
    )
    jobs = gitlab_ci.jobs_of(rendered)
    assert [j.name for j in jobs] == [f"promoter-reconcile {i}/4" for i in range(1, 5)]
    assert rendered["promoter-reconcile"]["stage"] == "promote"
    ci = _ci(CI_PROJECT_DIR=str(demo), CONFIG_BOT_TOKEN="glpat-not-a-real-one")
    # one resource group per shard, the same for every pipeline: two schedules never run a shard twice at once
    groups = [gitlab_ci._expand(j.spec["resource_group"], gitlab_ci.job_env(j, ci)) for j in jobs]
    assert groups == [f"promoter-reconcile-{i}-of-4" for i in range(1, 5)]
    assert not any(gitlab_ci.runs(j, {**ci, "CI_PIPELINE_SOURCE": "push"}) for j in jobs)
    seen = []
    for job in jobs:
        assert gitlab_ci.runs(job, ci)
        proc = gitlab_ci.run(job, ci, demo, BIN)
        dashboard = (demo / "promotions.md").read_text()
        has_it = "| qontract-reconcile |" in dashboard
        # 0 everywhere: the demo's held pipelines are the policy working, reported in the dashboard
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert dashboard.startswith("# Promotions") and ("held" in dashboard) == has_it
        seen += [job.name] if has_it else []
    assert len(seen) == 1  # exactly one shard had the component
    remote = tmp_path / "origin.git"
    assert git(remote, "for-each-ref", "--format=%(refname)", "refs/heads/promote/") == (
        "refs/heads/promote/qontract-reconcile"
    )
    author = git(remote, "log", "-1", "--format=%an <%ae>", "promote/qontract-reconcile")
    assert author == "promoter <promoter@gitlab.example.com>"
    assert "glpat-not-a-real-one" not in (demo / ".git" / "config").read_text()  # never written into the remote


def test_reconcile_without_its_token_says_which_variable_to_set(demo: Path) -> None:
    (job,) = gitlab_ci.jobs_of(gitlab_ci.render(TEMPLATES / "reconcile.yml"))
    proc = gitlab_ci.run(job, _ci(CI_PROJECT_DIR=str(demo)), demo, BIN)
    assert proc.returncode != 0
    assert "the CI/CD variable PROMOTER_GITLAB_TOKEN (the token_variable input) is empty or not set" in proc.stderr


def test_reconcile_max_open_and_args_reach_promoter(demo: Path, tmp_path: Path) -> None:
    rendered = gitlab_ci.render(TEMPLATES / "reconcile.yml", {"max_open": "0", "args": "--dry-run"})
    (job,) = gitlab_ci.jobs_of(rendered)
    proc = gitlab_ci.run(job, _ci(CI_PROJECT_DIR=str(demo), PROMOTER_GITLAB_TOKEN="t"), demo, BIN)
    assert proc.returncode == 0, proc.stderr
    assert "| wait: --max-open 0" in (demo / "promotions.md").read_text()  # --max-open 0: it waits, said why
    assert git(tmp_path / "origin.git", "for-each-ref", "refs/heads/promote/") == ""  # --dry-run pushed nothing


def test_check_fails_a_merge_request_that_moves_a_held_version(demo: Path) -> None:
    (job,) = gitlab_ci.jobs_of(gitlab_ci.render(TEMPLATES / "check.yml"))
    ci = _ci(
        CI_PROJECT_DIR=str(demo), CI_PIPELINE_SOURCE="merge_request_event", CI_MERGE_REQUEST_TARGET_BRANCH_NAME="master"
    )
    assert not gitlab_ci.runs(job, _ci()) and gitlab_ci.runs(job, ci)
    clean = gitlab_ci.run(job, ci, demo, BIN)
    assert (clean.returncode, clean.stdout) == (0, "ok: no problems\n"), clean.stderr
    hand_made_change_past_a_hold(demo)
    proc = gitlab_ci.run(job, ci, demo, BIN)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "production is held" in proc.stdout
