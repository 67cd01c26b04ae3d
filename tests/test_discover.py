"""`promoter discover` and `promoter check` on real git repositories in temp dirs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from promoter.pipeline import workspace
from tests.conftest import git, make_repo
from tests.test_example_config import CASE_05, EXAMPLE, extract_snapshot
from tests.test_upstream import _upstream

SHA = "862eebc895ea7f496f9037a7b8a4d1f393d8a546"
SHORT = SHA[:7]
OLD = "1234abc"

# `check` notes that production promotes CONFIG's image with no trust: (tests/test_trust_config.py)
TRUST_NOTE = (
    "promotion.yaml:{line}: note: recon: environment 'production' (production) promotes image quay.io/example/recon, "
    "which has no trust:; nothing checks that it is signed, nor built from the commit promoted\n"
    "    give component 'recon' a trust: (signature: key: or identity: and issuer:; provenance: true) "
    "in promotion.yaml\n"
)
CLEAN_CHECK = TRUST_NOTE.format(line=7) + "ok: no problems; 1 note\n"

CONFIG = """version: 1
components:
  recon:
    repo: https://github.com/example/recon
    image: quay.io/example/recon
    targets:
      - name: saas-prod
        environment: production
        file: saas/saas-recon.yaml
        saas: {}
      - name: dotenv
        environment: ci
        file: .env
        env: RECON_IMAGE_TAG
      - name: shared
        environment: ci
        file: shared/defaults.yaml
        key: recon_image_tag
"""

SAAS = f"""name: saas-recon
resourceTemplates:
- name: recon
  url: https://github.com/example/recon
  targets:
  - namespace: prod
    ref: {SHA}
  - namespace: stage
    ref: master
"""

CLEAN = {
    "promotion.yaml": CONFIG,
    "saas/saas-recon.yaml": SAAS,
    ".env": f"export RECON_IMAGE_TAG={SHORT}\nOTHER=1\n",
    "shared/defaults.yaml": f"recon_image_tag: {SHORT}\n",
    "README.md": "nothing pinned here; 1234567 is not a pin of anything\n",
}

EXTRA: dict[str, str | bytes] = {
    # a comment in a covered file: the line is not one a target locates
    "saas/saas-recon.yaml": SAAS.replace(
        "resourceTemplates:", f"# runs quay.io/example/recon:{SHORT}\nresourceTemplates:"
    ),
    "saas/saas-recon-stage.yaml": SAAS.replace("saas-recon", "saas-recon-stage"),
    "shared/other.yaml": f"defaults:\n  recon_image_tag: '{OLD}'\n",
    "Dockerfile": f"FROM quay.io/example/recon:{SHORT} AS base\nRUN true\n",
    "deploy/values.json": f'{{"image": {{"tag": "{SHORT}"}}}}\n',
    "logo.png": b"\x89PNG\0\0" + SHORT.encode(),
}


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "config", dict(CLEAN))


@pytest.fixture
def extra(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "config", {**CLEAN, **EXTRA})


def _json(run, *argv: Any) -> Any:  # type: ignore[no-untyped-def]
    code, out, err = run(*argv)
    assert (code, err) == (0, ""), err
    return json.loads(out)


EXPECTED = [
    # file, line, kind, matched, value, target
    (
        "Dockerfile",
        1,
        "image",
        f"quay.io/example/recon:{SHORT}",
        SHORT,
        {
            "name": "Dockerfile-recon-image",
            "environment": "default",
            "file": "Dockerfile",
            "regex": r"quay\.io/example/recon:(?P<version>[0-9a-f]{7})(?![0-9a-f])",
            "format": "short",
        },
    ),
    (
        "deploy/values.json",
        1,
        "version",
        SHORT,
        SHORT,
        {
            "name": "values-tag",
            "environment": "deploy",
            "file": "deploy/values.json",
            "regex": r'\{"tag": "(?P<version>[0-9a-f]{7})(?![0-9a-f])',
            "format": "short",
        },
    ),
    (
        "saas/saas-recon-stage.yaml",
        7,
        "saas",
        "https://github.com/example/recon",
        SHA,
        {
            "name": "saas-recon-stage",
            "environment": "production",  # its ref's namespace
            "file": "saas/saas-recon-stage.yaml",
            "saas": {},
            "format": "sha",
        },
    ),
    (
        "saas/saas-recon.yaml",
        2,
        "image",
        f"quay.io/example/recon:{SHORT}",
        SHORT,
        {
            "name": "saas-recon-recon-image",
            "environment": "saas",
            "file": "saas/saas-recon.yaml",
            "regex": r"quay\.io/example/recon:(?P<version>[0-9a-f]{7})(?![0-9a-f])",
            "format": "short",
        },
    ),
    (
        "shared/other.yaml",
        2,
        "key",
        "recon_image_tag",
        OLD,
        {
            "name": "other-recon_image_tag",
            "environment": "shared",
            "file": "shared/other.yaml",
            "key": "recon_image_tag",
            "format": "short",
        },
    ),
]


def test_discover_finds_nothing_when_every_pin_is_covered(clean: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("-C", clean, "discover")

    assert (code, err) == (0, "")
    assert out == "0 pins found in 0 files; 0 binary and 0 huge files skipped\n"


def test_discover_reports_each_uncovered_pin_with_a_working_snippet(extra: Path, run) -> None:  # type: ignore[no-untyped-def]
    doc = _json(run, "-C", extra, "discover", "-o", "json")

    got = [
        (f["file"], f["line"], f["kind"], f["matched"], f["version"]["value"], f["suggestion"]) for f in doc["findings"]
    ]
    assert got == EXPECTED
    docker = doc["findings"][0]
    assert docker["column"] == 28
    assert docker["text"] == f"FROM quay.io/example/recon:{SHORT} AS base"
    assert docker["component"] == "recon"
    assert docker["format"] == "short"
    assert docker["snippet"] == (
        "- name: Dockerfile-recon-image\n"
        "  environment: default\n"
        "  file: Dockerfile\n"
        "  regex: quay\\.io/example/recon:(?P<version>[0-9a-f]{7})(?![0-9a-f])\n"
        "  format: short\n"
    )
    assert doc["pins"] == 5
    assert doc["files"] == [e[0] for e in EXPECTED]
    assert doc["skipped"] == {"binary": ["logo.png"], "huge": [], "ignored": []}
    assert doc["refused_targets"] == {}


def test_discover_table_and_yaml(extra: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("-C", extra, "discover", "recon")

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["FILE:LINE", "COMPONENT", "MATCHED", "TEXT"]
    assert lines[1].split()[:4] == ["Dockerfile:1", "recon", "image", f"quay.io/example/recon:{SHORT}"]
    assert "suggested targets for recon (paste under its targets:):" in lines
    assert "  - name: other-recon_image_tag" in lines
    assert lines[-1] == "5 pins found in 5 files; 1 binary and 0 huge files skipped"

    code, out, err = run("-C", extra, "discover", "-o", "yaml")
    assert code == 0
    assert yaml.safe_load(out)["pins"] == 5


def test_huge_files_are_skipped_and_counted(extra: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (extra / "big.txt").write_text(f"{SHORT}\n" * 100)
    git(extra, "add", "big.txt")
    git(extra, "commit", "-q", "-m", "big")
    (extra / "untracked.txt").write_text(f"{SHORT}\n")  # git does not track it: not scanned

    doc = _json(run, "-C", extra, "discover", "-o", "json")
    big = [f for f in doc["findings"] if f["file"] == "big.txt"]
    assert [f["line"] for f in big] == list(range(1, 101))
    assert {f["suggestion"]["name"] for f in big} == {"big-1"}  # one regex target locates all of them
    assert "untracked.txt" not in doc["files"]

    monkeypatch.setattr(workspace, "MAX_FILE_BYTES", 300)
    doc = _json(run, "-C", extra, "discover", "-o", "json")
    assert doc["skipped"]["huge"] == ["big.txt"]
    assert doc["pins"] == 5
    code, out, _ = run("-C", extra, "discover")
    assert out.splitlines()[-1] == "5 pins found in 5 files; 1 binary and 1 huge files skipped"


@pytest.mark.parametrize("fixed_max", [48, 0], ids=["fixed-strings", "one-extended-regex"])
def test_grep_prefilter_reads_literally_whatever_the_names_and_git_config(
    clean: Path, run, monkeypatch: pytest.MonkeyPatch, fixed_max: int
) -> None:  # type: ignore[no-untyped-def]
    """discover asks `git grep` which files mention a pin (a few literals as `-F` patterns, many
    as one escaped `-E` regex): the user's grep settings (a regex flavour, case folding) must not
    change what it finds, nor odd file names, nor regex syntax in a literal."""
    from promoter.insight import discover

    monkeypatch.setattr(discover, "_FIXED_MAX", fixed_max)
    files = {
        "-rf odd name.env": f"RECON_IMAGE_TAG={SHORT}\n",
        "日本/値.txt": f"image quay.io/example/recon:{SHORT}\n",
        "dots.txt": f"quayXio/example/recon:{SHORT}\n",  # '.' is not a wildcard: not the image
        "upper.txt": f"QUAY.IO/EXAMPLE/RECON:{SHORT.upper()}\n",  # no case folding
        "gone.txt": f"RECON_IMAGE_TAG={SHORT}\n",
    }
    for rel, text in files.items():
        (clean / rel).parent.mkdir(exist_ok=True)
        (clean / rel).write_text(text)
    git(clean, "add", "-A")
    git(clean, "commit", "-q", "-m", "more")
    (clean / "gone.txt").unlink()  # tracked, deleted in the working tree: nothing to read
    (clean / "untracked.env").write_text(f"RECON_IMAGE_TAG={SHORT}\n")
    config = clean / "gitconfig"
    config.write_text(
        "[grep]\n\tpatternType = perl\n\textendedRegexp = true\n\tfullName = false\n[core]\n\tignoreCase = true\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))

    doc = _json(run, "-C", clean / "日本", "discover", "-o", "json")
    got = sorted((f["file"], f["kind"], f["version"]["value"]) for f in doc["findings"])
    assert got == [
        ("-rf odd name.env", "env", SHORT),
        ("dots.txt", "version", SHORT),  # the deployed short sha, not the image
        ("日本/値.txt", "image", SHORT),
    ]

    # a key full of regex syntax: read as a pattern, it would not match itself
    key = "tag+(prod)[1]^$"
    meta = make_repo(
        clean.parent / "meta",
        {
            "promotion.yaml": CONFIG.replace("key: recon_image_tag", f"key: '{key}'"),
            "saas/saas-recon.yaml": SAAS,
            ".env": f"export RECON_IMAGE_TAG={SHORT}\n",
            "shared/defaults.yaml": f"'{key}': {SHORT}\n",
            "shared/more.yaml": f"x:\n  '{key}': '{OLD}'\n",
        },
    )
    doc = _json(run, "-C", meta, "discover", "-o", "json")
    assert [(f["file"], f["kind"], f["matched"], f["version"]["value"]) for f in doc["findings"]] == [
        ("shared/more.yaml", "key", key, OLD)
    ]


def test_commented_out_assignments_and_keys_are_no_pins(clean: Path, run) -> None:  # type: ignore[no-untyped-def]
    (clean / "old.env").write_text(f"# export RECON_IMAGE_TAG={OLD}\nX=1  # RECON_IMAGE_TAG={OLD}\n")
    (clean / "old.yaml").write_text(f"a: 1\n# recon_image_tag: '{OLD}'\nb: 2 # recon_image_tag: {OLD}\n")
    (clean / "live.env").write_text(f"  RECON_IMAGE_TAG={OLD}  # the one that counts\n")
    git(clean, "add", "-A")
    git(clean, "commit", "-q", "-m", "comments")

    doc = _json(run, "-C", clean, "discover", "-o", "json")
    assert [(f["file"], f["line"], f["kind"]) for f in doc["findings"]] == [("live.env", 1, "env")]


def _paste(repo: Path, snippets: list[str]) -> None:
    text = (repo / "promotion.yaml").read_text()
    body = "".join("".join("      " + line + "\n" for line in s.rstrip("\n").split("\n")) for s in snippets)
    (repo / "promotion.yaml").write_text(text + body)


def test_pasting_the_snippets_makes_check_clean_and_promote_edits_them(extra: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("-C", extra, "check")
    assert code == 3
    assert out.splitlines()[-1] == "5 problems; 1 note"

    doc = _json(run, "-C", extra, "discover", "-o", "json")
    _paste(extra, list(dict.fromkeys(f["snippet"] for f in doc["findings"])))

    code, out, err = run("-C", extra, "check")
    assert (code, out, err) == (0, CLEAN_CHECK, "")
    # the new targets really pin: a promotion rewrites every one of them
    new = "ab0ae8f8e459d350dc0f80b93f6ed7633dc178b3"
    code, out, err = run("-C", extra, "promote", "recon", new, "--offline", "--yes", "--allow-dirty")
    assert code == 0, err
    assert (extra / "Dockerfile").read_text() == "FROM quay.io/example/recon:ab0ae8f AS base\nRUN true\n"
    assert (extra / "deploy/values.json").read_text() == '{"image": {"tag": "ab0ae8f"}}\n'
    assert (extra / "shared/other.yaml").read_text() == "defaults:\n  recon_image_tag: 'ab0ae8f'\n"
    assert f"ref: {new}" in (extra / "saas/saas-recon-stage.yaml").read_text()
    assert "# runs quay.io/example/recon:ab0ae8f" in (extra / "saas/saas-recon.yaml").read_text()


def test_check_clean_exits_0(clean: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("-C", clean, "check")
    assert (code, out, err) == (0, CLEAN_CHECK, "")
    doc = _json(run, "-C", clean, "check", "-o", "json")
    assert (doc["ok"], [p["kind"] for p in doc["problems"]]) == (True, ["untrusted-production"])


def test_check_uncovered_pin_message_and_hint(clean: Path, run) -> None:  # type: ignore[no-untyped-def]
    (clean / "Dockerfile").write_text(f"FROM quay.io/example/recon:{SHORT}\n")
    git(clean, "add", "Dockerfile")

    code, out, err = run("-C", clean, "check")

    assert (code, err) == (3, "")
    assert out == TRUST_NOTE.format(line=7) + (
        f"Dockerfile:1: recon: {SHORT} is pinned here (image quay.io/example/recon:{SHORT}) but no target covers it\n"
        "    add this target to component 'recon' in promotion.yaml, or add 'Dockerfile' to its ignore: list:\n"
        "    - name: Dockerfile-recon-image\n"
        "      environment: default\n"
        "      file: Dockerfile\n"
        "      regex: quay\\.io/example/recon:(?P<version>[0-9a-f]{7})(?![0-9a-f])\n"
        "      format: short\n"
        "1 problem; 1 note\n"
    )
    doc = json.loads(run("-C", clean, "check", "-o", "json")[1])
    assert doc["ok"] is False
    errors = [p for p in doc["problems"] if p["level"] == "error"]
    assert [(p["file"], p["line"]) for p in errors] == [("Dockerfile", 1)]
    assert [(p["kind"], p["component"], p["target"], p["version"]) for p in errors] == [
        ("uncovered-pin", "recon", None, {"value": SHORT, "sha": None})
    ]


def test_ignore_globs_silence_findings(extra: Path, run) -> None:  # type: ignore[no-untyped-def]
    text = (extra / "promotion.yaml").read_text()
    ignore = 'ignore: [Dockerfile, "deploy/**", "saas/*-stage.yaml", "**/other.yaml", "saas/saas-recon.yaml"]\n'
    (extra / "promotion.yaml").write_text(ignore + text)

    code, out, err = run("-C", extra, "check")
    assert (code, out, err) == (0, TRUST_NOTE.format(line=8) + "ok: no problems; 1 note\n", "")
    code, out, _ = run("-C", extra, "discover")
    assert out == "0 pins found in 0 files; 1 binary and 0 huge files skipped; 5 ignored\n"


def test_ignore_must_be_a_list_of_relative_globs(clean: Path, run) -> None:  # type: ignore[no-untyped-def]
    text = (clean / "promotion.yaml").read_text()
    (clean / "promotion.yaml").write_text(text + "ignore: docs\n")
    code, _, err = run("-C", clean, "check")
    assert (code, err) == (2, f"promoter: error: {clean / 'promotion.yaml'}:19: ignore must be a list of strings\n")

    (clean / "promotion.yaml").write_text(text + "ignore:\n  - /etc/x\n")
    code, _, err = run("-C", clean, "check")
    assert code == 2
    assert err == (
        f"promoter: error: {clean / 'promotion.yaml'}:20: "
        "ignore: '/etc/x' must be a glob relative to the repository root\n"
    )


def test_check_target_that_locates_nothing(clean: Path, run) -> None:  # type: ignore[no-untyped-def]
    (clean / "shared/defaults.yaml").write_text("recon_image_tag: latest\n")
    (clean / ".env").unlink()

    code, out, err = run("-C", clean, "check")

    assert (code, err) == (3, "")
    hint = (
        "    fix target '{}' (its file or locator) so that it locates the pinned value, "
        "or set 'optional: true' if the value may be absent"
    )
    assert out.splitlines() == [
        "promotion.yaml:11: recon: .env: target 'dotenv': no such file (moved or renamed?)",
        hint.format("dotenv"),
        "promotion.yaml:15: recon: shared/defaults.yaml: target 'shared' (key recon_image_tag) located no pinned "
        "7-hex short sha; found only 'latest'",
        hint.format("shared"),
        *TRUST_NOTE.format(line=7).splitlines(),
        "2 problems; 1 note",
    ]


def test_check_environment_whose_targets_disagree(clean: Path, run) -> None:  # type: ignore[no-untyped-def]
    (clean / "shared/defaults.yaml").write_text(f"recon_image_tag: {OLD}\n")

    code, out, err = run("-C", clean, "check")

    assert (code, err) == (3, "")
    assert out.splitlines() == [
        f"promotion.yaml:11: recon: environment 'ci' runs 2 versions: {SHORT} (dotenv); {OLD} (shared)",
        "    promote the environment to one version: promoter promote recon REV --env ci",
        *TRUST_NOTE.format(line=7).splitlines(),
        "1 problem; 1 note",
    ]


def test_sha_and_short_targets_of_one_commit_agree(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    config = CONFIG.replace("environment: ci", "environment: production")
    repo = make_repo(tmp_path / "c", {**CLEAN, "promotion.yaml": config})
    assert run("-C", repo, "check")[:2] == (0, CLEAN_CHECK)


def test_any_sha_reports_upstream_commits_only(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    shas = _upstream(tmp_path / "upstream", 3)
    config = CONFIG.replace(
        "    repo: https://github.com/example/recon\n",
        f"    repo: https://github.com/example/recon\n    fetch: {tmp_path / 'upstream'}\n    branch: main\n",
    )
    random = "0123456789abcdef0123456789abcdef01234567"
    notes = f"rolled back from {shas[0]} once\nunrelated: {random}\n"
    repo = make_repo(tmp_path / "c", {**CLEAN, "promotion.yaml": config, "NOTES.md": notes})

    assert _json(run, "-C", repo, "discover", "-o", "json")["pins"] == 0
    doc = _json(run, "-C", repo, "discover", "--any-sha", "-o", "json")
    assert [(f["file"], f["line"], f["kind"], f["version"]["value"]) for f in doc["findings"]] == [
        ("NOTES.md", 1, "commit", shas[0])
    ]
    assert doc["findings"][0]["suggestion"] == {
        "name": "NOTES-1",
        "environment": "default",
        "file": "NOTES.md",
        "regex": "from (?P<version>[0-9a-f]{40})(?![0-9a-f])",
        "format": "sha",
    }

    code, _, err = run("-C", repo, "--offline", "discover", "--any-sha")
    assert code == 2
    assert "does not work with --offline" in err
    code, _, err = run("-C", repo, "discover", "--any-sha", "--offline")  # discover does not offer it
    assert code == 2 and "unrecognized arguments: --offline" in err


def test_pre_commit_hook_is_shipped() -> None:
    hooks = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())
    assert hooks[0]["id"] == "promoter-check"
    assert hooks[0]["entry"] == "promoter check"
    assert (hooks[0]["language"], hooks[0]["pass_filenames"], hooks[0]["always_run"]) == ("python", False, True)


# ------------------------------------------------------------------------- the app-interface snapshot


@pytest.fixture(scope="module")
def snapshot_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = extract_snapshot(tmp_path_factory.mktemp("snapshot"))
    git(repo, "add", "-A")  # discover scans what git tracks: every extracted file
    git(repo, "commit", "-q", "-m", "snapshot")
    assert json.loads((CASE_05 / "case.json").read_text())["old_sha"].startswith("862eebc")
    return repo


def test_snapshot_example_config_leaves_no_pin_uncovered(snapshot_tree: Path, run) -> None:  # type: ignore[no-untyped-def]
    doc = _json(run, "-C", snapshot_tree, "--config", EXAMPLE, "discover", "-o", "json")
    assert doc["findings"] == []
    assert doc["scanned"] > 100
    code, out, err = run("-C", snapshot_tree, "--config", EXAMPLE, "check")
    assert (code, out, err) == (0, "ok: no problems\n", "")


def test_snapshot_saas_only_config_finds_the_other_862eebc_pins(snapshot_tree: Path, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With only the saas targets, the pins of 862eebc the SOP also lists are found: .env, the
    Jenkins global defaults and the Tekton shared resources; each snippet uses the locator the
    example config uses."""
    text = EXAMPLE.read_text()
    saas_only = text[: text.index("      # the image app-interface's own CI runs")]
    config = tmp_path / "promotion.yaml"
    config.write_text(saas_only)

    doc = _json(run, "-C", snapshot_tree, "--config", config, "discover", "qontract-reconcile", "-o", "json")

    got = [(f["file"], f["line"], f["version"]["value"], f["text"], f["suggestion"]) for f in doc["findings"]]
    assert got == [
        (
            ".env",
            17,
            "862eebc",
            "export RECONCILE_IMAGE_TAG=862eebc",
            {
                "name": "env-RECONCILE_IMAGE_TAG",
                "environment": "default",
                "file": ".env",
                "env": "RECONCILE_IMAGE_TAG",
                "format": "short",
            },
        ),
        (
            "data/pipelines/tekton-provider-global-defaults.yaml",
            21,
            "862eebc",
            "qontract_reconcile_image_tag: 862eebc",
            {
                "name": "tekton-provider-global-defaults-qontract_reconcile_image_tag",
                "environment": "pipelines",
                "file": "data/pipelines/tekton-provider-global-defaults.yaml",
                "key": "qontract_reconcile_image_tag",
                "format": "short",
            },
        ),
        (
            "resources/jenkins/global/defaults.yaml",
            21,
            "862eebc",
            "qontract_reconcile_image_tag: '862eebc'",
            {
                "name": "defaults-qontract_reconcile_image_tag",
                "environment": "global",
                "file": "resources/jenkins/global/defaults.yaml",
                "key": "qontract_reconcile_image_tag",
                "format": "short",
            },
        ),
    ]


def test_a_pin_inside_a_longer_one_is_part_of_it(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """Where the needles of a component overlap, the text is read left to right as one pattern of
    them all would: an image tag `{short}-{sha}` is one image pin, not also a version pin of the
    sha in it; a quoted key is one key pin, whose value is not reported again as a version."""
    config = CONFIG.replace(
        "    image: quay.io/example/recon\n", '    image: quay.io/example/recon\n    tag: "{short}-{sha}"\n'
    )
    files = {
        **CLEAN,
        "promotion.yaml": config,
        "Dockerfile": f"FROM quay.io/example/recon:{SHORT}-{SHA}\n",
        "values.yaml": f"x:\n  'recon_image_tag': '{SHORT}'\n",
    }
    repo = make_repo(tmp_path / "c", files)

    doc = _json(run, "-C", repo, "discover", "-o", "json")

    assert [(f["file"], f["line"], f["column"], f["kind"], f["matched"]) for f in doc["findings"]] == [
        ("Dockerfile", 1, 28, "image", f"quay.io/example/recon:{SHORT}-{SHA}"),
        ("values.yaml", 2, 23, "key", "recon_image_tag"),
    ]
