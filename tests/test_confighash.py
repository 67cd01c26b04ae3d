"""app-interface's target_config_hash, computed as qontract-reconcile computes it (native/confighash).

The 17 real bot promotions of ../shared/realdata (slow tier: they read the 2022-05-11 snapshot), then
synthetic saas files for each rule: which keys, what sanitize drops, the JSON text of parameters as
qontract-server's JavaScript writes it (checked against node where it is installed, slow tier), the
recipe by qontract-reconcile version and every refusal.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promoter.errors import Refused
from promoter.native import confighash
from promoter.native.confighash import (
    R1,
    R2,
    R3,
    R4,
    R5,
    T1,
    CannotCompute,
    config_hash,
    js_json,
    recipe_for,
    reconcile_version_from_dotenv,
    target_config,
    target_config_hash,
)

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "app-interface"
CASES = (
    sorted(p for p in (REALDATA / "auto-promotions").iterdir() if (p / "case.json").is_file())
    if (REALDATA / "auto-promotions").is_dir()
    else []
)
SNAPSHOT = REALDATA / "snapshot-2022-05-11.tar.gz"


# -- the 17 real promotions --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot_files() -> dict[str, bytes]:
    """From the 2022-05-11 tree: .env and data/dependencies/ (Jenkins and Quay instances), read once."""
    if not SNAPSHOT.is_file():
        pytest.skip("../shared/realdata is absent")
    out: dict[str, bytes] = {}
    with tarfile.open(SNAPSHOT, "r:gz") as tar:
        for member in tar:
            name = member.name.removeprefix("app-interface/")
            if member.isfile() and (name == ".env" or name.startswith("data/dependencies/")):
                handle = tar.extractfile(member)
                assert handle is not None
                out[name] = handle.read()
    return out


def case_reader(case: Path, snapshot_files: dict[str, bytes]) -> Callable[[str], object]:
    """A $ref read from the case's context (the files at the promotion's parent), else the snapshot."""

    def read(ref: str) -> object:
        path = case / "context" / "data" / ref.lstrip("/")
        if path.is_file():
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        if f"data{ref}" in snapshot_files:
            return yaml.safe_load(snapshot_files[f"data{ref}"].decode("utf-8"))
        raise FileNotFoundError(f"data{ref}")

    return read


def written_hashes(case: Path, saas_file: str, channel: str, parent_saas: str) -> set[str]:
    """The target_config_hash the bot wrote in `after` for `channel` and publisher `parent_saas`."""
    doc = yaml.safe_load((case / "after" / saas_file).read_text(encoding="utf-8"))
    return {
        item["target_config_hash"]
        for rt in doc["resourceTemplates"]
        for target in rt["targets"]
        for data in ((target.get("promotion") or {}).get("promotion_data") or [])
        if data["channel"] == channel
        for item in data["data"]
        if item.get("parent_saas") == parent_saas
    }


def pinned_at(case: dict[str, object], snapshot_files: dict[str, bytes]) -> str:
    """The qontract-reconcile App-SRE ran at the case's date. The cases do not carry .env: up to
    2022-05-24 it is the snapshot's pin (862eebc, 2022-05-10, same recipe since 2022-03-17); case 17
    (2022-05-24 14:56 UTC) ran a3dcc41 (merged 2022-05-24 11:09 UTC), the first with the Jenkins
    instance's serverUrl in the upstream of a target."""
    if str(case["date"]) >= "2022-05-24T12":
        return "a3dcc41"
    return reconcile_version_from_dotenv(snapshot_files[".env"].decode("utf-8"))


@pytest.mark.full
@pytest.mark.skipif(not CASES, reason="../shared/realdata is absent")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_bot_promotion_hash_is_reproduced(case: Path, snapshot_files: dict[str, bytes]) -> None:
    meta = json.loads((case / "case.json").read_text(encoding="utf-8"))
    read = case_reader(case, snapshot_files)
    version = pinned_at(meta, snapshot_files)
    assert meta["publishers_at_parent"]
    for publisher in meta["publishers_at_parent"]:
        saas = yaml.safe_load((case / "context" / publisher["saas_file"]).read_text(encoding="utf-8"))
        rt_index, target_index = publisher["target_index"]
        got = target_config_hash(saas, rt_index, target_index, read, version, where=publisher["saas_file"])
        wanted = written_hashes(case, meta["saas_file"], publisher["channel"], saas["name"])
        assert wanted, "the case's after/ has no hash for this publisher"
        assert {got} == wanted, (
            f"{publisher['saas_file']} {publisher['target_index']} with qontract-reconcile {version}"
        )


@pytest.mark.full
@pytest.mark.skipif(not CASES, reason="../shared/realdata is absent")
def test_the_recipe_is_the_versions_a_real_upstream_target_before_and_after(snapshot_files: dict[str, bytes]) -> None:
    """Case 17's publisher has an upstream job: the hash the bot wrote before (with the older
    qontract-reconcile, same config) is R2's, the one it wrote after is R3's: the version decides."""
    (case,) = [c for c in CASES if c.name.startswith("17-")]
    meta = json.loads((case / "case.json").read_text(encoding="utf-8"))
    (publisher,) = meta["publishers_at_parent"]
    saas = yaml.safe_load((case / "context" / publisher["saas_file"]).read_text(encoding="utf-8"))
    read = case_reader(case, snapshot_files)
    old = target_config_hash(saas, *publisher["target_index"], read, "862eebc")
    new = target_config_hash(saas, *publisher["target_index"], read, "a3dcc41")
    before = yaml.safe_load((case / "before" / meta["saas_file"]).read_text(encoding="utf-8"))
    before_hashes = {
        item["target_config_hash"]
        for rt in before["resourceTemplates"]
        for t in rt["targets"]
        for d in ((t.get("promotion") or {}).get("promotion_data") or [])
        for item in d["data"]
    }
    assert old != new
    assert old in before_hashes
    assert {new} == written_hashes(case, meta["saas_file"], publisher["channel"], saas["name"])


# -- a synthetic repository ----------------------------------------------------------------------------

SHA = "0123456789abcdef0123456789abcdef01234567"
DOCS = {
    "/services/app/namespaces/stage.yml": """
$schema: /openshift/namespace-1.yml
labels: {service: app}
name: app-stage
description: the stage namespace
cluster: {$ref: /openshift/c1/cluster.yml}
app: {$ref: /services/app/app.yml}
environment: {$ref: /products/app/environments/stage.yml}
networkPoliciesAllow: [{$ref: /services/other/namespaces/x.yml}]
""",
    "/openshift/c1/cluster.yml": """
$schema: /openshift/cluster-1.yml
name: c1
serverUrl: https://api.c1.example.com:6443
consoleUrl: https://console.c1.example.com
spec: {version: 4.10.8}
""",
    "/services/app/app.yml": "$schema: /app-sre/app-1.yml\nname: app\ndescription: the app\n",
    "/products/app/environments/stage.yml": "$schema: /app-sre/environment-1.yml\nname: stage\nparameters: {A: 1}\n",
    "/dependencies/ci-int/ci-int.yml": """
$schema: /dependencies/jenkins-instance-1.yml
name: ci-int
serverUrl: https://ci.int.example.com
""",
    "/dependencies/quay/org.yml": """
$schema: /dependencies/quay-org-1.yml
name: myorg
instance: {$ref: /dependencies/quay/quay.yml}
""",
    "/dependencies/quay/quay.yml": "$schema: /dependencies/quay-instance-1.yml\nname: quay.io\nurl: quay.io\n",
}
SAAS = f"""
$schema: /app-sre/saas-file-2.yml
name: app-deploy
app: {{$ref: /services/app/app.yml}}
managedResourceTypes: [Deployment, Service]
parameters:
  IMAGE: quay.io/myorg/app
resourceTemplates:
- name: app
  url: https://github.com/example/app
  path: /openshift/app.yaml
  parameters:
    REPLICAS: 2
  targets:
  - namespace:
      $ref: /services/app/namespaces/stage.yml
    ref: {SHA}
    parameters:
      ENV: stage
    promotion:
      publish: [app-stage-deploy-success]
"""


def docs(**changed: str) -> dict[str, str]:
    return {**DOCS, **{ref: text for ref, text in changed.items()}}


def reader(texts: Mapping[str, str]) -> Callable[[str], object]:
    def read(ref: str) -> object:
        return yaml.safe_load(texts[ref])

    return read


def saas(text: str = SAAS) -> dict[str, object]:
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def target(doc: dict[str, object]) -> dict[str, object]:
    """Target 0 of resource template 0 (to edit it)."""
    rts = doc["resourceTemplates"]
    assert isinstance(rts, list)
    return rts[0]["targets"][0]  # type: ignore[no-any-return]


def config(
    doc: dict[str, object] | None = None, recipe: confighash.Recipe = R2, texts: Mapping[str, str] = DOCS
) -> dict[str, object]:
    return target_config(saas() if doc is None else doc, 0, 0, reader(texts), recipe, where="data/app/deploy.yml")


def digest(
    doc: dict[str, object] | None = None, recipe: confighash.Recipe = R2, texts: Mapping[str, str] = DOCS
) -> str:
    return config_hash(config(doc, recipe, texts))


def test_the_config_is_the_queried_target_with_the_sanitized_namespace_and_the_added_keys() -> None:
    assert config() == {
        "namespace": {
            "name": "app-stage",
            "cluster": {"name": "c1", "serverUrl": "https://api.c1.example.com:6443"},
            "app": {"name": "app"},
        },
        "ref": SHA,
        "promotion": {"auto": None, "publish": ["app-stage-deploy-success"], "subscribe": None, "promotion_data": None},
        "parameters": '{"ENV":"stage"}',
        "secretParameters": None,
        "upstream": None,
        "disable": None,
        "delete": None,
        "saas_file_parameters": '{"IMAGE":"quay.io/myorg/app"}',
        "saas_file_managed_resource_types": ["Deployment", "Service"],
        "url": "https://github.com/example/app",
        "path": "/openshift/app.yaml",
        "rt_parameters": '{"REPLICAS":2}',
    }


def test_the_hash_is_sha256_of_the_sorted_json_16_hex_digits() -> None:
    made = config()
    text = json.dumps({key: made[key] for key in reversed(list(made))}, sort_keys=True)
    assert digest() == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert target_config_hash(saas(), 0, 0, reader(DOCS), "862eebc") == digest()


def test_the_order_of_keys_in_the_files_does_not_matter_outside_parameters() -> None:
    doc = saas()
    original = target(saas())
    target(doc).clear()
    for key in reversed(list(original)):  # the same target, its keys in the reverse order
        target(doc)[key] = original[key]
    cluster = DOCS["/openshift/c1/cluster.yml"].strip().splitlines()
    reordered = docs(**{"/openshift/c1/cluster.yml": "\n".join([cluster[0], *reversed(cluster[1:])])})
    assert list(target(doc)) != list(original)
    assert digest(doc, texts=reordered) == digest()


def test_the_order_of_keys_inside_parameters_is_the_files_as_json_text() -> None:
    """qontract-server serves parameters as JSON text, keys in file order: reordering changes the hash."""
    two = SAAS.replace("      ENV: stage\n", "      ENV: stage\n      LOG: debug\n")
    swapped = SAAS.replace("      ENV: stage\n", "      LOG: debug\n      ENV: stage\n")
    assert config(saas(two))["parameters"] == '{"ENV":"stage","LOG":"debug"}'
    assert config(saas(swapped))["parameters"] == '{"LOG":"debug","ENV":"stage"}'
    assert digest(saas(two)) != digest(saas(swapped))


def test_a_null_field_is_the_same_as_an_absent_one_and_still_a_key() -> None:
    doc = saas()
    target(doc).update({"disable": None, "upstream": None, "secretParameters": None, "parameters": None})
    without = saas()
    del target(without)["parameters"]
    assert digest(doc) == digest(without)
    assert config(doc)["parameters"] is None
    assert "secretParameters" in config(doc) and "disable" in config(doc)
    assert "upstream" in config(doc, R1) and "secretParameters" not in config(doc, R1)


def test_sanitize_drops_every_namespace_and_cluster_field_but_names_and_the_server() -> None:
    richer = docs(
        **{
            "/services/app/namespaces/stage.yml": DOCS["/services/app/namespaces/stage.yml"]
            + "managedRoles: true\nlimitRanges: {$ref: /x.yml}\nterraformResources: [{provider: rds}]\n",
            "/openshift/c1/cluster.yml": DOCS["/openshift/c1/cluster.yml"].replace("4.10.8", "4.11.1")
            + "internal: true\n",
            "/services/app/app.yml": DOCS["/services/app/app.yml"] + "serviceOwners: [{name: me}]\n",
            "/products/app/environments/stage.yml": "name: another-env\nparameters: {A: 2}\n",
        }
    )
    assert digest(texts=richer) == digest()
    moved = docs(**{"/openshift/c1/cluster.yml": DOCS["/openshift/c1/cluster.yml"].replace("api.c1", "api.c2")})
    renamed = docs(**{"/services/app/app.yml": DOCS["/services/app/app.yml"].replace("name: app", "name: app2")})
    assert digest(texts=moved) != digest()
    assert digest(texts=renamed) != digest()


@pytest.mark.parametrize("where", ["saas_file_parameters", "rt_parameters", "parameters"])
def test_each_level_of_parameters_is_its_own_key(where: str) -> None:
    doc = saas()
    rt = doc["resourceTemplates"][0]  # type: ignore[index]
    holder = {"saas_file_parameters": doc, "rt_parameters": rt, "parameters": target(doc)}[where]
    holder["parameters"] = {**(holder.get("parameters") or {}), "EXTRA": "x"}
    made = config(doc)
    assert json.loads(str(made[where]))["EXTRA"] == "x"
    assert digest(doc) != digest()
    others = {"saas_file_parameters", "rt_parameters", "parameters"} - {where}
    assert all(made[key] == config()[key] for key in others)


def test_parameters_are_json_as_javascript_writes_it() -> None:
    doc = saas()
    target(doc)["parameters"] = yaml.safe_load(
        "B: true\nN: 1.0\nS: 1.0e-7\nBIG: 1.0e+21\nHUGE: 12345678901234567890\n10: ten\n2: two\nU: é\n"
        "L: [1, {x: null}]\nY: yes\nE: 1e-7\n"
    )
    # YAML 1.1 as PyYAML reads it: `yes` is true, `1e-7` (no dot) a string
    assert config(doc)["parameters"] == (
        '{"2":"two","10":"ten","B":true,"N":1,"S":1e-7,"BIG":1e+21,"HUGE":12345678901234567000,'
        '"U":"é","L":[1,{"x":null}],"Y":true,"E":"1e-7"}'
    )
    # from the typed rewrite, Python writes it again: its floats, non-ASCII escaped
    assert config(doc, T1)["parameters"] == (
        '{"2":"two","10":"ten","B":true,"N":1,"S":1e-07,"BIG":1e+21,"HUGE":12345678901234567000,'
        '"U":"\\u00e9","L":[1,{"x":null}],"Y":true,"E":"1e-7"}'
    )


def test_the_typed_rewrite_hashes_plain_targets_as_before() -> None:
    assert digest(recipe=T1) == digest(recipe=R5)
    doc = saas()
    target(doc)["parameters"] = {"U": "é"}
    assert digest(doc, T1) != digest(doc, R5)


def test_secret_parameters_from_R2() -> None:
    doc = saas()
    target(doc)["secretParameters"] = [{"name": "DB", "secret": {"path": "app/db", "field": "url"}}]
    assert config(doc, R2)["secretParameters"] == [
        {"name": "DB", "secret": {"path": "app/db", "field": "url", "version": None, "format": None}}
    ]
    assert "secretParameters" not in config(doc, R1)
    assert digest(doc, R2) != digest(recipe=R2)


def test_upstream_instance_server_url_from_R3() -> None:
    doc = saas()
    target(doc)["upstream"] = {"instance": {"$ref": "/dependencies/ci-int/ci-int.yml"}, "name": "app-build-master"}
    assert config(doc, R2)["upstream"] == {"instance": {"name": "ci-int"}, "name": "app-build-master"}
    assert config(doc, R3)["upstream"] == {
        "instance": {"name": "ci-int", "serverUrl": "https://ci.int.example.com"},
        "name": "app-build-master",
    }


def test_target_name_from_R4_and_image_from_R5() -> None:
    doc = saas()
    target(doc)["name"] = "stage"
    target(doc)["image"] = {"org": {"$ref": "/dependencies/quay/org.yml"}, "name": "app"}
    assert "name" not in config(doc, R3) and "image" not in config(doc, R4)
    assert config(doc, R4)["name"] == "stage"
    assert config(doc, R5)["image"] == {"org": {"name": "myorg", "instance": {"url": "quay.io"}}, "name": "app"}
    assert config(saas(), R5)["name"] is None and config(saas(), R5)["image"] is None


def test_promotion_data_is_part_of_the_publishers_config() -> None:
    doc = saas()
    target(doc)["promotion"] = {
        "auto": True,
        "subscribe": ["app-test-success"],
        "promotion_data": [
            {
                "channel": "app-test-success",
                "data": [{"type": "parent_saas_config", "parent_saas": "t", "target_config_hash": "0" * 16}],
            }
        ],
    }
    assert config(doc)["promotion"] == {
        "auto": True,
        "publish": None,
        "subscribe": ["app-test-success"],
        "promotion_data": [
            {
                "channel": "app-test-success",
                "data": [{"type": "parent_saas_config", "parent_saas": "t", "target_config_hash": "0" * 16}],
            }
        ],
    }
    changed = saas()
    target(changed)["promotion"] = {**target(doc)["promotion"]}  # type: ignore[dict-item]
    target(changed)["promotion"]["promotion_data"] = [  # type: ignore[index]
        {
            "channel": "app-test-success",
            "data": [{"type": "parent_saas_config", "parent_saas": "t", "target_config_hash": "1" * 16}],
        }
    ]
    assert digest(doc) != digest(changed)


def test_a_target_in_its_own_file_is_read_through_its_ref() -> None:
    inline = target(saas())
    doc = saas()
    doc["resourceTemplates"][0]["targets"] = [{"$ref": "/services/app/targets/stage.yml"}]  # type: ignore[index]
    texts = docs(
        **{"/services/app/targets/stage.yml": yaml.safe_dump({"$schema": "/app-sre/saas-target-1.yml", **inline})}
    )
    assert digest(doc, texts=texts) == digest()


def test_a_checkout_is_read_under_data_and_nowhere_else(tmp_path: Path) -> None:
    for ref, text in DOCS.items():
        path = tmp_path / "data" / ref.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "secret.yml").write_text("name: outside\n", encoding="utf-8")
    (tmp_path / "data" / "link.yml").symlink_to(tmp_path / "secret.yml")
    read = confighash.repository_reader(str(tmp_path))
    assert target_config(saas(), 0, 0, read, R2) == config()
    assert read("/nothing/here.yml") is None
    for escape in ("/../secret.yml", "/link.yml"):
        with pytest.raises(ValueError, match="leads out of data/"):
            read(escape)
    doc = saas()
    target(doc)["namespace"] = {"$ref": "/../secret.yml"}
    with pytest.raises(CannotCompute, match=r"cannot be read \(ValueError: /\.\./secret\.yml leads out of data/\)"):
        target_config(doc, 0, 0, read, R2)


# -- the version -------------------------------------------------------------------------------------


def test_the_version_is_read_from_dotenv() -> None:
    env = "# export RECONCILE_IMAGE_TAG=0000000\nexport RECONCILE_REPO=x\nexport RECONCILE_IMAGE_TAG=862eebc\n"
    assert reconcile_version_from_dotenv(env) == "862eebc"
    assert reconcile_version_from_dotenv("RECONCILE_IMAGE_TAG='a3dcc41'  # pinned\n") == "a3dcc41"
    with pytest.raises(CannotCompute, match=r"\.env pins no qontract-reconcile version"):
        reconcile_version_from_dotenv("export VALIDATOR_IMAGE_TAG=0cb6406\n")


@pytest.mark.parametrize(
    ("first", "recipe"),
    [
        ("2ea43e5ba", R1),
        ("d8405c19f", R2),
        ("a3dcc41da", R3),
        ("528d46c7c", R4),
        ("d74c16688", R3),
        ("d56f51c03", R4),
        ("8c9e94007", R5),
        ("ad71eaad6", T1),
        ("691d65954", R5),
        ("82932b3f0", T1),
        ("48cb206af", R5),
        ("353ff7cc2", T1),
        ("cdf98b1a1", T1),
    ],
)
def test_each_recipe_starts_at_the_commit_that_changed_the_keys(first: str, recipe: confighash.Recipe) -> None:
    from promoter.native._reconcile_commits import COMMITS

    commits = COMMITS.split()
    index = next(i for i, c in enumerate(commits) if c.startswith(first))
    assert recipe_for(first[:7]) is recipe
    assert recipe_for(commits[index]) is recipe
    try:
        previous: confighash.Recipe | None = recipe_for(commits[index - 1]) if index else None
    except CannotCompute:  # the namespace selector window, before cdf98b1a1
        previous = None
    assert previous is not recipe
    if not index:  # 90c029c: 2021-12-30, the commit before 2ea43e5ba
        with pytest.raises(CannotCompute, match="not a version whose target_config_hash recipe promoter knows"):
            recipe_for("90c029c")


def test_an_unknown_version_is_refused_naming_it_and_the_covered_range() -> None:
    for version in ("90c029c", "45321557f", "f8dc7d4", "1234567"):
        with pytest.raises(CannotCompute) as caught:
            target_config_hash(saas(), 0, 0, reader(DOCS), version)
        message = str(caught.value)
        assert version in message and "2ea43e5 (2022-01-03)" in message and "a538da7 (2023-04-06)" in message
        assert isinstance(caught.value, Refused)


def test_the_namespace_selector_window_and_malformed_or_ambiguous_tags_are_refused() -> None:
    with pytest.raises(CannotCompute, match=r"31ca9ea\.\.cdf98b1\^"):
        recipe_for("31ca9ea")
    for bad in ("862eeb", "862eebcz", "latest", ""):
        with pytest.raises(CannotCompute, match="not a qontract-reconcile commit"):
            recipe_for(bad)
    with pytest.raises(CannotCompute, match=r"more than one commit.*at least 10 hex digits"):
        recipe_for("08fa247")
    assert recipe_for("08fa2472e2") is R5
    assert recipe_for("862EEBC") is R2


def test_the_commit_table_is_whole_and_ordered() -> None:
    from promoter.native._reconcile_commits import COMMITS, LONGER

    commits = COMMITS.split()
    assert len(commits) == len(set(commits)) == 1190
    assert commits[0].startswith("2ea43e5ba") and commits[-1].startswith("a538da70c")
    assert all(len(c) == 12 and all(ch in "0123456789abcdef" for ch in c) for c in commits)
    firsts = [first for first, _ in confighash._BOUNDARIES]
    assert [commits.index(f) for f in firsts] == sorted(commits.index(f) for f in firsts)
    assert set(LONGER) <= set(commits)


# -- refusals ------------------------------------------------------------------------------------------


def refused(
    doc: dict[str, object] | None = None, texts: Mapping[str, str] = DOCS, recipe: confighash.Recipe = R2
) -> str:
    with pytest.raises(CannotCompute) as caught:
        config(doc, recipe, texts)
    return str(caught.value)


def test_a_file_that_cannot_be_read_is_refused_naming_it() -> None:
    missing = {k: v for k, v in DOCS.items() if k != "/openshift/c1/cluster.yml"}
    message = refused(texts=missing)
    assert message.startswith("cannot compute target_config_hash: ")
    assert "/openshift/c1/cluster.yml" in message and "cannot be read (KeyError" in message
    via = "(the $ref at data/app/deploy.yml: resourceTemplates[0].targets[0].namespace)"
    assert f"/services/app/namespaces/stage.yml {via}" in message

    def none(ref: str) -> object:
        return None if ref.endswith("app.yml") else yaml.safe_load(DOCS[ref])

    with pytest.raises(CannotCompute, match=r"/services/app/app\.yml names no file of the repository"):
        target_config(saas(), 0, 0, none, R2)
    broken = docs(**{"/services/app/app.yml": "name: [unclosed\n"})
    assert "cannot be read (" in refused(texts=broken)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda t: t.update(ref=1234567), "ref: is a number (1234567), app-interface's schema wants a string"),
        (lambda t: t.update(parameters={"D": yaml.safe_load("2022-05-11")}), "parameters.D: is a date (2022-05-11)"),
        (lambda t: t.update(parameters={"X": float("nan")}), "parameters.X: is nan, which JSON cannot hold"),
        (lambda t: t.update(parameters={1: "a", "1": "b"}), "has the key '1' twice"),
        (lambda t: t.update(parameters={"$ref": "/p.yml"}), "parameters: is a $ref"),
        (lambda t: t.update(parameters=["A"]), "parameters: is a list, app-interface's schema wants a mapping"),
        (lambda t: t.update(namespace={"$ref": "/ns.yml#/x"}), "is not a plain path under data/"),
        (lambda t: t.pop("namespace"), "namespace: is missing, a mapping is needed"),
        (lambda t: t.update(disable="yes"), "disable: is a string ('yes'), app-interface's schema wants true or false"),
        (
            lambda t: t.update(promotion={"promotion_data": [{"channel": "c", "data": [{"type": "other"}]}]}),
            "data[0].type: is 'other'; the only promotion data type is parent_saas_config",
        ),
        (
            lambda t: t.update(secretParameters=[{"name": "A", "secret": {"path": "p", "field": "f", "version": "3"}}]),
            "GraphQL wants a 32-bit integer",
        ),
    ],
)
def test_what_qontract_reconcile_could_not_hash_is_refused_at_its_key(
    edit: Callable[[dict[str, object]], object], words: str
) -> None:
    doc = saas()
    edit(target(doc))
    message = refused(doc)
    assert "data/app/deploy.yml: resourceTemplates[0].targets[0]" in message
    assert words in message


def test_other_saas_files_and_indexes_are_refused() -> None:
    v1 = saas(SAAS.replace("saas-file-2", "saas-file-1"))
    assert "not /app-sre/saas-file-2.yml" in refused(v1)
    with pytest.raises(CannotCompute, match=r"has no targets\[3\]"):
        target_config(saas(), 0, 3, reader(DOCS), R2)
    with pytest.raises(CannotCompute, match=r"has no resourceTemplates\[1\]"):
        target_config(saas(), 1, 0, reader(DOCS), R2)
    mixed = saas()
    mixed["resourceTemplates"][0]["targets"].append({"$ref": "/t.yml"})  # type: ignore[index]
    assert "mixes $ref targets with inline ones" in refused(mixed)


def test_text_from_the_repository_is_shown_inert() -> None:
    doc = saas()
    target(doc)["disable"] = "\x1b]0;title\x07"
    message = refused(doc)
    assert "\x1b" not in message and "\\x1b" in message


def test_importing_it_loads_no_yaml_and_not_the_commit_table() -> None:
    code = (
        "import sys, promoter.native.confighash\n"
        "print(sorted(m for m in ('yaml', 'promoter.native._reconcile_commits', 'dataclasses') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- JSON.stringify, checked against JavaScript itself ---------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=8),
)
keys = st.one_of(
    st.text(max_size=6),
    st.integers(min_value=0, max_value=2**33).map(str),
    st.sampled_from(["0", "01", "4294967294", "4294967295", "-1"]),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=12
)


@pytest.mark.full  # node started 8 times: seconds
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(values, min_size=30, max_size=60))
def test_js_json_is_what_javascript_writes_of_the_bundle(batch: list[object]) -> None:
    """qontract-validator writes the bundle with Python's json.dumps; qontract-server JSON.parse-s it
    and serves JSON fields with JSON.stringify: node does that to each value and must agree."""
    bundles = [json.dumps(value) for value in batch]
    script = (
        "const chunks = []; process.stdin.on('data', c => chunks.push(c)); process.stdin.on('end', () => {"
        " const texts = JSON.parse(Buffer.concat(chunks).toString('utf8'));"
        " process.stdout.write(JSON.stringify(texts.map(t => JSON.stringify(JSON.parse(t))))); });"
    )
    node = shutil.which("node")
    assert node is not None
    out = subprocess.run([node, "-e", script], input=json.dumps(bundles), capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [js_json(value) for value in batch]
