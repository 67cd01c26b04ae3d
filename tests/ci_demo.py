"""The demo's config repository with a bare remote, as a CI job finds its checkout: for the tests
of the CI building blocks (the GitLab component, the GitHub Action, the pre-commit hook)."""

from __future__ import annotations

import re
from pathlib import Path

from promoter.cli import main
from tests.conftest import git


def demo_with_remote(tmp_path: Path) -> tuple[Path, Path]:
    """(the config repository, its bare remote `origin`), the demo's pinned versions checked out
    on `master`, pushed."""
    assert main(["demo", str(tmp_path / "demo")]) == 0
    config = tmp_path / "demo" / "app-interface"
    git(config, "checkout", "-q", "--", ".")  # the demo promoted: back to the pinned versions
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "master", str(remote))
    git(remote, "config", "receive.advertisePushOptions", "true")
    git(config, "remote", "add", "origin", str(remote))
    git(config, "push", "-q", "origin", "master")
    return config, remote


def hand_made_change_past_a_hold(config: Path) -> None:
    """production held (committed, merged, pushed), then on a branch `by-hand` its pin moved to the
    upstream's head by hand: what `check --base` must refuse."""
    assert main(["-C", str(config), "hold", "qontract-reconcile", "--env", "production", "--reason", "freeze",
                 "--commit"]) == 0  # fmt: skip
    git(config, "switch", "-q", "master")
    git(config, "merge", "-q", "hold/qontract-reconcile-production")
    git(config, "push", "-q", "origin", "master")
    git(config, "switch", "-q", "-c", "by-hand")
    saas = config / "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml"
    head = git(config.parent / "qontract-reconcile", "rev-parse", "HEAD")
    old = re.search(r"ref: ([0-9a-f]{40})\n", saas.read_text())
    assert old is not None
    saas.write_text(saas.read_text().replace(old.group(1), head))
    git(config, "commit", "-qam", "production by hand")
