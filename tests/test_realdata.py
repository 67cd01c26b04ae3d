"""Real promotions from a public app-interface mirror (../shared/realdata, never copied here).

For every case: a git repo made from `before/`, a promotion.yaml declaring the places that
layout pins qontract-reconcile, `promote --offline --yes` to the case's new sha, and the tree
must equal `after/` byte for byte (and no other file may change).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import git, snapshot

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "app-interface" / "promotions"
CASES = sorted(p for p in REALDATA.iterdir() if (p / "case.json").is_file()) if REALDATA.is_dir() else []

SAAS_FILES = {
    "saas-ext": "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml",
    "saas-int": "data/services/app-interface/cicd/ci-int/saas-qontract-reconcile-int.yaml",
    "manager-ext": "data/services/app-interface/cicd/ci-ext/saas-qontract-manager.yaml",
    "manager-int": "data/services/app-interface/cicd/ci-int/saas-qontract-manager-int.yaml",
}
JENKINS = "resources/jenkins/global/defaults.yaml"
TEKTON = "data/pipelines/tekton-provider-global-defaults.yaml"


def promotion_yaml(tree: Path, repo_url: str) -> str:
    """The config a user keeps for the layout `tree` has (it moved over the years)."""
    targets = [
        f"      - name: {name}\n        environment: {'integration' if name.endswith('int') else 'production'}\n"
        f"        file: {path}\n        saas: {{}}\n"
        for name, path in SAAS_FILES.items()
        if (tree / path).exists()
    ]
    targets.append(
        "      - name: dotenv\n        environment: pipelines\n        file: .env\n        env: RECONCILE_IMAGE_TAG\n"
    )
    if (tree / JENKINS).exists():
        if "qontract_reconcile_image_tag:" in (tree / JENKINS).read_text():
            locator = "key: qontract_reconcile_image_tag"
        else:  # 2020 layout: the tag is inside an image reference, also in a commented-out line
            locator = "regex: 'qontract-reconcile:(?P<version>[0-9a-f]{7})\\b'\n        format: short"
        targets.append(
            f"      - name: jenkins\n        environment: pipelines\n        file: {JENKINS}\n        {locator}\n"
        )
    if (tree / TEKTON).exists():
        targets.append(
            f"      - name: tekton\n        environment: pipelines\n        file: {TEKTON}\n"
            "        key: qontract_reconcile_image_tag\n"
        )
    return f"version: 1\ncomponents:\n  qontract-reconcile:\n    repo: {repo_url}\n    targets:\n" + "".join(targets)


@pytest.mark.skipif(not CASES, reason="../shared/realdata is absent")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_promotion_turns_before_into_after(case: Path, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    meta = json.loads((case / "case.json").read_text())
    repo = tmp_path / "app-interface"
    shutil.copytree(case / "before", repo)
    for p in repo.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    config = tmp_path / "promotion.yaml"
    config.write_text(promotion_yaml(repo, meta["repo"]))
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "before")

    code, out, err = run(
        "-C", repo, "--config", config, "promote", "qontract-reconcile", meta["new_sha"], "--offline", "--yes"
    )

    assert (code, err) == (0, "note: --offline: upstream, dependency and image checks skipped\n"), out
    assert snapshot(repo) == snapshot(case / "after")
    assert sorted(snapshot(repo)) == sorted(meta["files_changed"])
    assert git(repo, "diff", "--name-only").splitlines() == sorted(meta["files_changed"])
