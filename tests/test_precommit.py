"""The pre-commit hook (.pre-commit-hooks.yaml) run by pre-commit itself: `pre-commit try-repo`
with a copy of this checkout as the hook's repository (committed, as a release tag would be),
in a config repository. pre-commit makes the hook's venv and installs promoter into it from
that copy (`language: python`), its build and runtime dependencies from the package index, into
a PRE_COMMIT_HOME of this test: nothing kept from one run to the next."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import git, make_repo
from tests.dist_fixtures import Dist, copy_checkout, pip_env

CONFIG = (
    "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n    branch: main\n    targets:\n"
    "      - {name: app-prod, environment: production, file: prod.yaml, key: ref, format: sha}\n"
)


def test_the_hook_file_names_promoter_check() -> None:
    (hook,) = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "promoter-check" and hook["entry"] == "promoter check"
    assert hook["language"] == "python" and hook["pass_filenames"] is False


def test_pre_commit_runs_the_hook_and_fails_a_broken_config(dist: Dist, tmp_path: Path) -> None:
    hooks = copy_checkout(tmp_path / "promoter")
    git(hooks, "init", "-q", "-b", "main")
    git(hooks, "add", "-A")
    git(hooks, "commit", "-qm", "promoter as released")
    config = make_repo(tmp_path / "config", {"promotion.yaml": CONFIG, "prod.yaml": f"ref: {'a' * 40}\n"})
    env = {**pip_env(dist.pip_cache), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "HOME": str(tmp_path)}
    env.pop("PROMOTER_CACHE_DIR", None)
    pre_commit = str(Path(sys.executable).parent / "pre-commit")

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "try-repo", str(hooks), "promoter-check", "--all-files", "--color", "never"],
            cwd=config, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip

    clean = try_repo()
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    assert "promoter check" in clean.stdout and "Passed" in clean.stdout
    (config / "prod.yaml").write_text("image: app:latest\n")  # the pin gone: the target locates nothing
    git(config, "commit", "-qam", "pin lost")
    broken = try_repo()
    assert broken.returncode == 1, broken.stdout[-3000:]
    assert "Failed" in broken.stdout and "target 'app-prod' (key ref) located no pinned 40-hex sha" in broken.stdout
    assert os.path.isdir(tmp_path / "pre-commit-home")  # its venv, made here
