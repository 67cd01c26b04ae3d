"""`discover` and `check` over a fleet: one pass for all components gives what one run per
component gives. The fleet is bench/fleet.py's generator at a small size: 20 components, shared
saas files holding several components' templates, a .env and YAML files with image tag keys,
unrelated files that name the repositories, and stray pins no target covers."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from promoter.insight.discover import discover
from promoter.insight.lint import Problem, lint
from promoter.pipeline import core
from tests.conftest import make_repo

BENCH = Path(__file__).resolve().parents[1] / "bench" / "fleet.py"


def _fleet_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fleet", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = _fleet_module().generate(tmp_path_factory.mktemp("fleet") / "config", components=20, unrelated=120)
    assert (len(made.components), made.strays) == (20, 8)
    return Path(made.root)


def test_the_fleet_has_shared_saas_files_keys_and_dotenv(fleet: Path) -> None:
    config = yaml.safe_load((fleet / "promotion.yaml").read_text())["components"]
    files = Counter(t["file"] for c in config.values() for t in c["targets"] if "saas" in t)
    assert max(files.values()) >= 4  # a shared saas file: several components' templates
    assert sum(1 for n in files.values() if n > 1) >= 2
    kinds = Counter(k for c in config.values() for t in c["targets"] for k in ("saas", "key", "env") if k in t)
    assert kinds["key"] >= 4 and kinds["env"] >= 3
    assert any("files" in t for c in config.values() for t in c["targets"])  # a glob


def test_discover_of_all_components_is_the_union_of_one_run_per_component(fleet: Path) -> None:
    repo = core.open_repo(fleet)
    comps = list(repo.config.components.values())

    together = discover(repo, comps)
    alone = [discover(core.open_repo(fleet), [comp]) for comp in comps]

    merged = sorted((f for d in alone for f in d.findings), key=lambda f: (f.file, f.line, f.column, f.component))
    assert together.findings == merged
    assert [f.target for f in together.findings] == [f.target for f in merged]
    assert together.binary == sorted({b for d in alone for b in d.binary})
    assert together.huge == sorted({h for d in alone for h in d.huge})
    assert together.refused == {k: v for d in alone for k, v in d.refused.items()}
    assert {d.scanned for d in alone} == {together.scanned}
    # the stray pins: a Dockerfile or doc, a stage saas file, an old copy of the Jenkins defaults
    assert {"image", "version", "saas", "key"} <= {f.kind for f in together.findings}
    assert len({f.component for f in together.findings}) >= 6


def test_lint_of_all_components_is_the_union_of_one_run_per_component(fleet: Path) -> None:
    repo = core.open_repo(fleet)
    comps = list(repo.config.components.values())

    together = lint(repo, comps)
    alone = [lint(core.open_repo(fleet), [comp]) for comp in comps]

    def key(p: Problem) -> tuple[str, int, str, str]:
        return (p.file, p.line, p.message, p.hint)

    assert sorted(together, key=key) == sorted((p for ps in alone for p in ps), key=key)
    uncovered = [p for p in together if p.file != "promotion.yaml"]
    assert len(uncovered) == len(discover(repo, comps).findings) > 0
    # targets' problems first (none here: every target locates its pin and environments agree); the
    # notes of production images without trust: aside (tests/test_trust_config.py)
    assert [p for p in together if p.kind != "untrusted-production"] == uncovered


def test_a_broken_target_in_a_shared_saas_file_is_a_problem_of_its_component_alone(fleet: Path) -> None:
    """A shared saas file read by several components' targets: a broken ref there is a problem
    of that component alone, and each component's pins are told apart by its repo URL."""
    config = yaml.safe_load((fleet / "promotion.yaml").read_text())["components"]
    shared = next(t["file"] for c in config.values() for t in c["targets"] if "saas" in t and "shared" in t["file"])
    owners = [name for name, c in config.items() if any(t.get("file") == shared for t in c["targets"])]
    assert len(owners) >= 2
    text = (fleet / shared).read_text()
    victim = config[owners[0]]["repo"]
    start = text.index(f"url: {victim}\n")
    block_end = text.find("\n- name:", start)
    block = text[start : block_end if block_end >= 0 else len(text)]
    broken = "\n".join(
        line.replace(line.split("ref: ")[1], "latest") if "ref: " in line and "master" not in line else line
        for line in block.split("\n")
    )
    (fleet / shared).write_text(text.replace(block, broken))
    try:
        repo = core.open_repo(fleet)
        comps = list(repo.config.components.values())
        problems = lint(repo, comps)
        mine = [p for p in problems if p.message.startswith(f"{owners[0]}: ")]
        others = [p for p in problems if p.message.startswith(f"{owners[1]}: ")]
        assert any(f"{shared}: target '" in p.message and "located no pinned" in p.message for p in mine)
        assert not any(shared in p.message for p in others)
        alone = [p for comp in comps for p in lint(core.open_repo(fleet), [comp])]
        assert sorted(problems, key=repr) == sorted(alone, key=repr)
    finally:
        (fleet / shared).write_text(text)


def test_one_literal_shared_by_two_components(tmp_path: Path) -> None:
    """Two components built from one repository (a monorepo with two images) share the repo URL
    and the deployed sha (each sees the other's ref as a pin of its version): one pass tells
    every finding to each of them, as two separate runs would, but for the pins the other
    component's targets cover (a pin is covered when any component's target covers it)."""
    sha = "862eebc895ea7f496f9037a7b8a4d1f393d8a546"
    saas = (
        "resourceTemplates:\n"
        "- name: api\n  url: https://github.com/example/mono\n  targets:\n  - ref: {sha}\n"
        "- name: worker\n  url: https://github.com/example/mono\n  targets:\n  - ref: {sha}\n"
    )
    config = (
        "version: 1\ncomponents:\n"
        "  api:\n    repo: https://github.com/example/mono\n    image: quay.io/example/api\n    targets:\n"
        "      - {name: saas, file: saas.yaml, saas: {resource_template: api}}\n"
        "      - {name: env, file: .env, env: API_TAG}\n"
        "  worker:\n    repo: https://github.com/example/mono\n    image: quay.io/example/worker\n    targets:\n"
        "      - {name: saas, file: saas.yaml, saas: {resource_template: worker}}\n"
    )
    root = make_repo(
        tmp_path / "mono",
        {
            "promotion.yaml": config,
            "saas.yaml": saas.format(sha=sha),
            "stage.yaml": saas.format(sha=sha),
            ".env": f"export API_TAG={sha[:7]}\nexport WORKER_TAG={sha[:7]}\n",
            "Dockerfile": f"FROM quay.io/example/worker:{sha[:7]}\nFROM quay.io/example/api:{sha[:7]}\n",
        },
    )
    repo = core.open_repo(root)
    comps = list(repo.config.components.values())

    together = discover(repo, comps)
    alone = [f for comp in comps for f in discover(core.open_repo(root), [comp]).findings]

    covered = {
        (loc.file, loc.line) for comp in comps for ts in core.scan(repo, comp, comp.targets) for loc in ts.locations
    }
    assert together.findings == sorted(
        (f for f in alone if (f.file, f.line) not in covered), key=lambda f: (f.file, f.line, f.column, f.component)
    )
    assert {(f.file, f.line, f.component) for f in together.findings} == {
        (".env", 2, "api"),  # WORKER_TAG: no target covers it, and it looks like either one's
        (".env", 2, "worker"),
        ("Dockerfile", 1, "worker"),  # each image's tag is its own component's only
        ("Dockerfile", 2, "api"),
        *(("stage.yaml", line, comp) for line in (5, 9) for comp in ("api", "worker")),
    }
    assert sorted(lint(repo, comps), key=repr) == sorted(
        (
            p
            for comp in comps
            for p in lint(core.open_repo(root), [comp])
            if p.kind != "uncovered-pin" or (p.file, p.line) not in covered
        ),
        key=repr,
    )


def test_the_workspace_composes_a_file_once(fleet: Path) -> None:
    repo = core.open_repo(fleet)
    first = repo.workspace.nodes("resources/jenkins/global/defaults.yaml")
    assert repo.workspace.nodes("resources/jenkins/global/defaults.yaml") is first
    assert first[0].line == 2  # after the "---" line
