"""The GitHub Action (action.yml): its steps run as the runner runs a composite action
(tests/github_action.py says which part of GitHub's rules is implemented) against the demo's
config repository and a local bare remote. The install step really installs: a fresh venv with
the wheel built from this checkout (the `wheel` input; `version` takes it from the package index
the same way), its dependencies from the package index."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from promoter import __version__
from tests.ci_demo import demo_with_remote, hand_made_change_past_a_hold
from tests.conftest import git
from tests.dist_fixtures import ROOT, Dist, pip_env
from tests.github_action import ActionError, run_action


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RUNNER_TEMP, shared by the module's runs as by the steps of one job: the action installs
    promoter once and finds it again."""
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    config, _ = demo_with_remote(tmp_path)
    for key in ("user.name", "user.email"):  # actions/checkout configures no one: the action says who
        git(config, "config", "--unset", key)
    return config


def _env(dist: Dist, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in pip_env(dist.pip_cache).items() if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))}
    # the runner's PATH without the tests' venv: promoter comes from the action's own install
    path = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent)
    return {**env, "PATH": path, "HOME": str(tmp_path / "home"), "CI": "true", "GITHUB_ACTIONS": "true"}


def test_the_action_pins_this_version() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["inputs"]["version"]["default"] == __version__
    assert action["runs"]["using"] == "composite"
    # every input reaches a script through env, never pasted into its text
    for step in action["runs"]["steps"]:
        assert "${{" not in step["run"]


def test_reconcile_installs_the_wheel_pushes_and_sums_up(
    dist: Dist, demo: Path, tmp_path: Path, runner_temp: Path
) -> None:
    result = run_action(
        ROOT,
        {"wheel": str(dist.wheel), "python": sys.executable, "command": "reconcile", "shard": "1/1"},
        cwd=demo, env=_env(dist, tmp_path), temp=runner_temp,
        github={"token": "ghs_not_a_real_one", "event_name": "schedule"},
    )  # fmt: skip
    assert result.code == 0, result.stdout + result.stderr
    assert result.ran == ["install", "run"]
    assert result.outputs["version"] == __version__ and result.outputs["exit-code"] == "0"
    assert result.path == [str(runner_temp / "promoter-venv" / "bin")]
    summary = json.loads(result.outputs["summary"])
    assert summary["kind"] == "reconcile" and summary["pushed"] is True
    (component,) = summary["components"]
    assert component["component"] == "qontract-reconcile" and component["merge_request"]["action"] == "open"
    assert result.summaries[1].startswith("# Promotions\n") and "| qontract-reconcile |" in result.summaries[1]
    remote = tmp_path / "origin.git"
    author = git(remote, "log", "-1", "--format=%an <%ae>", "promote/qontract-reconcile")
    assert author == "promoter <promoter@users.noreply.github.com>"


def test_check_on_a_pull_request_judges_it_by_its_base(
    dist: Dist, demo: Path, tmp_path: Path, runner_temp: Path
) -> None:
    hand_made_change_past_a_hold(demo)
    result = run_action(
        ROOT, {"wheel": str(dist.wheel), "python": sys.executable, "command": "check"},
        cwd=demo, env=_env(dist, tmp_path), temp=runner_temp,
        github={"event_name": "pull_request", "base_ref": "master"},
    )  # fmt: skip
    assert result.code == 3, result.stdout + result.stderr
    assert result.outputs["exit-code"] == "3"
    summary = json.loads(result.outputs["summary"])
    assert summary["kind"] == "check" and summary["ok"] is False
    assert "policy-held" in {p["kind"] for p in summary["problems"]}
    assert result.summaries[1].startswith("# promoter check\n\n**")
    assert "production is held" in result.summaries[1]


def test_install_alone_puts_promoter_on_the_path_and_a_wrong_command_is_said(
    dist: Dist, demo: Path, tmp_path: Path, runner_temp: Path
) -> None:
    env = _env(dist, tmp_path)
    result = run_action(
        ROOT, {"wheel": str(dist.wheel), "python": sys.executable, "command": "install"},
        cwd=demo, env=env, temp=runner_temp,
    )  # fmt: skip
    assert result.code == 0 and result.ran == ["install"], result.stderr
    assert (Path(result.path[0]) / "promoter").is_file()
    again = run_action(
        ROOT, {"wheel": str(dist.wheel), "python": sys.executable, "command": "install"},
        cwd=demo, env=env, temp=runner_temp,
    )  # fmt: skip
    assert again.code == 0 and "promoter: the venv of an earlier step holds it (wheel " in again.stdout  # once
    wrong = run_action(
        ROOT, {"wheel": str(dist.wheel), "python": sys.executable, "command": "promote"},
        cwd=demo, env=env, temp=runner_temp,
    )  # fmt: skip
    assert wrong.code == 2 and wrong.outputs["exit-code"] == "2"
    assert "::error title=promoter::the command input takes reconcile, check or install, not 'promote'" in wrong.stdout
    with pytest.raises(ActionError, match="Unexpected input"):
        run_action(ROOT, {"shards": "4"}, cwd=demo, env=env, temp=tmp_path / "t3")
