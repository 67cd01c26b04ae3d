"""The CI files of examples/ci are real: loaded as YAML and their promoter command lines run, as
written (through bash, the CI's variables set), against a demo repository and its bare remote."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ci_demo import hand_made_change_past_a_hold
from tests.conftest import git

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "ci"


def _gitlab_lines() -> dict[str, list[str]]:
    doc = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())
    return {name: job["script"] for name, job in doc.items() if isinstance(job, dict) and "script" in job}


def _github_lines() -> dict[str, list[str]]:
    doc = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    return {name: [s["run"] for s in job["steps"] if "run" in s] for name, job in doc["jobs"].items()}


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    from promoter.cli import main

    assert main(["demo", str(tmp_path / "demo")]) == 0
    config = tmp_path / "demo" / "app-interface"
    git(config, "checkout", "-q", "--", ".")  # the demo promoted: back to the pinned versions
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "master", str(remote))
    git(remote, "config", "receive.advertisePushOptions", "true")
    git(config, "remote", "add", "origin", str(remote))
    git(config, "push", "-q", "origin", "master")
    return config


def _run(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # `promoter` as installed
    return subprocess.run(["bash", "-c", line], cwd=cwd, env={**os.environ, **env, "PATH": path},
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def test_the_files_name_the_jobs_a_fleet_needs() -> None:
    gitlab, github = _gitlab_lines(), _github_lines()
    assert set(gitlab) == {"reconcile", "pages", "policy"} and set(github) == {"reconcile", "pages", "policy"}
    doc = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as true
    assert "schedule" in on and "workflow_dispatch" in on and "pull_request" in on
    assert doc["jobs"]["reconcile"]["strategy"]["matrix"]["shard"] == [1, 2, 3, 4]
    assert yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())["reconcile"]["parallel"] == 4


def test_gitlab_reconcile_shards_cover_the_fleet_and_push(demo: Path, tmp_path: Path) -> None:
    lines = [line for line in _gitlab_lines()["reconcile"] if line.startswith("promoter ")]
    assert lines == ['promoter reconcile --push --shard "$CI_NODE_INDEX/$CI_NODE_TOTAL" -o markdown > promotions.md']
    seen = []
    for index in range(1, 5):
        proc = _run(lines[0], demo, {"CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": "4"})
        # 0 everywhere: the demo's held pipelines are the policy working, reported in the dashboard
        assert proc.returncode == 0, proc.stderr
        dashboard = (demo / "promotions.md").read_text()
        assert dashboard.startswith("# Promotions")
        found = re.findall(r"^\| (qontract-reconcile) \|", dashboard, re.M)
        assert ("held" in dashboard) == bool(found)
        seen += found
    assert seen == ["qontract-reconcile"]  # exactly one shard had it
    assert git(demo.parent / ".." / "origin.git", "for-each-ref", "--format=%(refname)", "refs/heads/promote/") == (
        "refs/heads/promote/qontract-reconcile"
    )


def test_github_reconcile_and_the_policy_jobs_run_as_written(demo: Path) -> None:
    runs = _github_lines()
    (line,) = [r for r in runs["reconcile"] if r.startswith("promoter ")]
    summary = demo.parent / "summary.md"
    codes = []
    for shard in (1, 2, 3, 4):
        proc = _run(line.replace("${{ matrix.shard }}", str(shard)), demo, {"GITHUB_STEP_SUMMARY": str(summary)})
        codes.append(proc.returncode)
    assert codes == [0, 0, 0, 0]  # the demo's held pipelines are the policy working, not a red job
    assert summary.read_text().count("| qontract-reconcile |") == 1
    (check,) = [r for r in runs["policy"] if r.startswith("promoter ")]
    git(demo, "fetch", "-q", "origin")
    proc = _run(check.replace("${{ github.base_ref }}", "master"), demo, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "ok: no problems\n"


def test_gitlab_policy_job_catches_a_hand_made_change(demo: Path) -> None:
    (line,) = [r for r in _gitlab_lines()["policy"] if r.startswith("promoter ")]
    hand_made_change_past_a_hold(demo)
    proc = _run(line, demo, {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "master"})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "production is held" in proc.stdout


def test_the_pages_jobs_write_the_fleets_pages_as_written(demo: Path) -> None:
    """status -o html and history --all -o html, as each CI file runs them, write the pages it publishes."""
    gitlab = " && ".join(line for line in _gitlab_lines()["pages"] if not line.startswith("git "))
    github = " && ".join(line for line in _github_lines()["pages"] if not line.startswith("pip "))
    for line in (gitlab, github):
        proc = _run(f"rm -rf public && {line}", demo, {})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        status = (demo / "public" / "index.html").read_text()
        delivery = (demo / "public" / "delivery.html").read_text()
        assert "<h1>Promotion status</h1>" in status and 'data-component="qontract-reconcile"' in status
        assert "<h1>Delivery of the fleet</h1>" in delivery
