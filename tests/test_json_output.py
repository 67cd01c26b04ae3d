"""JSON a script can rely on: every command's `-o json` on the demo repository, held to the
README's "JSON output" section (each kind's top-level fields) and to the names and types every
document shares; failures are JSON documents too."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from promoter import cli, demo
from promoter.errors import ConfigError, ExternalError, Refused, UsageError
from tests.conftest import RunResult, git

Run = Callable[..., RunResult]
README = Path(__file__).resolve().parents[1] / "README.md"
SHA = re.compile(r"[0-9a-f]{40}")
COMPONENT = "qontract-reconcile"


@pytest.fixture
def demo_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """The demo's config repository (nothing promoted yet) and its upstream's shas, oldest first."""
    _, config, shas = demo.build(tmp_path / "demo")
    return config, shas


def documented() -> dict[str, set[str]]:
    """Each kind's top-level fields, as the README's JSON output table lists them."""
    section = README.read_text().split("\n## JSON output\n", 1)[1].split("\n## ", 1)[0]
    out = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`[a-z]+`", cells[0]) and cells[0] != "`kind`":
            out[cells[0].strip("`")] = set(re.findall(r"`([a-z_]+)`", cells[1]))
    return out


def is_version(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and set(v) == {"value", "sha"}
        and isinstance(v["value"], str)
        and (v["sha"] is None or SHA.fullmatch(v["sha"]) is not None)
        and (SHA.fullmatch(v["value"]) is None or v["sha"] == v["value"])  # a full sha is its own
    )


def common(node: Any, where: str = "$") -> list[str]:
    """What breaks the names and types every document shares, anywhere in `node`."""
    wrong: list[str] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            wrong += common(item, f"{where}[{i}]")
        return wrong
    if not isinstance(node, dict):
        return wrong
    rules: dict[str, Callable[[Any], bool]] = {
        "old": lambda v: is_version(v) or (isinstance(v, list) and all(map(is_version, v))),
        "new": lambda v: is_version(v) or (isinstance(v, list) and all(map(is_version, v))),
        "versions": lambda v: isinstance(v, list) and all(map(is_version, v)),
        "values": lambda v: isinstance(v, list) and all(map(is_version, v)),
        "candidate": lambda v: v is None or is_version(v),
        "head": lambda v: v is None or is_version(v),
        "version": lambda v: v is None or is_version(v),
        "component": lambda v: isinstance(v, str) and v != "",
        "target": lambda v: v is None or (isinstance(v, str) and v != ""),
        "targets": lambda v: isinstance(v, list) and all(isinstance(t, dict) and "target" in t for t in v),
        "environment": lambda v: v is None or (isinstance(v, str) and v != ""),
        "file": lambda v: isinstance(v, str) and not v.startswith("/"),
        "line": lambda v: isinstance(v, int) and v >= 1,
    }
    for key, value in node.items():
        if key in rules and not rules[key](value):
            wrong.append(f"{where}.{key}: {value!r}")
        wrong += common(value, f"{where}.{key}")
    return wrong


def held_to_the_schema(out: str, kind: str) -> dict[str, Any]:
    doc = json.loads(out)
    assert isinstance(doc, dict)
    assert (doc["schema_version"], doc["kind"]) == (1, kind)
    assert set(doc) - {"schema_version", "kind"} == documented()[kind], "the README's JSON output lists other fields"
    assert common(doc) == []
    return doc  # type: ignore[no-any-return]


def test_the_readme_documents_every_kind() -> None:
    assert set(documented()) == {"status", "plan", "changelog", "discover", "check", "history", "reconcile", "dora"}


def test_every_command_speaks_one_shape(demo_repo: tuple[Path, list[str]], run: Run) -> None:
    repo, shas = demo_repo
    for argv, kind in [
        (["status"], "status"),
        (["status", "--offline"], "status"),
        (["plan", COMPONENT, "--env", "integration"], "plan"),
        (["plan", COMPONENT, "--env", "pipelines", "--ignore-hold"], "plan"),  # the demo holds them
        (["plan", COMPONENT, shas[1], "--offline", "--ignore-hold"], "plan"),  # nothing to change
        (["changelog", COMPONENT], "changelog"),
        (["discover"], "discover"),
        (["check"], "check"),
        (["history", COMPONENT], "history"),
        (["history", COMPONENT, "--offline"], "history"),
        (["history", "--all"], "dora"),  # the fleet's DORA measures
        (["reconcile", "--dry-run"], "reconcile"),  # the demo's held pipelines: the policy working, exit 0
    ]:
        code, out, err = run("-C", repo, *argv, "-o", "json")
        assert code == 0, (argv, err)
        held_to_the_schema(out, kind)
    plan = json.loads(run("-C", repo, "plan", COMPONENT, "--ignore-hold", "--ignore-soak", "-o", "json")[1])
    head = {"value": shas[-1], "sha": shas[-1]}
    assert plan["new"] == head
    dotenv = next(t for t in plan["targets"] if t["target"] == "dotenv")
    assert dotenv["old"] == [{"value": shas[1][:7], "sha": shas[1]}]  # known from the full sha beside it
    assert dotenv["new"] == {"value": shas[-1][:7], "sha": shas[-1]}
    status = json.loads(run("-C", repo, "status", "-o", "json")[1])
    assert status["components"][0]["upstream"]["head"] == head
    # -o yaml of discover is the same document
    code, out, _ = run("-C", repo, "discover", "-o", "yaml")
    assert yaml.safe_load(out) == json.loads(run("-C", repo, "discover", "-o", "json")[1])


def test_findings_and_problems_of_every_kind(demo_repo: tuple[Path, list[str]], run: Run) -> None:
    repo, shas = demo_repo
    config = (repo / "promotion.yaml").read_text()
    config = config.replace("      - name: saas-production\n", "      - name: gone\n        file: gone.env\n"
                            "        env: TAG\n      - name: saas-production\n")  # fmt: skip
    (repo / "promotion.yaml").write_text(config)  # the demo's production comes after integration
    (repo / "Dockerfile").write_text(f"FROM quay.io/app-sre/qontract-reconcile:{shas[1][:7]}\n")
    prod = repo / "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml"
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a broken target, an uncovered pin, an order")
    prod.write_text(prod.read_text().replace(f"ref: {shas[1]}", f"ref: {shas[-1]}"))  # by hand, before integration
    dotenv = repo / ".env"  # one pipelines target of five moved on its own
    dotenv.write_text(dotenv.read_text().replace(f"TAG={shas[1][:7]}", f"TAG={shas[2][:7]}"))

    code, out, _ = run("-C", repo, "check", "-o", "json", "--base", "HEAD")
    assert code == 3
    doc = held_to_the_schema(out, "check")
    got = {(p["kind"], p["target"], p["environment"]) for p in doc["problems"]}
    assert got == {
        ("locates-nothing", "gone", "gone"),  # its environment is its name
        ("environment-disagrees", None, "pipelines"),  # not one target's problem
        ("uncovered-pin", None, None),  # no target's
        ("policy-after", "saas-production", "production"),  # before integration ran it: not a matter of time
        ("policy-held", "dotenv", "pipelines"),  # the demo holds the pipelines
    }, got
    kinds = {p["kind"]: p for p in doc["problems"]}
    assert kinds["uncovered-pin"]["version"] == {"value": shas[1][:7], "sha": None}
    assert kinds["uncovered-pin"]["component"] == COMPONENT and kinds["uncovered-pin"]["file"] == "Dockerfile"
    policy = [p for p in doc["problems"] if p["kind"].startswith("policy-")]
    assert sorted((p["target"], p["environment"], p["version"]) for p in policy) == [
        ("dotenv", "pipelines", {"value": shas[2][:7], "sha": shas[2]}),  # the upstream named it
        ("saas-production", "production", {"value": shas[-1], "sha": shas[-1]}),
    ]

    code, out, _ = run("-C", repo, "discover", "-o", "json")
    finding = held_to_the_schema(out, "discover")["findings"][0]
    assert (finding["file"], finding["version"], finding["suggestion"]["file"]) == (
        "Dockerfile",
        {"value": shas[1][:7], "sha": None},
        "Dockerfile",
    )


def error_of(run: Run, repo: Path, *argv: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run("-C", repo, *argv)
    doc = json.loads(out)
    assert (doc["schema_version"], doc["kind"], set(doc), set(doc["error"])) == (
        1,
        "error",
        {"schema_version", "kind", "error"},
        {"kind", "message"},
    )
    assert err.startswith("promoter: ") and doc["error"]["message"] in err  # said to people as well
    return code, doc["error"], err


def test_failures_are_json_too(demo_repo: tuple[Path, list[str]], run: Run, tmp_path: Path) -> None:
    repo, shas = demo_repo
    code, error, _ = error_of(run, repo, "status", "-o", "json", "--env", "prod")
    assert (code, error["kind"]) == (2, "usage") and "did you mean 'production'" in error["message"]
    code, error, _ = error_of(run, repo, "status", "--bogus", "-o", "json")  # before parsing ends
    assert (code, error["kind"]) == (2, "usage")
    code, error, _ = error_of(run, repo, "plan", COMPONENT, shas[0], "-ojson")  # older than what runs
    assert (code, error["kind"]) == (3, "refused")

    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 2\ncomponents: {}\n")
    code, error, _ = error_of(run, repo, "--config", broken, "check", "--output", "json")
    assert (code, error["kind"]) == (2, "config")
    nowhere = tmp_path / "nowhere.yaml"
    config = (repo / "promotion.yaml").read_text()
    nowhere.write_text(re.sub(r"fetch: .*", f"fetch: {tmp_path / 'no-such-upstream'}", config))
    code, error, _ = error_of(
        run, repo, "--config", nowhere, "plan", COMPONENT, "--env", "integration", "--output=json"
    )
    assert (code, error["kind"]) == (4, "external")

    code, out, err = run("-C", repo, "status", "--env", "prod")  # not asked for JSON: none
    assert code == 2 and out == "" and "did you mean" in err


@pytest.mark.parametrize(
    ("raised", "code", "kind"),
    [
        (RuntimeError("boom"), 1, "bug"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (Refused("no"), 3, "refused"),
        (ExternalError("down"), 4, "external"),
        (ConfigError("bad", "promotion.yaml", 3), 2, "config"),
        (UsageError("wrong"), 2, "usage"),
    ],
)
def test_each_error_class_has_its_kind(
    raised: BaseException, code: int, kind: str, run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fail(args: object) -> int:
        raise raised

    monkeypatch.setitem(cli.COMMANDS, "status", fail)
    got, error, _ = error_of(run, tmp_path, "status", "-o", "json")
    assert (got, error["kind"]) == (code, kind)
