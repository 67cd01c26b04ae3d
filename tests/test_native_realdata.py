"""app-interface native on real data (../shared/realdata, never copied here; skipped without it).

- the 2022 snapshot, with no promotion.yaml: `status` lists every resource template url of every
  saas file as a component (counted independently with PyYAML), every `targets[]` item as a
  target, each in the environment its namespace names (resolved independently too); every pinned
  target, planned to a new sha, changes exactly its `ref` and nothing else of its file;
- the bot's 17 automated promotions (`auto-promotions/`): in the files the bot read, the model
  finds the subscriber (in the environment the case names, subscribed to its channels) and the
  publishers; promoting it to the case's sha changes its `ref` (and its `target_config_hash`:
  tests/test_native_channels_realdata.py holds those to the bot's), and gives the bot's file but
  for the bot's own re-formatting.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from promoter.locate.saas import repo_key
from tests.conftest import git, snapshot

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "app-interface"
SNAPSHOT = SHARED / "snapshot-2022-05-11.tar.gz"
AUTO = SHARED / "auto-promotions"
CASES = sorted(p for p in AUTO.iterdir() if (p / "case.json").is_file()) if AUTO.is_dir() else []
SAAS_SCHEMAS = ("/app-sre/saas-file-1.yml", "/app-sre/saas-file-2.yml")
NEW = "0123456789abcdef0123456789abcdef01234567"


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # every scalar a string, as written


def committed_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole 2022 snapshot unpacked and committed on master, with no promotion.yaml (the test
    skipped when ../shared/realdata is absent)."""
    if not SNAPSHOT.is_file():
        pytest.skip("../shared/realdata is absent")
    base = tmp_path_factory.mktemp("snapshot")
    with tarfile.open(SNAPSHOT) as tar:
        tar.extractall(base, filter="data")
    repo = base / "app-interface"
    assert not (repo / "promotion.yaml").exists()
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "snapshot 2022-05-11")
    return repo


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole snapshot, committed, with no promotion.yaml."""
    return committed_snapshot(tmp_path_factory)


def _independently(repo: Path) -> dict[tuple[str, str, str], str]:
    """(saas file, resource template, namespace $ref) -> the environment's name, for every inline
    target of every saas file, read with PyYAML alone."""
    out: dict[tuple[str, str, str], str] = {}
    for path in sorted((repo / "data").rglob("*")):
        if path.suffix not in (".yml", ".yaml") or "saas-file-" not in path.read_text(errors="replace"):
            continue
        try:
            doc = _load(path)
        except yaml.YAMLError:
            continue
        if not isinstance(doc, dict) or doc.get("$schema") not in SAAS_SCHEMAS:
            continue
        for rt in doc["resourceTemplates"]:
            for t in rt["targets"]:
                ns = _load(repo / "data" / t["namespace"]["$ref"].lstrip("/"))
                env = _load(repo / "data" / ns["environment"]["$ref"].lstrip("/"))
                out[(str(path.relative_to(repo)), rt["name"], t["namespace"]["$ref"])] = env["name"]
                out[("url", rt["url"], "")] = ""
    return out


def test_status_lists_every_component_and_target_of_the_snapshot(tree: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("-C", tree, "--offline", "status", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    expected = _independently(tree)
    urls = {repo_key(url) for kind, url, _ in expected if kind == "url"}
    targets = [
        (c["component"], e["environment"], t)
        for c in doc["components"]
        for e in c["environments"]
        for t in e["targets"]
    ]
    assert len(doc["components"]) == len(urls) == 249
    assert {repo_key(t["native"]["url"]) for _, _, t in targets} == urls
    for comp, _, t in targets:  # one component per url
        assert {repo_key(x["native"]["url"]) for c, _, x in targets if c == comp} == {repo_key(t["native"]["url"])}
    got = {
        (t["native"]["saas_file"], t["native"]["resource_template"], t["native"]["namespace"]): env
        for _, env, t in targets
    }
    assert len(targets) == len(got) == len(expected) - len(urls) == 1645
    assert got == {k: v for k, v in expected.items() if k[0] != "url"}
    for _, _, t in targets:
        native = t["native"]
        assert native["file"] == native["saas_file"] and native["line"] >= 1
        assert set(native) >= {"saas_file", "resource_template", "namespace", "channels", "auto", "environments"}
        assert t["locations"] or t["tracking"], t["target"]  # its ref: pinned, or a branch it tracks
    assert len({(c, t["target"]) for c, _, t in targets}) == len(targets)  # names unique per component


def test_every_pinned_target_of_the_snapshot_changes_exactly_its_ref(tree: Path) -> None:
    from promoter.pipeline import core

    repo = core.open_repo(tree)
    assert repo.config.origin == "native" and repo.config.problems == ()
    pinned = 0
    for comp in repo.config.components.values():
        plan = core.plan(repo, comp, NEW, list(comp.targets))
        for change in plan.changes:
            old, new = change.old_text.splitlines(keepends=True), change.new_text.splitlines(keepends=True)
            assert len(old) == len(new)
            lines = {e.location.line for e in change.edits}
            for i, (a, b) in enumerate(zip(old, new), start=1):
                if i in lines:
                    (edit,) = [e for e in change.edits if e.location.line == i]
                    # a subscriber's promotion_data hash moves with its ref (test_native_channels_realdata.py)
                    written = NEW if edit.location.kind == "pin" else edit.new
                    assert b == a.replace(edit.location.value, written, 1) and a != b
                else:
                    assert a == b, (change.file, i)
            pinned += sum(1 for e in change.edits if e.location.kind == "pin")
    shas = [t.native.ref for c in repo.config.components.values() for t in c.targets if t.native and t.native.ref]
    assert pinned == sum(1 for ref in shas if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref)) == 853


def test_a_native_promote_on_the_snapshot_writes_only_the_ref(tree: Path, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    work = tmp_path / "work"
    shutil.copytree(tree, work)
    before = snapshot(work)
    saas = "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml"
    name = "saas-qontract-reconcile/qontract-reconcile/app-interface-production"
    code, out, err = run("-C", work, "promote", "qontract-reconcile", NEW, "--target", name, "--offline", "--yes")
    assert code == 0, err
    after = snapshot(work)
    assert {k for k in after if after[k] != before[k]} == {saas}
    old = "    ref: 862eebc895ea7f496f9037a7b8a4d1f393d8a546\n"
    assert before[saas].count(old.encode()) == 2  # the template's and grafana's: only the first is this target
    i = before[saas].index(old.encode())
    assert (
        after[saas]
        == before[saas][:i]
        + old.replace("862eebc895ea7f496f9037a7b8a4d1f393d8a546", NEW).encode()
        + (before[saas][i + len(old) :])
    )


# -- the bot's automated promotions ---------------------------------------------------------------------


def _without_hashes(node: Any) -> Any:
    """A document with every `target_config_hash` value blanked (the bot's promotion_data)."""
    if isinstance(node, dict):
        return {k: ("" if k == "target_config_hash" else _without_hashes(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_hashes(v) for v in node]
    return node


@pytest.mark.skipif(not CASES, reason="../shared/realdata is absent")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_automated_promotion_moves_the_subscriber_ref_alone(case: Path, tree: Path, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    info = json.loads((case / "case.json").read_text())
    repo = tmp_path / "ai"
    shutil.copytree(case / "context", repo)
    shutil.copytree(case / "before", repo, dirs_exist_ok=True)
    # what the promotion_data hash reads beyond them: the qontract-reconcile version and the instances
    shutil.copy(tree / ".env", repo / ".env")
    shutil.copytree(tree / "data" / "dependencies", repo / "data" / "dependencies", dirs_exist_ok=True)
    if str(info["date"]) >= "2022-05-24T12":  # (which version ran then: tests/test_native_channels_realdata.py)
        (repo / ".env").write_text("export RECONCILE_IMAGE_TAG=a3dcc41\n")
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "parent")
    code, out, err = run("-C", repo, "--offline", "status", "-o", "json")
    assert code == 0, err
    targets = [
        (c["component"], e["environment"], t)
        for c in json.loads(out)["components"]
        for e in c["environments"]
        for t in e["targets"]
    ]
    # the bot moves every target of the saas file subscribed to the channel, the case's among them
    subscribers = [
        (comp, env, t)
        for comp, env, t in targets
        if t["native"]["saas_file"] == info["saas_file"]
        and set(t["native"]["channels"]["subscribe"]) & set(info["channels_subscribed"])
    ]
    (named,) = [
        t
        for _, _, t in subscribers
        if t["native"]["resource_template"] == info["resource_template_name"]
        and t["native"]["namespace"] == info["target_namespace"]
    ]
    assert named["native"]["ref"] == info["old_ref"] and named["native"]["auto"] is True
    (env,) = [e for _, e, t in subscribers if t is named]
    assert env == info["target_environment"]  # (the others' namespaces are not among the files kept)
    for publisher in info["publishers_at_parent"]:  # the model reads the publishers' channels too
        assert any(
            p["native"]["saas_file"] == publisher["saas_file"]
            and p["native"]["namespace"] == publisher["namespace"]
            and publisher["channel"] in p["native"]["channels"]["publish"]
            and p["native"]["ref"] == publisher["ref"]
            for _, _, p in targets
        ), publisher
    (comp,) = {c for c, _, _ in subscribers}
    chosen = [arg for _, _, t in subscribers for arg in ("--target", t["target"])]
    code, out, err = run("-C", repo, "promote", comp, info["new_ref"], *chosen, "--offline", "--yes")
    assert code == 0, err
    file = info["saas_file"]
    before = (case / "before" / file).read_text().splitlines(keepends=True)
    mine = (repo / file).read_text().splitlines(keepends=True)
    changed = [i for i, (a, b) in enumerate(zip(before, mine)) if a != b and "target_config_hash:" not in a]
    assert len(before) == len(mine) and len(changed) == len({t["locations"][0]["line"] for _, _, t in subscribers})
    for i in changed:  # (the hashes of promotion_data: tests/test_native_channels_realdata.py)
        assert i + 1 in {t["locations"][0]["line"] for _, _, t in subscribers}
        assert mine[i] == before[i].replace(info["old_ref"], info["new_ref"])
    bot = (case / "after" / file).read_text()
    assert _without_hashes(yaml.load(bot, Loader=yaml.BaseLoader)) == _without_hashes(
        yaml.load("".join(mine), Loader=yaml.BaseLoader)
    )
    if not any(a.startswith("formatting") for a in info["also_changed"]):  # the bot kept the text: so did we
        theirs = bot.splitlines(keepends=True)
        assert [i for i, (a, b) in enumerate(zip(theirs, mine)) if a != b and "target_config_hash:" not in a] == []
