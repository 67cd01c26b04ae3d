"""The first twenty minutes (issue 19): what init, discover, check and status answer a new user
on a small GitOps repository of the usual kinds (tests/gitops_fixture.py: Helm values,
kustomize `images[]`, an Argo CD Application, a `.tfvars`, a compose file, a saas file; app and
worker built from one upstream repository)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from promoter.locate.jsonpath import JsonPath, key_path
from promoter.locate.yamlnodes import compose
from tests import gitops_fixture as g
from tests.conftest import RunResult, git, make_repo

Run = Callable[..., RunResult]

# `check` notes that production promotes app's image with no trust: (tests/test_trust_config.py)
TRUST_NOTE = (
    "promotion.yaml:20: note: app: environment 'production' (production) promotes image quay.io/org/app, which has "
    "no trust:; nothing checks that it is signed, nor built from the commit promoted\n"
    "    give component 'app' a trust: (signature: key: or identity: and issuer:; provenance: true) in promotion.yaml\n"
    "ok: no problems; 1 note\n"
)


def _texts(repo: Path) -> dict[str, str]:
    return {rel: (repo / rel).read_text() for rel in g.files("0" * 40, "0" * 40)}


def _config(repo: Path, components: dict[str, object], **top: object) -> None:
    (repo / "promotion.yaml").write_text(yaml.safe_dump({"version": 1, "components": components, **top}))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "config")


def _json(run: Run, *argv: object) -> dict[str, object]:
    code, out, err = run(*argv)
    assert code in (0, 3), err
    doc = json.loads(out)
    assert isinstance(doc, dict)
    return doc


# ------------------------------------------------------------------------------- init: exact targets


def test_init_writes_exact_targets_that_promote_the_components_pins_and_nothing_else(tmp_path: Path, run: Run) -> None:
    up, repo, shas = g.build(tmp_path)
    before = _texts(repo)
    code, out, err = run("-C", repo, "init", "--component", "app", "--repo", g.URL, "--fetch", up, "--image", g.IMAGE)
    assert code == 0, err
    targets = yaml.safe_load((repo / "promotion.yaml").read_text())["components"]["app"]["targets"]
    git(repo, "add", "promotion.yaml")
    git(repo, "commit", "-q", "-m", "config")

    # no target stands for a key wherever it is: each one locates one place, app's own
    status = _json(run, "-C", repo, "--offline", "status", "-o", "json")
    located = {
        (t["target"], loc["file"], loc["line"])
        for comp in status["components"]  # type: ignore[attr-defined]
        for env in comp["environments"]
        for t in env["targets"]
        for loc in t["locations"]
    }
    assert sorted((file, line) for _, file, line in located) == sorted((f, n) for f, n, _ in g.APP)
    assert len({name for name, _, _ in located}) == len(located) == len(targets)
    by_file = {t["file"]: t for t in targets}
    assert by_file[g.KUSTOMIZE]["path"] == "$.images[?(@.name == 'app')].newTag"
    assert by_file[g.HELM]["path"] == "$.image.tag"
    assert all(t.get("key") not in ("newTag", "tag") for t in targets)
    # names say the file and what it pins; environments are guessed as init guesses them
    assert by_file[g.KUSTOMIZE]["name"] == "kustomization-app-newTag"
    assert by_file[g.HELM]["name"] == "values-production-image-tag"
    assert by_file[g.COMPOSE]["name"] == "docker-compose-app-image"
    assert (by_file[g.KUSTOMIZE]["environment"], by_file[g.HELM]["environment"]) == ("integration", "production")
    code, out, err = run("-C", repo, "check")
    assert (code, out) == (0, TRUST_NOTE), out + err

    # promoted with that config: app's values moved, byte for byte; worker's and nginx's did not
    code, out, err = run("-C", repo, "--offline", "promote", "app", shas[3], "--yes")
    assert code == 0, err
    assert _texts(repo) == g.moved(before, g.APP, shas[1], shas[3])


def test_init_without_image_still_gives_each_pin_its_own_exact_target(tmp_path: Path, run: Run) -> None:
    """Without --image, worker's tags (commits of the same upstream) cannot be told from app's:
    each still gets a target of its own (for the user to keep or drop), never one key for both."""
    up, repo, _ = g.build(tmp_path)
    code, out, err = run("-C", repo, "init", "--component", "app", "--repo", g.URL, "--fetch", up, "--print")
    assert code == 0, err
    targets = yaml.safe_load(out)["components"]["app"]["targets"]
    kustomize = sorted(t["path"] for t in targets if t["file"] == g.KUSTOMIZE)
    assert kustomize == [
        "$.images[?(@.name == 'app')].newTag",
        f"$.images[?(@.name == '{g.WORKER_IMAGE}')].newTag",
    ]
    assert sorted(t["path"] for t in targets if t["file"] == g.HELM) == ["$.image.tag", "$.worker.image.tag"]
    names = [t["name"] for t in targets]
    assert len(set(names)) == len(names)


# ---------------------------------------------------------------------- discover: name-filtered paths


@pytest.mark.parametrize(
    ("text", "value", "path"),
    [
        ("images:\n- name: a\n  newTag: v1\n- name: b\n  newTag: X\n", "X", "$.images[?(@.name == 'b')].newTag"),
        # a name two items share tells nothing apart: the next field, then the index
        (
            "c:\n- name: a\n  repository: r/x\n  tag: v1\n- name: a\n  repository: r/y\n  tag: X\n",
            "X",
            "$.c[?(@.repository == 'r/y')].tag",
        ),
        ("c:\n- name: a\n  tag: v1\n- name: a\n  tag: X\n", "X", "$.c[1].tag"),
        # never a filter on a field that holds the version: it changes with it
        ("c:\n- image: q/app:abc1234\n  v: abc1234\n- image: q/b:1\n  v: Y\n", "abc1234", "$.c[0].v"),
        # a saas target by its namespace's $ref
        (
            "t:\n- namespace:\n    $ref: /ns/stage.yml\n  ref: main\n- namespace:\n    $ref: /ns/prod.yml\n  ref: X\n",
            "X",
            "$.t[?(@.namespace['$ref'] == '/ns/prod.yml')].ref",
        ),
        ("a:\n- name: it's\n  v: X\n- name: b\n  v: Y\n", "X", "$.a[?(@.name == 'it\\'s')].v"),
    ],
)
def test_key_paths_pick_sequence_items_by_a_field_that_tells_them_apart(text: str, value: str, path: str) -> None:
    roots = compose(text)
    start = text.index(f" {value}\n") + 1
    found = key_path(text, roots, start)
    assert found is not None and found[1] == path
    (node,) = JsonPath(path).find(roots)
    assert text[node.start : node.end] == value


def test_a_place_knows_the_image_it_is_the_tag_of() -> None:
    from promoter.locate.jsonpath import place

    text = g.files("a" * 40, "b" * 40)[g.HELM]
    roots = compose(text)
    ours, theirs = place(text, roots, text.index("aaaaaaa")), place(text, roots, text.index("bbbbbbb"))
    assert ours is not None and theirs is not None
    assert (ours.image, ours.shape, theirs.image, theirs.shape) == (
        g.IMAGE,
        "$.image.tag",
        g.WORKER_IMAGE,
        "$.worker.image.tag",
    )
    text = g.files("a" * 40, "b" * 40)[g.KUSTOMIZE]
    roots = compose(text)
    ours, theirs = place(text, roots, text.index("aaaaaaa")), place(text, roots, text.index("bbbbbbb"))
    assert ours is not None and theirs is not None
    assert ours.shape == theirs.shape == "$.images[*].newTag"
    assert (ours.image, theirs.image) == (g.IMAGE, g.WORKER_IMAGE)


def test_discover_snippets_are_exact_named_and_placed_in_an_environment(tmp_path: Path, run: Run) -> None:
    up, repo, shas = g.build(tmp_path)
    app = {"repo": g.URL, "fetch": str(up), "image": g.IMAGE}
    _config(repo, {"app": {**app, "targets": [{"name": "saas", "file": g.SAAS, "saas": {}}]}})
    doc = _json(run, "-C", repo, "discover", "-o", "json")
    found = {f["file"]: f for f in doc["findings"]}  # type: ignore[attr-defined]
    # app's pins only: worker's tags at the same commit are another image's
    assert sorted((f, n) for f, n in ((f["file"], f["line"]) for f in doc["findings"])) == sorted(  # type: ignore[attr-defined]
        (f, n) for f, n, _ in g.APP if f != g.SAAS
    )
    assert found[g.KUSTOMIZE]["suggestion"] == {
        "name": "kustomization-app-newTag",
        "environment": "integration",
        "file": g.KUSTOMIZE,
        "path": "$.images[?(@.name == 'app')].newTag",
        "format": "short",
    }
    assert found[g.HELM]["suggestion"]["path"] == "$.image.tag"
    assert found[g.ARGO]["suggestion"]["environment"] == "stage"
    names = [f["suggestion"]["name"] for f in doc["findings"]]  # type: ignore[attr-defined]
    assert len(set(names)) == len(names)
    assert not any("[0]" in f["snippet"] or "[1]" in f["snippet"] for f in doc["findings"])  # type: ignore[attr-defined]

    # pasted as they are, the snippets make check clean and promote exactly app's pins
    config = yaml.safe_load((repo / "promotion.yaml").read_text())
    config["components"]["app"]["targets"] += [f["suggestion"] for f in doc["findings"]]  # type: ignore[attr-defined]
    before = _texts(repo)
    _config(repo, config["components"])
    code, out, err = run("-C", repo, "check")
    assert (code, out) == (0, TRUST_NOTE), out + err
    code, _, err = run("-C", repo, "--offline", "promote", "app", shas[2], "--yes")
    assert code == 0, err
    assert _texts(repo) == g.moved(before, g.APP, shas[1], shas[2])


def test_discover_finds_a_helm_or_kustomize_tag_by_the_image_named_beside_it(tmp_path: Path, run: Run) -> None:
    """`repository: quay.io/org/app` with `tag:` beside it is the component's image tag, whatever
    version it holds (here one no target deploys)."""
    up, shas = g.upstream(tmp_path / "up")
    files = g.files(shas[1], shas[0])
    for rel in (g.HELM, g.KUSTOMIZE):
        files[rel] = files[rel].replace(shas[1][:7], shas[0][:7])
    repo = make_repo(tmp_path / "config", files)
    saas = {"name": "saas", "file": g.SAAS, "saas": {}}
    _config(repo, {"app": {"repo": g.URL, "fetch": str(up), "image": g.IMAGE, "targets": [saas]}})
    doc = _json(run, "-C", repo, "discover", "-o", "json")
    found = [(f["file"], f["line"], f["kind"], f["matched"], f["version"]["value"]) for f in doc["findings"]]  # type: ignore[attr-defined]
    assert [f for f in found if f[0] in (g.HELM, g.KUSTOMIZE)] == [
        (g.HELM, 5, "image", f"{g.IMAGE} tag", shas[0][:7]),
        (g.KUSTOMIZE, 8, "image", f"{g.IMAGE} newTag", shas[0][:7]),
    ]  # not worker's, at the same version
    paths = {f["file"]: f["suggestion"].get("path") for f in doc["findings"]}  # type: ignore[attr-defined]
    assert (paths[g.HELM], paths[g.KUSTOMIZE]) == ("$.image.tag", "$.images[?(@.name == 'app')].newTag")


def test_snippet_names_of_two_files_of_one_name_are_told_apart(tmp_path: Path, run: Run) -> None:
    up, shas = g.upstream(tmp_path / "up")
    body = f"images:\n  - name: app\n    newTag: {shas[1][:7]}\n  - name: other\n    newTag: 1.0.0\n"
    repo = make_repo(tmp_path / "config", {"stage/kustomization.yaml": body, "prod/kustomization.yaml": body})
    code, out, err = run("-C", repo, "init", "--component", "app", "--repo", g.URL, "--fetch", up, "--print")
    assert code == 0, err
    targets = yaml.safe_load(out)["components"]["app"]["targets"]
    assert [(t["name"], t["environment"]) for t in targets] == [
        ("kustomization-app-newTag", "production"),
        ("stage-kustomization-app-newTag", "stage"),
    ]


# --------------------------------------------------------------------------- check: ambiguous targets


def test_check_reports_a_key_target_whose_places_are_several_images_or_key_paths(tmp_path: Path, run: Run) -> None:
    up, repo, _ = g.build(tmp_path)
    targets = [
        {"name": "kustomize", "environment": "integration", "file": g.KUSTOMIZE, "key": "newTag"},
        {"name": "helm", "environment": "production", "file": g.HELM, "key": "tag"},
        {"name": "argo", "environment": "stage", "file": g.ARGO, "key": "targetRevision", "format": "sha"},
    ]
    _config(repo, {"app": {"repo": g.URL, "fetch": str(up), "image": g.IMAGE, "targets": targets}})
    doc = _json(run, "-C", repo, "check", "-o", "json")
    problems = [p for p in doc["problems"] if p["kind"] == "ambiguous-target"]  # type: ignore[attr-defined]
    assert [p["target"] for p in problems] == ["kustomize", "helm"]  # not argo: one place
    kustomize, helm = problems
    assert kustomize["file"] == "promotion.yaml" and kustomize["line"] > 1
    assert "locates the tags of 3 images" in kustomize["message"]
    for image, line in ((g.IMAGE, 8), (g.WORKER_IMAGE, 10), ("quay.io/nginx/nginx-unprivileged", 13)):
        assert f"{image} ({g.KUSTOMIZE}:{line})" in kustomize["message"]
    assert (
        f"path: \"$.images[?(@.name == 'app')].newTag\"   # {g.KUSTOMIZE}:8 (the component's image)"
        in (kustomize["hint"])
    )
    assert "$.images[?(@.name == 'nginx')].newTag" in kustomize["hint"]
    assert "(one target per place, with 'format: short')" in kustomize["hint"]  # a path's own default is sha
    assert "locates the tags of 2 images" in helm["message"]
    assert f'path: "$.image.tag"   # {g.HELM}:5 (the component\'s image)' in helm["hint"]
    assert f'path: "$.worker.image.tag"   # {g.HELM}:11' in helm["hint"]
    code, out, _ = run("-C", repo, "check")
    assert code == 3
    assert f"promotion.yaml:{kustomize['line']}: app: target 'kustomize' (key newTag) locates the tags" in out


def test_check_reports_a_key_target_under_several_key_paths(tmp_path: Path, run: Run) -> None:
    """Values under two key paths that name no image are two kinds of place; the tags of one
    image, wherever they stand, are one (both the component's)."""
    up, shas = g.upstream(tmp_path / "up")
    short = shas[1][:7]
    chart = (
        f"app:\n  image:\n    repository: {g.IMAGE}\n    tag: {short}\n"
        f"jobs:\n  migrate:\n    image:\n      repository: {g.IMAGE}\n      tag: {short}\n"
    )
    values = f"app:\n  version: {short}\nmigrations:\n  version: {short}\n"
    repo = make_repo(tmp_path / "config", {"values.yaml": values, "chart.yaml": chart})
    targets = [
        {"name": "v", "file": "values.yaml", "key": "version"},
        {"name": "tags", "file": "chart.yaml", "key": "tag"},
    ]
    _config(repo, {"app": {"repo": g.URL, "fetch": str(up), "targets": targets}})
    doc = _json(run, "-C", repo, "check", "-o", "json")
    (problem,) = doc["problems"]  # type: ignore[misc]
    assert (problem["kind"], problem["target"]) == ("ambiguous-target", "v")
    assert (
        "locates values under 2 key paths: $.app.version (values.yaml:2); $.migrations.version (values.yaml:4)"
        in problem["message"]
    )
    assert 'path: "$.app.version"   # values.yaml:2' in problem["hint"]


# ------------------------------------------------------------------------------------- a monorepo


def _monorepo(up: Path) -> dict[str, object]:
    def comp(targets: list[dict[str, str]]) -> dict[str, object]:
        return {"repo": g.URL, "fetch": str(up), "targets": targets}

    return {
        "app": comp(
            [
                {"name": "helm", "environment": "production", "file": g.HELM, "path": "$.image.tag", "format": "short"},
                {"name": "kustomize", "environment": "integration", "file": g.KUSTOMIZE,
                 "path": "$.images[?(@.name == 'app')].newTag", "format": "short"},
                {"name": "compose", "environment": "compose", "file": g.COMPOSE, "format": "short",
                 "regex": r"quay\.io/org/app:(?P<version>[0-9a-f]{7})"},
                {"name": "argo", "environment": "stage", "file": g.ARGO, "key": "targetRevision", "format": "sha"},
                {"name": "tf", "environment": "production", "file": g.TFVARS, "env": "app_version", "format": "sha"},
                {"name": "saas", "environment": "production", "file": g.SAAS, "saas": {}},
            ]
        ),
        "worker": comp(
            [
                {"name": "helm", "environment": "production", "file": g.HELM, "path": "$.worker.image.tag",
                 "format": "short"},
                {"name": "kustomize", "environment": "integration", "file": g.KUSTOMIZE,
                 "path": f"$.images[?(@.name == '{g.WORKER_IMAGE}')].newTag", "format": "short"},
                {"name": "compose", "environment": "compose", "file": g.COMPOSE, "format": "short",
                 "regex": r"quay\.io/org/worker:(?P<version>[0-9a-f]{7})"},
            ]
        ),
    }  # fmt: skip


def test_two_components_of_one_repository_pass_check_and_ignore_is_per_component(tmp_path: Path, run: Run) -> None:
    """app and worker run the same commit: each one's pins hold the other's version, and are
    covered because some component's target covers them."""
    up, repo, shas = g.build(tmp_path)
    _config(repo, _monorepo(up))
    code, out, err = run("-C", repo, "check")
    assert (code, out) == (0, "ok: no problems\n"), out + err

    (repo / "CHANGELOG.md").write_text(f"- deployed {shas[1][:7]} everywhere\n")
    git(repo, "add", "CHANGELOG.md")
    doc = _json(run, "-C", repo, "check", "-o", "json")
    assert sorted((p["component"], p["file"]) for p in doc["problems"]) == [  # type: ignore[attr-defined]
        ("app", "CHANGELOG.md"),
        ("worker", "CHANGELOG.md"),
    ]
    components = _monorepo(up)
    components["app"]["ignore"] = ["*.md"]  # type: ignore[index]
    _config(repo, components)
    doc = _json(run, "-C", repo, "check", "-o", "json")
    assert [(p["component"], p["file"]) for p in doc["problems"]] == [("worker", "CHANGELOG.md")]  # type: ignore[attr-defined]
    assert doc["problems"][0]["hint"].startswith(  # type: ignore[index]
        "add this target to component 'worker' in promotion.yaml, or add 'CHANGELOG.md' to its ignore: list"
    )


@pytest.mark.parametrize(
    ("ignore", "message"),
    [
        ("['/etc/*']", "component 'app': ignore: '/etc/*' must be a glob relative to the repository root"),
        ("'*.md'", "component 'app': ignore must be a list of strings"),
        ("['']", "component 'app': ignore item must not be empty"),
    ],
)
def test_a_components_ignore_is_validated_like_the_top_level_one(
    tmp_path: Path, run: Run, ignore: str, message: str
) -> None:
    config = f"version: 1\ncomponents:\n  app:\n    repo: {g.URL}\n    ignore: {ignore}\n    targets: []\n"
    repo = make_repo(tmp_path / "r", {"promotion.yaml": config})
    code, _, err = run("-C", repo, "check")
    assert code == 2
    assert err == f"promoter: error: {repo / 'promotion.yaml'}:5: {message}\n"


# ------------------------------------------------------------------------------ promoter's own files


@pytest.mark.parametrize("holds", [None, "ops/holds.yaml"])
def test_the_holds_file_a_rollback_writes_is_never_an_uncovered_pin(
    tmp_path: Path, run: Run, holds: str | None
) -> None:
    up, repo, shas = g.build(tmp_path)
    components = _monorepo(up)
    (repo / "ops").mkdir()
    (repo / "ops" / "README.md").write_text("operations\n")
    _config(repo, components, **({"holds": holds} if holds else {}))
    code, _, err = run("-C", repo, "--offline", "promote", "app", shas[3], "--yes")
    assert code == 0, err
    git(repo, "commit", "-q", "-am", "promote app")
    # production goes back; integration still runs the version the reason names
    code, _, err = run(
        "-C", repo, "--offline", "rollback", "app", "--env", "production", "--reason", f"{shas[3][:7]} breaks logins",
        "--commit",
    )  # fmt: skip
    assert code == 0, err
    held = (repo / (holds or "promotion-holds.yaml")).read_text()
    assert f"{shas[3][:7]} breaks logins" in held
    code, out, err = run("-C", repo, "check")
    assert (code, out) == (0, "ok: no problems\n"), out + err
    code, out, err = run("-C", repo, "discover")
    assert out.startswith("0 pins found"), out


# -------------------------------------------------------------------------------------- tag pins


def test_a_release_tag_is_said_plainly_with_no_hint_to_make_it_optional(tmp_path: Path, run: Run) -> None:
    up, shas = g.upstream(tmp_path / "up")
    files = g.files(shas[3], shas[3])  # the head: up to date, but for the tag
    files[g.ARGO] = files[g.ARGO].replace(shas[3], "v1.0.0")
    repo = make_repo(tmp_path / "config", files)
    targets = [
        {"name": "argo", "environment": "stage", "file": g.ARGO, "key": "targetRevision", "format": "sha"},
        {"name": "saas-stage", "environment": "stage", "file": g.SAAS, "saas": {}},
        {"name": "branch", "environment": "dev", "file": g.SAAS, "path": "$.resourceTemplates[0].targets[0].ref"},
    ]
    _config(repo, {"app": {"repo": g.URL, "fetch": str(up), "branch": "main", "targets": targets}})

    said = (
        f"{g.ARGO}: target 'argo' (key targetRevision): its format sha pins commits (40-hex sha); found 'v1.0.0' "
        f"(a release tag?) at {g.ARGO}:11: 'format: tag' pins release tags"
    )
    doc = _json(run, "-C", repo, "check", "-o", "json")
    argo, branch = [p for p in doc["problems"] if p["kind"] == "locates-nothing"]  # type: ignore[attr-defined]
    assert (argo["target"], argo["message"]) == ("argo", f"app: {said}")
    assert "optional" not in argo["hint"] and "'format: tag'" in argo["hint"]
    assert branch["target"] == "branch" and "optional: true" in branch["hint"]  # a branch: what it was

    code, out, err = run("-C", repo, "plan", "app", "--env", "stage")
    assert code == 3 and err == f"promoter: error: {said}\n"

    code, out, err = run("-C", repo, "status")
    assert code == 3, err  # an ERROR row in the table: exit 3
    stage = [line for line in out.splitlines() if line.lstrip().startswith(("stage", "argo", "dev", "branch"))]
    assert "up to date" not in "\n".join(stage)
    assert any(line.split()[:3] == ["argo", "-", "ERROR"] for line in stage), out
    assert any(line.split()[:3] == ["branch", "-", "ERROR"] for line in stage), out


# ------------------------------------------------------------------------------------- onboarding


@pytest.mark.parametrize("argv", [["status"], ["check"], ["discover"], ["plan", "app"], ["history", "app"]])
def test_a_missing_config_points_to_init(tmp_path: Path, run: Run, argv: list[str]) -> None:
    repo = make_repo(tmp_path / "r", {"a.yaml": "tag: abc1234\n"})
    code, out, err = run("-C", repo, *argv)
    assert code == 2
    assert err == (
        f"promoter: error: no promotion.yaml in {repo}: promoter init --component NAME --repo URL writes a first one "
        "(or --config FILE)\n"
    )
    code, out, err = run("-C", repo, "--config", tmp_path / "other.yaml", *argv)  # named, and missing
    assert (
        code == 2
        and err == f"promoter: error: {tmp_path / 'other.yaml'}: no such file (create it, or point --config at one)\n"
    )


def test_init_for_an_upstream_it_cannot_reach_points_to_fetch(tmp_path: Path, run: Run) -> None:
    repo = make_repo(tmp_path / "r", {"values.yaml": "tag: abc1234\n"})
    gone = (tmp_path / "nowhere" / "app.git").as_uri()
    code, out, err = run("-C", repo, "init", "--component", "app", "--repo", gone)
    assert code == 4
    assert err.startswith(f"promoter: error: app: cannot clone {gone}: ")
    assert err.endswith(  # after git's own error, which may take several lines
        "\ninit reads the upstream to tell which values are its commits: pass --fetch PATH_OR_URL "
        "(a local clone of it, or a URL this machine can reach)\n"
    )
    assert not (repo / "promotion.yaml").exists()
    code, out, err = run("-C", repo, "init", "--component", "app", "--repo", g.URL, "--fetch", tmp_path / "nowhere")
    assert code == 4
    assert err == (
        f"promoter: error: app: upstream {tmp_path / 'nowhere'} does not exist\n"
        "init reads the upstream to tell which values are its commits: check --fetch PATH_OR_URL "
        "(a local clone of it, or a URL this machine can reach)\n"
    )
