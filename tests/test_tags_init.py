"""`init` and `discover` find release tag pins (issue 22): a value one of the upstream's tags gives
through a pattern (`v1.4.2`, or `1.4.2` for the tag `v1.4.2`) becomes a `format: tag` target (with
`tag_pattern: '{semver}'` where the `v` is not written), its path filtered by name where the file
holds other images' tags; what the upstream never released (nginx's `1.25.3`, a chart's own
`version: 0.1.0`) is not a pin of it. The targets written promote exactly the component's pins."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from tests import tags_fixture as t
from tests.conftest import RunResult, git, make_repo

Run = Callable[..., RunResult]
COMPOSE = "compose.yaml"
CHART = "chart/Chart.yaml"


def _files(version: str = "1.4.2", worker: str = "1.4.2") -> dict[str, str]:
    files = t.files(version)
    files[t.KUSTOMIZE] += f"  - name: quay.io/org/worker\n    newTag: {worker}\n"  # same repo, same release
    files[COMPOSE] = f"services:\n  app:\n    image: {t.IMAGE}:v{version}\n  db:\n    image: postgres:16.1.0\n"
    files[CHART] = f"apiVersion: v2\nname: app\nversion: 0.1.0\nappVersion: {version}\n"
    return files


def test_init_finds_release_tag_pins_and_writes_exact_targets(tmp_path: Path, run: Run) -> None:
    up, shas = t.upstream(tmp_path / "up")
    repo = make_repo(tmp_path / "config", _files())
    code, out, err = run("-C", repo, "init", "--component", "app", "--repo", t.URL, "--fetch", up, "--image", t.IMAGE)
    assert code == 0, err
    doc = yaml.safe_load((repo / "promotion.yaml").read_text())
    targets = {x["file"]: x for x in doc["components"]["app"]["targets"]}
    assert set(targets) == {t.ARGO, t.KUSTOMIZE, t.HELM, COMPOSE, CHART}
    assert all(x["format"] == "tag" for x in targets.values())
    assert targets[t.KUSTOMIZE]["path"] == "$.images[?(@.name == 'app')].newTag"  # not nginx's, not worker's
    assert targets[t.KUSTOMIZE]["tag_pattern"] == "{semver}"
    assert targets[CHART] == {
        "name": "Chart-appVersion", "environment": "chart", "file": CHART, "key": "appVersion", "format": "tag",
        "tag_pattern": "{semver}",
    }  # fmt: skip
    assert "tag_pattern" not in targets[t.ARGO] and "tag_pattern" not in targets[t.HELM]  # v{semver}
    assert doc["components"]["app"]["image"] == t.IMAGE

    git(repo, "add", "promotion.yaml")
    git(repo, "commit", "-qm", "promoter init")
    code, out, err = run("-C", repo, "check")  # with the image: the worker's tag is not app's pin
    assert code == 0, out + err
    assert out.splitlines()[-1] == "ok: no problems; 1 note", out  # the note: production's image has no trust:
    assert "production) promotes image quay.io/org/app, which has no trust:" in out
    written = (repo / "promotion.yaml").read_text()
    (repo / "promotion.yaml").write_text(written.replace(f"    image: {t.IMAGE}\n", ""))  # no registry here
    git(repo, "commit", "-qam", "no image gate")
    code, out, err = run("-C", repo, "promote", "app", "v1.5.0", "--yes")
    assert code == 0, err
    want = _files("1.5.0", worker="1.4.2")  # the worker's tag, nginx's, the chart's version: untouched
    assert {f: (repo / f).read_text() for f in want} == want


def test_without_image_a_worker_tag_of_the_same_release_is_a_target_of_its_own(tmp_path: Path, run: Run) -> None:
    """Without --image the worker's `newTag: 1.4.2` (a release of the same upstream) cannot be told
    from app's: each is a target of its own, its path filtered by the image's name (never one
    `key: newTag` over both, nor over nginx's), for a person to keep or drop."""
    up, shas = t.upstream(tmp_path / "up")
    repo = make_repo(tmp_path / "config", _files())
    code, out, err = run("-C", repo, "init", "--component", "app", "--repo", t.URL, "--fetch", up, "--print")
    assert code == 0, err
    doc = yaml.safe_load(out)
    kustomize = [x["path"] for x in doc["components"]["app"]["targets"] if x["file"] == t.KUSTOMIZE]
    assert kustomize == [
        "$.images[?(@.name == 'app')].newTag",
        "$.images[?(@.name == 'quay.io/org/worker')].newTag",
    ]


def test_discover_suggests_format_tag_targets_for_uncovered_release_pins(tmp_path: Path, run: Run) -> None:
    up, shas = t.upstream(tmp_path / "up")
    repo = make_repo(tmp_path / "config", {**_files(), "promotion.yaml": t.config(up, image=t.IMAGE)})
    code, out, err = run("-C", repo, "discover", "-o", "json")
    assert code == 0, err
    import json

    found = {(f["file"], f["line"]): f for f in json.loads(out)["findings"]}
    assert set(found) == {(CHART, 4), (COMPOSE, 3)}
    assert found[(CHART, 4)]["suggestion"]["tag_pattern"] == "{semver}"
    assert found[(COMPOSE, 3)]["suggestion"]["format"] == "tag" and found[(COMPOSE, 3)]["version"]["value"] == "v1.4.2"
    code, out, err = run("-C", repo, "check")
    assert code == 3 and "compose.yaml:3: app: v1.4.2 is pinned here (image quay.io/org/app:v1.4.2)" in out
