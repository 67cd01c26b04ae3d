"""The README's example promotion.yaml against the real app-interface snapshot (skipped without it)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from tests.conftest import git

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "app-interface" / "promotion.yaml"
REALDATA = ROOT.parent / "shared" / "realdata" / "app-interface"
SNAPSHOT = REALDATA / "snapshot-2022-05-11.tar.gz"
CASE_05 = REALDATA / "promotions" / "05-f2ef2d9401"  # the promotion made on top of the snapshot


def extract_snapshot(base: Path) -> Path:
    """The directories of the real snapshot the example config reads, with all their neighbours
    (creating all 9,594 files costs seconds of file-system time on CI machines, for nothing the
    tests read), in a new git repository with nothing committed yet. Skips without ../shared."""
    if not SNAPSHOT.is_file():
        pytest.skip("../shared/realdata is absent")
    wanted = (
        "app-interface/.env",
        "app-interface/data/services/app-interface/",
        "app-interface/data/pipelines/",
        "app-interface/resources/jenkins/",
    )
    with tarfile.open(SNAPSHOT) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(wanted)]
        tar.extractall(base, members=members, filter="data")
    repo = base / "app-interface"
    git(repo, "init", "-q", "-b", "master")
    return repo


@pytest.fixture(scope="module")
def snapshot_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = extract_snapshot(tmp_path_factory.mktemp("snapshot"))
    # committing only the files a promotion writes keeps this fast; the rest stays untracked
    git(repo, "add", "--", *json.loads((CASE_05 / "case.json").read_text())["files_changed"])
    git(repo, "commit", "-q", "-m", "snapshot")
    return repo


def test_example_config_status_reads_every_target(snapshot_repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("-C", snapshot_repo, "--config", EXAMPLE, "status", "--offline", "-o", "json")

    assert (code, err) == (0, "")
    doc = {c["component"]: c for c in json.loads(out)["components"]}

    def targets(component: str) -> dict[str, dict[str, object]]:
        return {t["target"]: t for env in doc[component]["environments"] for t in env["targets"]}

    reconcile = targets("qontract-reconcile")
    assert {n: [v["value"] for v in t["values"]] for n, t in reconcile.items()} == {
        "saas-qontract-reconcile": ["862eebc895ea7f496f9037a7b8a4d1f393d8a546"],
        "saas-qontract-manager": ["862eebc895ea7f496f9037a7b8a4d1f393d8a546"],
        "saas-qontract-reconcile-int": ["862eebc895ea7f496f9037a7b8a4d1f393d8a546"],
        "saas-qontract-manager-int": ["862eebc895ea7f496f9037a7b8a4d1f393d8a546"],
        "dotenv": ["862eebc"],
        "jenkins-global-defaults": ["862eebc"],
        "tekton-shared-resources": ["862eebc"],
    }
    assert [t["value"] for t in reconcile["saas-qontract-reconcile"]["tracking"]] == ["master", "master"]
    (schemas,) = targets("qontract-schemas").values()
    assert schemas["values"] == [{"value": "05df7de", "sha": None}]


def test_example_config_reproduces_the_real_promotion_on_the_whole_tree(snapshot_repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    meta = json.loads((CASE_05 / "case.json").read_text())
    repo = snapshot_repo  # runs after the read-only status test above, in file order

    code, out, err = run(
        "-C", repo, "--config", EXAMPLE, "promote", "qontract-reconcile", meta["new_sha"], "--offline", "--yes"
    )

    assert code == 0, err
    assert git(repo, "diff", "--name-only").splitlines() == sorted(meta["files_changed"])
    for rel in meta["files_changed"]:
        assert (repo / rel).read_bytes() == (CASE_05 / "after" / rel).read_bytes(), rel
