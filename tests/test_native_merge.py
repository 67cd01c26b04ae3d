"""The native model merged with a promotion.yaml that has components of one repository (a monorepo:
app and worker built from one upstream, tests/gitops_fixture.py), and a promotion.yaml target that
covers a saas target: what native merging adds, and what it says."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests import gitops_fixture as g
from tests.conftest import RunResult, git, make_repo

Run = Callable[..., RunResult]


def _config(repo: Path, components: dict[str, object]) -> None:
    (repo / "promotion.yaml").write_text(yaml.safe_dump({"version": 1, "components": components}))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "config")


def _monorepo(up: Path, saas: bool) -> dict[str, object]:
    """app's and worker's Helm targets; app's saas target when `saas`."""

    def comp(targets: list[dict[str, object]]) -> dict[str, object]:
        return {"repo": g.URL, "fetch": str(up), "targets": targets}

    app: list[dict[str, object]] = [
        {"name": "helm", "environment": "production", "file": g.HELM, "path": "$.image.tag", "format": "short"}
    ]
    if saas:
        app.append({"name": "saas", "environment": "production", "file": g.SAAS, "saas": {}})
    worker = [
        {"name": "helm", "environment": "production", "file": g.HELM, "path": "$.worker.image.tag", "format": "short"}
    ]
    return {"app": comp(app), "worker": comp(worker)}


def _targets(run: Run, repo: Path) -> dict[str, list[str]]:
    code, out, err = run("-C", repo, "--offline", "status", "-o", "json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return {c["component"]: [t["target"] for e in c["environments"] for t in e["targets"]] for c in doc["components"]}


def _check(run: Run, repo: Path) -> list[dict[str, Any]]:
    code, out, err = run("-C", repo, "check", "-o", "json")
    assert code in (0, 3), err
    problems: list[dict[str, Any]] = json.loads(out)["problems"]
    return problems


def test_a_saas_target_one_component_of_a_monorepo_covers_is_no_other_components(tmp_path: Path, run: Run) -> None:
    """app's saas target covers the saas file: worker, of the same url, gains no target there, and
    promoting worker leaves the saas file alone."""
    up, repo, shas = g.build(tmp_path)
    _config(repo, _monorepo(up, saas=True))
    assert _targets(run, repo) == {"app": ["helm", "saas"], "worker": ["helm"]}
    before = {rel: (repo / rel).read_text() for rel in (g.HELM, g.SAAS)}
    code, _, err = run("-C", repo, "--offline", "promote", "worker", shas[3], "--yes")
    assert code == 0, err
    assert (repo / g.SAAS).read_text() == before[g.SAAS]
    assert (repo / g.HELM).read_text() == g.moved(before, [(g.HELM, 11, "short")], shas[1], shas[3])[g.HELM]


def test_what_is_wrong_with_a_covered_saas_targets_namespace_is_not_said(tmp_path: Path, run: Run) -> None:
    """The fixture's saas file names namespace files the repository does not hold: promotion.yaml's
    target decides that saas target's environment, so check does not report them."""
    up, repo, _ = g.build(tmp_path)
    _config(repo, _monorepo(up, saas=True))
    assert [p for p in _check(run, repo) if p["kind"].startswith("native-")] == []
    # without the promotion.yaml target the saas targets are native, and their namespaces matter
    one = {"app": _monorepo(up, saas=False)["app"]}
    _config(repo, one)
    assert _targets(run, repo)["app"] == ["helm", "saas-app/app/app-stage", "saas-app/app/app-production"]
    said = [
        (p["kind"], p["component"], p["file"], p["line"]) for p in _check(run, repo) if p["kind"].startswith("native-")
    ]
    assert said == [("native-unresolved", "app", g.SAAS, 8), ("native-unresolved", "app", g.SAAS, 11)]


def test_a_saas_target_no_component_of_a_monorepo_covers_goes_to_none_with_a_note(tmp_path: Path, run: Run) -> None:
    up, repo, _ = g.build(tmp_path)
    _config(repo, _monorepo(up, saas=False))
    assert _targets(run, repo) == {"app": ["helm"], "worker": ["helm"]}
    native = [p for p in _check(run, repo) if p["kind"].startswith("native-")]
    assert [(p["kind"], p["level"], p["component"], p["file"], p["line"]) for p in native] == [
        ("native-unassigned", "note", "app", g.SAAS, 8),
        ("native-unassigned", "note", "app", g.SAAS, 11),
    ]
    assert native[0]["message"] == (
        "app: target of 'app' is promoted by no component: app and worker are built from "
        f"{g.URL}, and no target of theirs names it"
    )
    assert (
        native[0]["hint"]
        == f"give the component it deploys a target for it (file: {g.SAAS}, saas: {{resource_template: app}})"
    )


# ------------------------------------------------------------------ the cost for a repository without saas files

_NO_SAAS = {
    "promotion.yaml": (
        "version: 1\ncomponents:\n  c:\n    repo: https://github.com/example/c\n    targets:\n"
        "      - {name: env, environment: production, file: .env, env: TAG}\n"
    ),
    ".env": f"export TAG={'1' * 7}\n",
}


def _what_status_runs(tmp_path: Path, repo: Path) -> tuple[list[str], bool]:
    """`status --offline` in a fresh interpreter, git run through a wrapper that logs its
    arguments: (the git commands run, whether the native model's module was imported)."""
    import shutil
    import subprocess
    import sys

    real = shutil.which("git")
    assert real is not None
    bin_dir, log = tmp_path / "bin", tmp_path / "git.log"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "git").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    (bin_dir / "git").chmod(0o755)
    log.write_text("")
    code = (
        "import sys\n"
        "from promoter.cli import main\n"
        f"status = main(['-C', {str(repo)!r}, '--offline', 'status'])\n"
        "print(status, 'promoter.native.model' in sys.modules)\n"
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    status, imported = proc.stdout.splitlines()[-1].split()
    assert status == "0", proc.stdout
    return log.read_text().splitlines(), imported == "True"


def test_a_promotion_yaml_without_a_data_tree_costs_native_one_stat(tmp_path: Path) -> None:
    """Native merging is the default: with no data/ directory there is no saas file, and it is
    known without a git grep or the native model's imports."""
    repo = make_repo(tmp_path / "r", _NO_SAAS)
    ran, imported = _what_status_runs(tmp_path, repo)
    assert not any(" grep " in f" {line} " for line in ran), ran
    assert not imported
    # with a data/ tree (no saas file in it) the saas files are looked for: the wrapper sees it
    other = make_repo(tmp_path / "d", {**_NO_SAAS, "data/services/x.yml": "name: x\n"})
    ran, imported = _what_status_runs(tmp_path, other)
    assert any(" grep " in f" {line} " for line in ran), ran
    assert imported
