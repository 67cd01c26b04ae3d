"""app-interface native: a checkout with no promotion.yaml is promoted from its own saas files.

Each test runs promoter on a small app-interface tree of its own (tests/native_tree.py): status,
plan, promote, check, history, reconcile, check --base; with a promotion.yaml merged by url.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import git, snapshot, write_tree
from tests.native_tree import (
    CART,
    CART_SAAS,
    CART_TEXT,
    HASHABLE,
    SAAS,
    SAAS_TEXT,
    SHA0,
    SHA1,
    SHA_C,
    SHA_T,
    SHOP,
    TARGET_FILE,
    TARGET_TEXT,
    TOOLS,
    native_repo,
)
from tests.test_json_output import common

Run = Callable[..., tuple[int, str, str]]
NEW = "2b" * 20
FIRST = "  targets:\n  - namespace:\n      $ref: /services/shop/namespaces/shop-stage.yml"
# a target put before the first one
NEW_FIRST = (
    "  targets:\n  - namespace:\n      $ref: /services/shop/namespaces/monitoring-production.yml\n    ref: main\n"
    + FIRST.removeprefix("  targets:\n")
)


def _status(run: Run, repo: Path, *more: str, code: int = 0) -> dict[str, Any]:
    got, out, err = run("-C", repo, "--offline", "status", "-o", "json", *more)
    assert got == code, err
    doc: dict[str, Any] = json.loads(out)
    assert common(doc) == []
    return doc


def _targets(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(component, target) -> the target's object, with its environment's name added."""
    out = {}
    for comp in doc["components"]:
        for env in comp["environments"]:
            for t in env["targets"]:
                out[(comp["component"], t["target"])] = {**t, "environment": env["environment"]}
    return out


def test_without_promotion_yaml_every_resource_template_url_is_a_component(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai")
    doc = _status(run, repo)
    # two urls of one repository (a trailing .git) are one component; two repositories whose last
    # path segment is `shop` are named by owner; the docs file that names the schema is no saas file
    assert [c["component"] for c in doc["components"]] == ["acme-shop", "cart", "tools-shop"]
    targets = _targets(doc)
    assert sorted(name for comp, name in targets if comp == "acme-shop") == [
        "saas-shop/shop-dashboards/monitoring",
        "saas-shop/shop-dashboards/shop-stage",
        "saas-shop/shop/shop-stage",
        "saas-shop/shop/shop@east",  # two namespaces named `shop`: told apart by their cluster
        "saas-shop/shop/shop@west",
    ]
    assert sorted(name for comp, name in targets if comp == "cart") == [
        "cart/cart/cart-canary",  # a target's own `name` names it
        "cart/cart/cart-main",
        "cart/cart/namespaceSelector",
        "cart/cart/shop-stage",
    ]


def test_status_json_gives_each_target_its_origin(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai")
    targets = _targets(_status(run, repo))
    east = targets[("acme-shop", "saas-shop/shop/shop@east")]
    assert east["environment"] == "shop-production"
    assert east["locations"] == [
        {"file": SAAS, "line": 26, "column": 11, "value": {"value": SHA1, "sha": SHA1}}
    ]  # the sha inside its quotes
    assert east["native"] == {
        "file": SAAS,
        "line": 24,
        "saas_file": SAAS,
        "saas_name": "saas-shop",
        "resource_template": "shop",
        "url": SHOP,
        "namespace": "/services/shop/namespaces/shop-production-east.yml",
        "namespaces": ["data/services/shop/namespaces/shop-production-east.yml"],
        "environments": [
            {"name": "shop-production", "type": "production", "file": "data/products/shop/environments/production.yml"}
        ],
        "ref": SHA1,
        "channels": {"publish": [], "subscribe": ["shop-stage-deploy-success"]},
        "auto": True,
        "soak_days": 1,
        "schedule": "0 8 * * 1-5",
        "promotion_line": 27,
        "promotion_data": [
            {
                "channel": "shop-stage-deploy-success",
                "line": 34,
                "data": [
                    {"parent_saas": "saas-shop", "target_config_hash": "0123456789abcdef", "type": "parent_saas_config"}
                ],
            }
        ],
        "disabled": False,
    }
    stage = targets[("acme-shop", "saas-shop/shop/shop-stage")]
    assert (stage["environment"], stage["locations"], stage["tracking"]) == (
        "shop-stage",
        [],
        [{"file": SAAS, "line": 20, "value": "master"}],  # reported, never changed
    )
    assert stage["native"]["channels"] == {"publish": ["shop-stage-deploy-success"], "subscribe": []}
    assert stage["native"]["auto"] is False and stage["warnings"] == []
    apart = targets[("acme-shop", "saas-shop/shop-dashboards/shop-stage")]
    assert (apart["native"]["file"], apart["native"]["saas_file"], apart["locations"][0]["line"]) == (
        TARGET_FILE,
        SAAS,
        5,
    )  # its ref is written in the target file
    selector = targets[("cart", "cart/cart/namespaceSelector")]
    assert (selector["environment"], selector["native"]["namespace"], selector["native"]["namespaces"]) == (
        "shop-production",
        None,
        ["data/services/shop/namespaces/shop-production-west.yml"],  # the namespace on cluster west
    )


def test_the_same_tree_gives_the_same_names_whatever_the_order_of_the_files(tmp_path: Path, run: Run) -> None:
    one = _status(run, native_repo(tmp_path / "one"))
    # the same saas files, their resource templates in another order and under other file names
    rts = SAAS_TEXT.split("resourceTemplates:\n")
    parts = rts[1].split("\n- name: ")
    swapped = (
        rts[0] + "resourceTemplates:\n- name: " + "\n- name: ".join([parts[2], parts[1], parts[0][len("- name: ") :]])
    )
    other = native_repo(tmp_path / "two", {SAAS: swapped})
    git(other, "mv", SAAS, "data/services/shop/cicd/a-saas-shop.yaml")
    git(other, "commit", "-qm", "moved")
    two = _status(run, other)
    assert [c["component"] for c in two["components"]] == [c["component"] for c in one["components"]]
    assert sorted(_targets(two)) == sorted(_targets(one))


def test_component_names_are_the_last_segment_then_owner_name_then_longer() -> None:
    from promoter.native.components import names

    keys = [
        "https://github.com/acme/shop",
        "https://gitlab.example.com/tools/shop",
        "https://github.com/acme/cart",
        "https://github.com/a/x/web",
        "https://github.com/b/x/web",  # owner-name alike too: the host comes in
        "git@github.com:acme/Api.lock",  # scp-like; a name git would refuse as a branch
    ]
    got = names(keys)
    assert got == {
        "https://github.com/acme/shop": "acme-shop",
        "https://gitlab.example.com/tools/shop": "tools-shop",
        "https://github.com/acme/cart": "cart",
        "https://github.com/a/x/web": "a-x-web",
        "https://github.com/b/x/web": "b-x-web",
        "git@github.com:acme/Api.lock": "Api",
    }
    assert names(reversed(keys)) == got
    # a name promotion.yaml gives a component is never given to another
    assert names(["https://github.com/acme/cart"], reserved=["cart"]) == {"https://github.com/acme/cart": "acme-cart"}


def test_promote_changes_exactly_the_ref_of_the_target(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai")
    before = snapshot(repo)
    code, out, err = run(
        "-C", repo, "promote", "acme-shop", NEW, "--target", "saas-shop/shop/shop@west", "--offline", "--yes"
    )
    assert code == 0, err
    after = snapshot(repo)
    # a `- ref:` list item with trailing spaces: only the sha changed
    assert after[SAAS] == before[SAAS].replace(f"  - ref: {SHA1}  \n".encode(), f"  - ref: {NEW}  \n".encode())
    assert {k for k in after if after[k] != before[k]} == {SAAS}


def test_promote_an_environment_keeps_quotes_and_comments_and_follows_a_ref_into_its_target_file(
    tmp_path: Path, run: Run
) -> None:
    from promoter.native.confighash import repository_reader, target_config_hash

    repo = native_repo(tmp_path / "ai", HASHABLE)
    before = snapshot(repo)
    for env in ("shop-production", "shop-stage"):
        # (east promotes on its schedule, Monday to Friday at 08:00 UTC)
        code, out, err = run(
            "-C", repo, "promote", "acme-shop", NEW, "--env", env, "--offline", "--yes", "--ignore-window"
        )
        assert code == 0, err
    after = snapshot(repo)
    # east subscribes to what shop-stage publishes: its promotion_data holds shop-stage's hash now
    stage = target_config_hash(yaml.safe_load(SAAS_TEXT), 0, 0, repository_reader(str(repo)), "862eebc")
    assert after[SAAS].decode() == (
        SAAS_TEXT.replace(f'ref: "{SHA1}"   # v1.2.3', f'ref: "{NEW}"   # v1.2.3')
        .replace(f"- ref: {SHA1}  \n", f"- ref: {NEW}  \n")
        .replace(f"ref: '{SHA1}'", f"ref: '{NEW}'")
        .replace("target_config_hash: 0123456789abcdef", f"target_config_hash: {stage}")
    )  # tools' ref (another component) and `ref: master` (a branch) stay
    assert after[TARGET_FILE].decode() == TARGET_TEXT.replace(SHA0, NEW)
    assert {k for k in after if after[k] != before[k]} == {SAAS, TARGET_FILE}


def test_plan_of_a_branch_tracking_target_changes_nothing(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai")
    code, out, err = run(
        "-C", repo, "plan", "cart", NEW, "--target", "cart/cart/shop-stage", "--offline", "--detailed-exitcode"
    )
    assert code == 0, err  # nothing to change: `ref: main` is followed, never pinned


def test_an_unknown_target_or_component_names_the_saas_files(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai")
    code, _, err = run("-C", repo, "plan", "shop", NEW, "--offline")
    assert code == 2
    assert "unknown component 'shop'" in err and "the saas files (no promotion.yaml) define: acme-shop" in err
    code, _, err = run("-C", repo, "plan", "acme-shop", NEW, "--offline", "--target", "saas-shop/shop/shop")
    assert code == 2 and "unknown target 'saas-shop/shop/shop'" in err


def test_identity_survives_items_moving_around(tmp_path: Path, run: Run) -> None:
    """A target is found by its template, namespace and name, not by its position: history reads
    older versions of the file, where other items stood before it."""
    repo = native_repo(tmp_path / "ai")
    moved = SAAS_TEXT.replace(FIRST, NEW_FIRST, 1)
    write_tree(repo, {SAAS: moved})
    git(repo, "commit", "-qam", "a new target first")
    code, out, err = run(
        "-C", repo, "promote", "acme-shop", NEW, "--target", "saas-shop/shop/shop@west", "--offline", "--yes"
    )
    assert code == 0, err
    assert (repo / SAAS).read_text() == moved.replace(f"- ref: {SHA1}  \n", f"- ref: {NEW}  \n")


def test_check_is_clean_and_notes_what_saas_files_do_on_purpose(tmp_path: Path, run: Run) -> None:
    # cart's canary runs another version in production: a note, not a failure
    repo = native_repo(tmp_path / "ai", {CART_SAAS: CART_TEXT.replace(f"ref: {SHA_C}\n", f"ref: {NEW}\n", 1)})
    code, out, err = run("-C", repo, "check", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] is True and common(doc) == []
    (note,) = doc["problems"]
    assert (note["kind"], note["level"], note["component"], note["environment"], note["file"]) == (
        "environment-disagrees",
        "note",
        "cart",
        "shop-production",
        CART_SAAS,
    )


def test_check_finds_what_the_model_cannot_resolve(tmp_path: Path, run: Run) -> None:
    broken = SAAS_TEXT.replace(
        "/services/shop/namespaces/shop-production-west.yml", "/services/shop/namespaces/gone.yml"
    )
    repo = native_repo(tmp_path / "ai", {SAAS: broken.replace(f"    ref: {SHA_T}\n", "")})
    code, out, err = run("-C", repo, "check")
    assert code == 3
    assert (
        f"{SAAS}:39: acme-shop: target of 'shop': namespace data/services/shop/namespaces/gone.yml: no such file\n"
        in out
    )  # at the target's line, for its component
    assert (
        f"{SAAS}:53: tools-shop: target 'saas-shop/tools/shop-stage' (saas target tools: "
        "/services/shop/namespaces/shop-stage.yml) located no pinned 40-hex sha\n" in out
    )  # a target without a ref
    # the rest still stands: status shows the target, in no environment it can tell (exit 3: the
    # target without a ref is an ERROR row)
    doc = _status(run, repo, code=3)
    targets = _targets(doc)
    assert targets[("acme-shop", "saas-shop/shop/gone")]["environment"] == "unresolved"
    errors = [(c["component"], e["target"]) for c in doc["components"] for v in c["environments"] for e in v["errors"]]
    assert errors == [("tools-shop", "saas-shop/tools/shop-stage")]


def test_a_url_promoter_would_not_fetch_is_no_component(tmp_path: Path, run: Run) -> None:
    hostile = SAAS_TEXT.replace(f"url: {TOOLS}", "url: ext::sh -c touch% /tmp/pwned").replace(
        f"url: {SHOP}.git", "url: /srv/local/shop"
    )
    repo = native_repo(tmp_path / "ai", {SAAS: hostile})
    doc = _status(run, repo)
    assert [c["component"] for c in doc["components"]] == ["cart", "shop"]
    code, out, _ = run("-C", repo, "check")
    assert code == 3
    assert "resource template 'tools': url 'ext::sh -c touch% /tmp/pwned' is not a repository URL" in out
    assert "resource template 'shop-dashboards': url '/srv/local/shop' is not a repository URL" in out


def test_reconcile_decides_for_every_component_offline(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai")
    code, out, err = run("-C", repo, "reconcile", "--dry-run", "--offline", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert common(doc) == []
    decided = {
        (c["component"], e["environment"]): (e["action"], e["reason"])
        for c in doc["components"]
        for e in c["environments"]
    }
    assert decided[("cart", "shop-stage")] == ("up-to-date", "tracks main")  # a branch, never promoted
    # no promotion.auto: moved only by an explicit promote (tests/test_native_channels.py)
    assert decided[("cart", "shop-production")][0] == "manual"
    east = [
        e
        for c in doc["components"]
        for e in c["environments"]
        if e["targets"] == [{"target": "saas-shop/shop/shop@east"}]  # auto: decided apart
    ]
    assert [e["action"] for e in east] == ["error"]  # --offline chooses no candidate
    assert set(decided) == {
        ("acme-shop", "shop-stage"),
        ("acme-shop", "shop-production"),
        ("cart", "shop-stage"),
        ("cart", "shop-production"),
        ("tools-shop", "shop-stage"),
    }


def test_history_follows_each_target_through_the_commits(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai")
    code, _, err = run(
        "-C", repo, "promote", "acme-shop", NEW, "--target", "saas-shop/shop/shop@west", "--offline", "--yes"
    )
    assert code == 0, err
    git(repo, "commit", "-qam", "promote west")
    # then another target comes before the others, and east is promoted too
    text = (repo / SAAS).read_text().replace(FIRST, NEW_FIRST, 1)
    write_tree(repo, {SAAS: text.replace(f'"{SHA1}"', f'"{NEW}"')})
    git(repo, "commit", "-qam", "a target first; promote east")
    code, out, err = run("-C", repo, "history", "acme-shop", "--offline", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    changes = [
        (c["subject"], sorted((t["target"], t["old"][0]["value"] if t["old"] else None) for t in c["targets"]))
        for c in doc["changes"]
    ]
    assert changes[-2:] == [
        ("promote west", [("saas-shop/shop/shop@west", SHA1)]),
        ("a target first; promote east", [("saas-shop/shop/shop@east", SHA1)]),
    ]
    # a target that follows a branch pins nothing, and that is nothing wrong (the one added last
    # was not there before: that is said)
    assert {n["target"] for n in doc["notes"]} == {"saas-shop/shop/monitoring"}


def test_check_base_judges_a_native_change_by_the_holds_at_its_base(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai", HASHABLE)
    code, _, err = run("-C", repo, "hold", "acme-shop", "--env", "shop-production", "--reason", "incident 7")
    assert code == 0, err
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hold production")
    code, _, err = run(
        "-C", repo, "promote", "acme-shop", NEW, "--env", "shop-production", "--offline", "--yes", "--ignore-hold",
        "--ignore-window",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run("-C", repo, "check", "--base", "HEAD", "--offline", "-o", "json")
    assert code == 3, out + err
    held = [p for p in json.loads(out)["problems"] if p["kind"] == "policy-held"]
    assert {(p["file"], p["line"], p["target"]) for p in held} == {
        (SAAS, 26, "saas-shop/shop/shop@east"),
        (SAAS, 39, "saas-shop/shop/shop@west"),
        (SAAS, 47, "saas-shop/shop-dashboards/monitoring"),
    }


def test_check_base_notes_a_deployment_added_by_the_change(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai")
    added = SAAS_TEXT.replace(
        f"    ref: {SHA_T}\n",
        f"    ref: {SHA_T}\n  - namespace:\n      $ref: /services/shop/namespaces/shop-production-west.yml\n"
        f"    ref: {SHA_T}\n",
    )
    write_tree(repo, {SAAS: added})
    code, out, err = run("-C", repo, "check", "--base", "HEAD", "--offline", "-o", "json")
    assert code == 0, out + err
    (note,) = [p for p in json.loads(out)["problems"] if p["kind"] == "policy-changed"]
    assert (note["level"], note["file"], note["line"], note["target"]) == (
        "note",
        SAAS,
        56,
        "saas-shop/tools/shop",
    )


# -- with a promotion.yaml -------------------------------------------------------------------------


MERGED = f"""version: 1
components:
  shop:                          # promotion.yaml names it
    repo: {SHOP}/
    fetch: /nowhere/shop
    targets:
      - name: dotenv
        environment: pipelines
        file: .env
        env: SHOP_TAG
environments:
  shop-production:               # an environment of the saas files
    after: [shop-stage]
    soak: 1h
"""


def test_promotion_yaml_adds_names_policy_and_targets_merged_by_url(tmp_path: Path, run: Run) -> None:
    env = f"export SHOP_TAG={SHA1[:7]}\n" + HASHABLE[".env"]
    repo = native_repo(tmp_path / "ai", {**HASHABLE, "promotion.yaml": MERGED, ".env": env})
    doc = _status(run, repo)
    assert [c["component"] for c in doc["components"]] == ["shop", "cart", "tools-shop"]
    targets = _targets(doc)
    assert sorted(t for c, t in targets if c == "shop") == [
        "dotenv",
        "saas-shop/shop-dashboards/monitoring",
        "saas-shop/shop-dashboards/shop-stage",
        "saas-shop/shop/shop-stage",
        "saas-shop/shop/shop@east",
        "saas-shop/shop/shop@west",
    ]
    assert targets[("shop", "dotenv")]["native"] is None
    code, out, err = run(
        "-C", repo, "plan", "shop", NEW, "--env", "shop-production", "--offline", "-o", "json", "--ignore-window"
    )
    assert code == 0, err
    assert json.loads(out)["notes"] == [] or True
    assert {t["target"] for t in json.loads(out)["targets"]} == {
        "saas-shop/shop/shop@east",
        "saas-shop/shop/shop@west",
        "saas-shop/shop-dashboards/monitoring",
    }


def test_native_false_keeps_promotion_yaml_alone(tmp_path: Path, run: Run) -> None:
    repo = native_repo(
        tmp_path / "ai",
        {"promotion.yaml": MERGED.replace("version: 1\n", "version: 1\nnative: false\n").split("environments:")[0],
         ".env": f"export SHOP_TAG={SHA1[:7]}\n"},
    )  # fmt: skip
    doc = _status(run, repo)
    assert [c["component"] for c in doc["components"]] == ["shop"]
    assert list(_targets(doc)) == [("shop", "dotenv")]


def test_a_promotion_yaml_target_on_a_saas_file_takes_that_file_over(tmp_path: Path, run: Run) -> None:
    config = f"""version: 1
components:
  shop:
    repo: {SHOP}
    targets:
      - {{name: saas, environment: production, file: {SAAS}, saas: {{resource_template: shop}}}}
"""
    repo = native_repo(tmp_path / "ai", {"promotion.yaml": config})
    targets = _targets(_status(run, repo))
    # the refs of that template in that file are its, once; the other template's targets, and
    # a target written in a file of its own, stay the saas files'
    assert sorted(t for c, t in targets if c == "shop") == [
        "saas",
        "saas-shop/shop-dashboards/monitoring",
        "saas-shop/shop-dashboards/shop-stage",
    ]


def test_a_promotion_yaml_of_policy_alone(tmp_path: Path, run: Run) -> None:
    config = "version: 1\nenvironments:\n  shop-production:\n    after: [shop-stage]\n    soak: 1d\n"
    repo = native_repo(tmp_path / "ai", {"promotion.yaml": config})
    assert [c["component"] for c in _status(run, repo)["components"]] == ["acme-shop", "cart", "tools-shop"]
    bad = native_repo(tmp_path / "bad", {"promotion.yaml": config.replace("shop-production:", "shop-prod:")})
    code, _, err = run("-C", bad, "--offline", "status")
    assert code == 2 and "no target has environment 'shop-prod'; did you mean 'shop-production'?" in err


@pytest.mark.parametrize("schema", ['"$schema": "/app-sre/saas-file-2.yml"', "$schema: '/app-sre/saas-file-1.yml'"])
def test_the_schema_decides_however_it_is_written(tmp_path: Path, run: Run, schema: str) -> None:
    text = SAAS_TEXT.replace("$schema: /app-sre/saas-file-2.yml", schema)
    repo = native_repo(tmp_path / "ai", {SAAS: text})
    assert [c["component"] for c in _status(run, repo)["components"]] == ["acme-shop", "cart", "tools-shop"]


def test_no_promotion_yaml_and_no_saas_file_is_the_usual_error(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai")
    git(repo, "rm", "-rq", "data")
    code, _, err = run("-C", repo, "--offline", "status")
    assert (code, err) == (
        2,
        f"promoter: error: no promotion.yaml in {repo}: promoter init --component NAME --repo URL writes a first "
        "one (or --config FILE)\n",
    )


def test_model_problems_name_file_and_line(tmp_path: Path) -> None:
    from promoter.native.model import build
    from promoter.native.source import WorkTree
    from promoter.pipeline.workspace import Workspace

    repo = native_repo(
        tmp_path / "ai", {CART_SAAS: CART_TEXT.replace("cluster.name == 'west'", "cluster.name ~= 'west'")}
    )
    model = build(WorkTree(repo, Workspace(repo)))
    (problem,) = model.problems
    assert (problem.file, problem.line, problem.note) == (CART_SAAS, 17, True)
    assert "namespaceSelector: " in problem.message and "cannot read the test" in problem.message


def test_a_saas_file_that_is_no_valid_yaml_is_a_problem_and_the_rest_stands(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai", {CART_SAAS: CART_TEXT + "  - ref: [unclosed\n"})
    assert [c["component"] for c in _status(run, repo)["components"]] == ["acme-shop", "tools-shop"]
    code, out, _ = run("-C", repo, "check")
    assert code == 3 and f"{CART_SAAS}:24: invalid YAML" in out


def test_yaml_of_the_saas_file_parsed_independently_agrees(tmp_path: Path, run: Run) -> None:
    """Each target's environment and ref, as PyYAML reads the files, is what status says."""
    repo = native_repo(tmp_path / "ai")
    targets = _targets(_status(run, repo))

    def load(rel: str) -> Any:
        return yaml.load((repo / rel).read_text(), Loader=yaml.BaseLoader)  # every scalar a string

    saas = load(SAAS)
    for rt in saas["resourceTemplates"]:
        for t in rt["targets"]:
            if "$ref" in t:
                t = load("data" + t["$ref"])
            ns = load("data" + t["namespace"]["$ref"])
            env = load("data" + ns["environment"]["$ref"])
            mine = [
                v
                for (c, _), v in targets.items()
                if v["native"]["resource_template"] == rt["name"] and v["native"]["namespace"] == t["namespace"]["$ref"]
            ]
            assert len(mine) == 1 and mine[0]["environment"] == env["name"] and mine[0]["native"]["ref"] == t["ref"]
    assert {v["native"]["ref"] for v in targets.values()} >= {SHA0, SHA1, SHA_T, SHA_C, "master", "main"}


# -- with the upstream -------------------------------------------------------------------------------


def _upstream(root: Path, commits: int) -> list[str]:
    """A repository with `commits` commits on main; their shas, oldest first."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    shas = []
    for i in range(commits):
        (root / "f").write_text(f"{i}\n")
        git(root, "add", "f")
        git(root, "commit", "-qm", f"change {i}")
        shas.append(git(root, "rev-parse", "HEAD"))
    return shas


def test_with_the_upstream_status_plan_and_reconcile_work_from_the_url(tmp_path: Path, run: Run) -> None:
    """The component's upstream is its url: here rewritten to a local repository by git's own
    `url.<base>.insteadOf` (as a mirror would be), so nothing leaves the machine."""
    shas = _upstream(tmp_path / "upstream", 4)
    (Path.home() / ".gitconfig").write_text(f'[url "{tmp_path / "upstream"}"]\n\tinsteadOf = {CART}\n')
    # its production targets move by themselves (promotion.auto; they subscribe to no channel)
    auto = CART_TEXT.replace(f"    ref: {SHA_C}\n", f"    ref: {shas[1]}\n    promotion:\n      auto: true\n")
    repo = native_repo(tmp_path / "ai", {CART_SAAS: auto})
    code, out, err = run("-C", repo, "status", "cart", "-o", "json")
    assert code == 0, err
    (comp,) = json.loads(out)["components"]
    assert comp["upstream"] == {"head": {"value": shas[3], "sha": shas[3]}, "error": None}
    production = next(e for e in comp["environments"] if e["environment"] == "shop-production")
    assert production["behind"] == [{"version": {"value": shas[1], "sha": shas[1]}, "commits": 2}]
    assert production["next"]["action"] == "promote" and production["next"]["candidate"]["value"] == shas[3]
    code, out, err = run("-C", repo, "plan", "cart", "--env", "shop-production", "-o", "json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["new"]["value"] == shas[3] and len(plan["edits"]) == 3
    code, out, err = run("-C", repo, "reconcile", "cart", "--dry-run", "-o", "json")
    assert code == 0, err
    (decided,) = json.loads(out)["components"]
    assert {e["environment"]: e["action"] for e in decided["environments"]} == {
        "shop-stage": "up-to-date",
        "shop-production": "promote",
    }


def test_a_ref_written_twice_is_refused_at_its_line_and_the_other_targets_stand(tmp_path: Path, run: Run) -> None:
    twice = SAAS_TEXT.replace(f"    ref: {SHA_T}\n", f"    ref: {SHA_T}\n    ref: {SHA1}\n")
    repo = native_repo(tmp_path / "ai", {SAAS: twice})
    code, out, err = run("-C", repo, "check")
    assert code == 3
    assert f"{SAAS}:53: tools-shop: {SAAS}:56: target 'saas-shop/tools/shop-stage': key 'ref' appears twice" in out
    targets = _targets(_status(run, repo, code=3))  # (exit 3: that target is an ERROR row)
    assert targets[("acme-shop", "saas-shop/shop/shop@west")]["values"] == [{"value": SHA1, "sha": SHA1}]
    code, _, err = run("-C", repo, "promote", "tools-shop", NEW, "--offline", "--yes")
    assert code == 3 and "key 'ref' appears twice" in err


def test_an_unknown_component_among_hundreds_lists_some_and_counts_the_rest() -> None:
    from promoter.errors import UsageError
    from promoter.model import Config
    from promoter.pipeline.core import component

    comps = {f"c{i:03d}": None for i in range(250)}
    cfg = Config("promotion.yaml", "/", comps, origin="native")  # type: ignore[arg-type]
    with pytest.raises(UsageError) as exc:
        component(cfg, "x")
    said = str(exc.value)
    assert said.startswith("unknown component 'x'; the saas files (no promotion.yaml) define: c000, c001")
    assert said.endswith(", c029 and 220 more")


def test_credentials_in_a_saas_url_are_never_shown(tmp_path: Path, run: Run) -> None:
    secret = SAAS_TEXT.replace(f"url: {TOOLS}", "url: https://bot:tok3n-s3cret@gitlab.example.com/tools/shop")
    repo = native_repo(tmp_path / "ai", {SAAS: secret})
    for argv in (["status", "-o", "json"], ["status"], ["check"], ["reconcile", "--dry-run"]):
        code, out, err = run("-C", repo, "--offline", *argv)
        assert code in (0, 3) and "tok3n" not in out + err, argv
    urls = {t["native"]["url"] for t in _targets(_status(run, repo)).values()}
    assert "https://***@gitlab.example.com/tools/shop" in urls


def test_a_selector_regex_that_backtracks_catastrophically_is_given_up(tmp_path: Path, run: Run) -> None:
    hostile = CART_TEXT.replace("namespace[?(@.cluster.name == 'west')]", "namespace[?(@.description =~ '(a|aa)+b')]")
    ns = "---\n$schema: /openshift/namespace-1.yml\nname: many\ndescription: " + "a" * 60 + "\n"
    repo = native_repo(tmp_path / "ai", {CART_SAAS: hostile, "data/services/shop/namespaces/many.yml": ns})
    code, out, err = run("-C", repo, "check", "-o", "json")
    assert code == 0, err  # promoter's limit: a note, and the rest of the model stands
    (note,) = [p for p in json.loads(out)["problems"] if p["kind"] == "native-unsupported"]
    assert (note["file"], note["line"], note["component"], note["level"]) == (CART_SAAS, 17, "cart", "note")
    assert "the regular expression '(a|aa)+b' took longer than 1 s; simplify it" in note["message"]


def test_reopening_the_repository_keeps_the_saas_files_as_its_config(tmp_path: Path) -> None:
    """A promotion reopens the repository between components (and to rebuild a rejected push):
    with the same config path, which does not exist: the saas files again."""
    from promoter.pipeline.core import open_repo

    repo = native_repo(tmp_path / "ai")
    first = open_repo(repo)
    again = open_repo(first.root, Path(first.config.path))
    assert (first.config.origin, again.config.origin) == ("native", "native")
    assert list(again.config.components) == list(first.config.components) == ["acme-shop", "cart", "tools-shop"]


def test_native_takes_true_or_false(tmp_path: Path, run: Run) -> None:
    repo = native_repo(tmp_path / "ai", {"promotion.yaml": "version: 1\nnative: sometimes\n"})
    code, _, err = run("-C", repo, "--offline", "status")
    assert (code, err) == (2, f"promoter: error: {repo / 'promotion.yaml'}:2: native must be true or false\n")


def test_a_file_that_cannot_be_read_is_a_problem_only_when_it_says_it_is_a_saas_file(tmp_path: Path) -> None:
    from promoter.native.model import build
    from promoter.native.source import WorkTree
    from promoter.pipeline.workspace import Workspace

    repo = native_repo(tmp_path / "ai")
    write_tree(
        repo,
        {
            "data/notes/latin.yml": b"name: caf\xe9, see /app-sre/saas-file-2.yml\n",  # no saas file
            "data/services/x/saas-latin.yml": b"---\n$schema: /app-sre/saas-file-2.yml\nname: caf\xe9\n",
        },
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "latin-1")
    model = build(WorkTree(repo, Workspace(repo)))
    assert [(p.file, p.line) for p in model.problems] == [("data/services/x/saas-latin.yml", 1)]
    assert "not UTF-8 text" in model.problems[0].message and model.problems[0].note is False
