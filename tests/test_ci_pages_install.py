"""The pages jobs of examples/ci get promoter the way the file's other jobs do (main's dist:
GitHub's jobs through promoter's own action, its pinned wheel; GitLab's from promoter's image),
never from a second source pinned apart."""

from __future__ import annotations

from pathlib import Path

import yaml

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
