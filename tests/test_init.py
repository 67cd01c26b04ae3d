"""`promoter init`: a first promotion.yaml found from zero. On the demo repository without its
config, the one init writes passes `check` and promotes every pin the hand-written one does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from promoter import demo
from promoter.insight.bootstrap import guess_environment
from tests.conftest import RunResult, git, make_repo, snapshot

Run = Callable[..., RunResult]
NAME, URL = "qontract-reconcile", demo.REPO_URL
SAAS_EXT = "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml"
SAAS_INT = "data/services/app-interface/cicd/ci-int/saas-qontract-reconcile-int.yaml"


@pytest.fixture
def bare_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, list[str]]:
    """The demo's config repository with its promotion.yaml removed (kept aside), and the shas;
    the working directory is the repository (as a user's, for `--fetch ../qontract-reconcile`)."""
    upstream, repo, shas = demo.build(tmp_path / "demo")
    monkeypatch.chdir(repo / "data")  # a path given from a subdirectory is written from the root
    hand = tmp_path / "hand-written.yaml"
    hand.write_text((repo / "promotion.yaml").read_text())
    git(repo, "rm", "-q", "promotion.yaml")
    git(repo, "commit", "-q", "-m", "no config yet")
    return repo, hand, shas


def _init(run: Run, repo: Path, *extra: str) -> RunResult:
    return run("-C", repo, "init", "--component", NAME, "--repo", URL, "--fetch", "../../qontract-reconcile", *extra)


def _edits(run: Run, repo: Path, *argv: str) -> set[tuple[str, int, str, str]]:
    code, out, err = run("-C", repo, *argv, "plan", NAME, "-o", "json", "--ignore-hold", "--ignore-soak")
    assert code == 0, err
    doc = json.loads(out)
    return {(e["file"], e["line"], e["old"]["value"], e["new"]["value"]) for e in doc["edits"]}


def test_init_writes_a_config_that_checks_and_promotes_every_pin(
    bare_demo: tuple[Path, Path, list[str]], run: Run
) -> None:
    repo, hand, shas = bare_demo
    code, out, err = _init(run, repo, "--branch", "master")
    assert code == 0, err
    assert out.startswith(f"wrote {repo / 'promotion.yaml'}: {NAME}, 5 targets in 5 files (environments: ")

    config = yaml.safe_load((repo / "promotion.yaml").read_text())
    comp = config["components"][NAME]
    assert (comp["repo"], comp["fetch"], comp["branch"]) == (URL, "../qontract-reconcile", "master")
    targets = comp["targets"]
    names = [t["name"] for t in targets]
    assert len(set(names)) == len(names)  # each its own name
    environments = {t["file"]: t["environment"] for t in targets}
    assert environments[SAAS_EXT] == "production"  # its pinned ref's namespace: app-interface-production
    assert environments[SAAS_INT] == "integration"  # ci-int/, ...-production-int
    assert environments["data/pipelines/tekton-provider-global-defaults.yaml"] == "pipelines"  # its directory
    assert {t["file"]: next(k for k in ("saas", "key", "env", "path", "regex") if k in t) for t in targets} == {
        SAAS_EXT: "saas",
        SAAS_INT: "saas",
        ".env": "env",
        "resources/jenkins/global/defaults.yaml": "key",
        "data/pipelines/tekton-provider-global-defaults.yaml": "key",
    }

    code, out, err = run("-C", repo, "check")
    assert (code, out) == (0, "ok: no problems\n"), err
    generated = _edits(run, repo)
    assert generated == _edits(run, repo, "--config", hand)  # every pin the hand-written config promotes
    assert len(generated) == 5 and {(old, new) for _, _, old, new in generated} == {
        (shas[1], shas[-1]),
        (shas[1][:7], shas[-1][:7]),
    }


def test_init_never_writes_over_a_config_and_print_writes_nothing(
    bare_demo: tuple[Path, Path, list[str]], run: Run
) -> None:
    repo, _, _ = bare_demo
    before = snapshot(repo)
    code, out, err = _init(run, repo, "--print")
    assert code == 0, err
    assert snapshot(repo) == before  # printed only
    assert yaml.safe_load(out)["components"][NAME]["targets"]
    (repo / "promotion.yaml").write_text("# mine\n")
    code, _, err = _init(run, repo)
    assert code == 3 and "exists already" in err
    assert (repo / "promotion.yaml").read_text() == "# mine\n"


def test_init_with_an_image_finds_its_references_and_writes_it(
    bare_demo: tuple[Path, Path, list[str]], run: Run
) -> None:
    repo, _, shas = bare_demo
    (repo / "Dockerfile").write_text(f"FROM quay.io/app-sre/qontract-reconcile:{shas[1][:7]} AS base\n")
    git(repo, "add", "Dockerfile")
    code, out, err = _init(run, repo, "--image", "quay.io/app-sre/qontract-reconcile", "--print")
    assert code == 0, err
    comp = yaml.safe_load(out)["components"][NAME]
    assert comp["image"] == "quay.io/app-sre/qontract-reconcile"
    docker = [t for t in comp["targets"] if t["file"] == "Dockerfile"]
    assert len(docker) == 1 and docker[0]["format"] == "short" and docker[0]["environment"] == "default"


def test_init_with_nothing_to_find_writes_no_targets_and_commands_say_so(tmp_path: Path, run: Run) -> None:
    upstream = tmp_path / "up"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    (upstream / "f").write_text("x\n")
    git(upstream, "add", "f")
    git(upstream, "commit", "-q", "-m", "first")
    repo = make_repo(tmp_path / "config", {"README.md": "nothing pinned here: 0123456 deadbeef\n"})
    code, out, err = run(
        "-C", repo, "init", "--component", "app", "--repo", "https://x.example/app", "--fetch", upstream
    )
    assert code == 0, err
    assert "0 targets in 0 files; no pin found: add targets by hand" in out
    assert yaml.safe_load((repo / "promotion.yaml").read_text())["components"]["app"]["targets"] == []

    code, _, err = run("-C", repo, "status")
    assert code == 0 and "note: app has no targets yet: 'promoter discover app' finds its pins" in err
    for argv in (["plan", "app"], ["history", "app"], ["hold", "app", "--reason", "x"], ["changelog", "app"]):
        code, _, err = run("-C", repo, *argv)
        assert code == 2 and "app has no targets yet: 'promoter discover app' finds its pins" in err, argv
    code, _, err = run("-C", repo, "--offline", "discover")
    assert code == 2 and "does not work with --offline" in err


def test_discover_finds_a_target_less_component_from_zero(bare_demo: tuple[Path, Path, list[str]], run: Run) -> None:
    repo, _, shas = bare_demo
    (repo / "promotion.yaml").write_text(
        f"version: 1\nnative: false\ncomponents:\n  {NAME}:\n    repo: {URL}\n    fetch: ../qontract-reconcile\n"
        "    targets: []\n"
    )  # (native: false: the saas files' targets are not merged in, so discover finds them)
    code, out, err = run("-C", repo, "discover", "-o", "json")
    assert code == 0, err
    found = {(f["file"], f["kind"], f["version"]["value"]) for f in json.loads(out)["findings"]}
    assert (
        found
        == {
            (SAAS_EXT, "saas", shas[1]),
            (SAAS_INT, "saas", shas[1]),
            (".env", "commit", shas[1][:7]),  # not the commented-out 0000000: no commit of the upstream
            ("resources/jenkins/global/defaults.yaml", "commit", shas[1][:7]),
            ("data/pipelines/tekton-provider-global-defaults.yaml", "commit", shas[1][:7]),
        }
    )  # and not qontract-server's ref beside them: no commit of this upstream


@pytest.mark.parametrize(
    ("rel", "text", "line", "env"),
    [
        (SAAS_EXT, "targets:\n- namespace:\n    $ref: /ns/app-production.yml\n  ref: abc\n", 4, "production"),
        (SAAS_EXT, "targets:\n- ref: abc\n  namespace:\n    $ref: /ns/app-production-int.yml\n", 2, "integration"),
        ("deploy/stage/values.yaml", "tag: abc\n", 1, "stage"),
        ("deploy/prod.env", "TAG=abc\n", 1, "production"),
        ("clusters/eu-west/app.yaml", "tag: abc\n", 1, "eu-west"),
        (".env", "TAG=abc\n", 1, "default"),
        ("interface/app.yaml", "tag: abc\n", 1, "interface"),  # a word, not `int`
    ],
)
def test_the_environment_is_guessed_from_the_namespace_or_the_path(rel: str, text: str, line: int, env: str) -> None:
    assert guess_environment(rel, text, line) == env
