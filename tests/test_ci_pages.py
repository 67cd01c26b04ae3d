"""The pages jobs of examples/ci as main's other changes left the files: they get promoter the
way the file's other jobs do (main's dist: GitHub's jobs through promoter's own action, its
pinned wheel; GitLab's from promoter's image), never from a second source pinned apart; and a
page that shows an error (`status` exits 3 then) is still published. Their command lines are run
as written, through bash, against the demo repository (tests/test_ci_examples.py's helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import git
from tests.test_ci_examples import _github_lines, _gitlab_lines, _run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "ci"


def test_every_github_job_that_runs_promoter_installs_it_with_its_action() -> None:
    jobs = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())["jobs"]
    for name, job in jobs.items():
        steps = job["steps"]
        runs = [i for i, s in enumerate(steps) if "promoter " in s.get("run", "")]
        if not runs:
            continue
        installs = [i for i, s in enumerate(steps) if s.get("uses", "").startswith("OWNER/promoter@")]
        assert installs and installs[0] < runs[0], f"{name}: promoter is not installed by its action first"
        assert steps[installs[0]]["with"]["command"] == "install", name
        assert not [s["run"] for s in steps if "pip install" in s.get("run", "")], name


def test_every_gitlab_job_that_runs_promoter_uses_its_image() -> None:
    doc = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())
    for name, job in doc.items():
        if isinstance(job, dict) and any(line.startswith("promoter ") for line in job.get("script", ())):
            assert job.get("extends") == ".promoter", name


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The demo's config repository, its pinned versions (as tests/test_ci_examples.py's)."""
    from promoter.cli import main

    assert main(["demo", str(tmp_path / "demo")]) == 0
    config = tmp_path / "demo" / "app-interface"
    git(config, "checkout", "-q", "--", ".")
    return config


def test_the_pages_are_published_when_they_show_an_error(demo: Path) -> None:
    """main: `status` exits 3 when its table shows an error. The page that shows it is the one the
    fleet needs then: each pages job writes it and goes on (publishing it), and fails on anything else."""
    (demo / "resources/jenkins/global/defaults.yaml").unlink()  # a target that cannot be read
    gitlab = " && ".join(line for line in _gitlab_lines()["pages"] if not line.startswith("git "))
    github = " && ".join(_github_lines()["pages"])
    for line in (gitlab, github):
        proc = _run(f"rm -rf public && {line}", demo, {})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "error in jenkins-defaults" in (demo / "public" / "index.html").read_text()
        assert (demo / "public" / "delivery.html").exists()  # the job went on
    git(demo, "checkout", "-q", "--", ".")
    (demo / "promotion.yaml").write_text("version: 1\ncomponents: [\n")  # an invalid config: exit 2
    for line in (gitlab, github):
        assert _run(f"rm -rf public && {line}", demo, {}).returncode != 0
