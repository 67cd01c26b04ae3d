"""Bad promotion.yaml: exit 2, a message naming the config file and line, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_repo, snapshot

HEAD = "version: 1\ncomponents:\n  c:\n    repo: https://example.com/c\n    targets:\n"
GOOD_TARGET = "      - name: t\n        file: a.yaml\n        key: tag\n"


def _cfg(targets: str = GOOD_TARGET, head: str = HEAD) -> str:
    return head + targets


CASES = [
    ("invalid-yaml", "version: 1\ncomponents: [\n", "promotion.yaml:3: invalid YAML: "),
    ("tab-yaml", "version: 1\ncomponents:\n\tc: x\n", "promotion.yaml:3: invalid YAML: "),
    (  # a character YAML does not allow: said at its line and column, not at line 0
        "control-character",
        'version: 1\ncomponents:\n  c: "x\x07y"\n',
        "promotion.yaml:3: invalid YAML: control characters are not allowed (#x0007) (column 8)",
    ),
    ("no-version", "components: {}\n", "promotion.yaml:1: missing 'version: 1'"),
    ("version-2", "version: 2\ncomponents: {}\n", "promotion.yaml:1: unsupported config version"),
    ("no-components", "version: 1\n", "promotion.yaml:1: missing 'components'"),
    ("empty-components", "version: 1\ncomponents: {}\n", "promotion.yaml:2: components: define at least one component"),
    ("two-documents", "version: 1\n---\nversion: 1\n", "promotion.yaml: expected exactly one YAML document"),
    (
        "non-ascii-image-tag",
        _cfg(head=HEAD.replace("    targets:", '    image: quay.io/org/c\n    tag: "v-{short}-é"\n    targets:')),
        "promotion.yaml:6: component 'c': tag 'v-{short}-é' does not make an image tag: ASCII letters, digits",
    ),
    (
        "image-tag-starting-with-a-dot",
        _cfg(head=HEAD.replace("    targets:", '    image: quay.io/org/c\n    tag: ".{short}"\n    targets:')),
        "promotion.yaml:6: component 'c': tag '.{short}' does not make an image tag",
    ),
    (
        "unknown-top-key",
        "version: 1\ncomponent: {}\n",
        "promotion.yaml:2: top level: unknown key 'component'; did you mean 'components'?",
    ),
    (
        "unknown-top-key-far-from-every-one",  # no near one: the keys it takes are listed
        "version: 1\nr: {}\n",
        "promotion.yaml:2: top level: unknown key 'r'; expected one of: version, components",
    ),
    (
        "unknown-component-key",
        _cfg(head=HEAD.replace("    targets:", "    targts: []\n    targets:")),
        "promotion.yaml:5: component 'c': unknown key 'targts'; did you mean 'targets'?",
    ),
    (
        "unknown-target-key",
        _cfg("      - name: t\n        fiel: a.yaml\n        key: tag\n"),
        "promotion.yaml:7: component 'c': target: unknown key 'fiel'; did you mean 'file'?",
    ),
    ("no-repo", "version: 1\ncomponents:\n  c:\n    targets: []\n", "promotion.yaml:3: component 'c': missing 'repo'"),
    (
        "no-targets",
        "version: 1\ncomponents:\n  c:\n    repo: x\n",
        "promotion.yaml:3: component 'c': missing 'targets'",
    ),
    (
        "targets-not-a-list",
        _cfg("      []\n").replace("targets:\n      []", "targets: saas.yaml"),
        "promotion.yaml:5: component 'c': targets must be a list (targets: [] while it has none yet)",
    ),
    (
        "target-without-name",
        _cfg("      - file: a.yaml\n        key: tag\n"),
        "promotion.yaml:6: component 'c': target without a 'name'",
    ),
    (
        "two-locators",
        _cfg("      - name: t\n        file: a.yaml\n        key: tag\n        env: TAG\n"),
        "promotion.yaml:6: component 'c', target 't': give exactly one locator of saas, env, key, path, regex "
        "(found env, key)",
    ),
    (
        "no-locator",
        _cfg("      - name: t\n        file: a.yaml\n"),
        "promotion.yaml:6: component 'c', target 't': give exactly one locator of saas, env, key, path, regex "
        "(found none)",
    ),
    (
        "file-and-files",
        _cfg("      - name: t\n        file: a.yaml\n        files: '*.yaml'\n        key: tag\n"),
        "promotion.yaml:6: component 'c', target 't': give exactly one of 'file' or 'files'",
    ),
    (
        "duplicate-target",
        _cfg(GOOD_TARGET + GOOD_TARGET),
        "promotion.yaml:9: component 'c': duplicate target name 't' (first at line 6)",
    ),
    (
        "absolute-file",
        _cfg("      - name: t\n        file: /etc/passwd\n        key: tag\n"),
        "promotion.yaml:7: component 'c', target 't': file '/etc/passwd' must be relative to the repository root",
    ),
    (
        "escaping-file",
        _cfg("      - name: t\n        file: data/../../secret.yaml\n        key: tag\n"),
        "promotion.yaml:7: component 'c', target 't': file 'data/../../secret.yaml' points outside the repository",
    ),
    (
        "escaping-glob",
        _cfg("      - name: t\n        files: ../*.yaml\n        key: tag\n"),
        "promotion.yaml:7: component 'c', target 't': files '../*.yaml' points outside the repository",
    ),
    (
        "bad-regex",
        _cfg("      - name: t\n        file: a.txt\n        regex: 'tag=(?P<version>[0-9a-f'\n        format: short\n"),
        "promotion.yaml:8: component 'c', target 't': bad regex: unterminated character set",
    ),
    (
        "regex-without-group",
        _cfg("      - name: t\n        file: a.txt\n        regex: 'tag=([0-9a-f]{7})'\n        format: short\n"),
        "promotion.yaml:8: component 'c', target 't': the regex needs a named group (?P<version>...)",
    ),
    (
        "regex-without-format",
        _cfg("      - name: t\n        file: a.txt\n        regex: 'tag=(?P<version>[0-9a-f]{7})'\n"),
        "promotion.yaml:6: component 'c', target 't': a regex locator needs an explicit 'format' (sha, short or tag)",
    ),
    (
        "bad-format",
        _cfg(GOOD_TARGET + "        format: long\n"),
        "promotion.yaml:9: component 'c', target 't': format must be 'sha', 'short', 'digest' or 'tag', not 'long'",
    ),
    (
        "short-length-range",
        _cfg(head=HEAD.replace("    targets:", "    short_length: 41\n    targets:")),
        "promotion.yaml:5: component 'c': short_length must be a whole number from 4 to 39, not 41",
    ),
    (
        "bad-optional",
        _cfg(GOOD_TARGET + "        optional: maybe\n"),
        "promotion.yaml:9: component 'c', target 't': optional must be true or false",
    ),
    (
        "bad-path",
        _cfg("      - name: t\n        file: a.yaml\n        path: '$.a[?(@.b = 1)]'\n"),
        "promotion.yaml:8: component 'c', target 't': bad path expression: column ",
    ),
    (
        "bad-env-name",
        _cfg("      - name: t\n        file: .env\n        env: 'A-B'\n"),
        "promotion.yaml:8: component 'c', target 't': env 'A-B' is not a valid variable name",
    ),
    (
        "bad-component-name",
        "version: 1\ncomponents:\n  -c:\n    repo: x\n    targets: []\n",
        "promotion.yaml:3: component name '-c' must be letters, digits",
    ),
    (
        "branch-option",
        _cfg(head=HEAD.replace("    targets:", "    branch: --upload-pack=x\n    targets:")),
        "promotion.yaml:5: component 'c': branch: '--upload-pack=x' is not a valid git branch name",
    ),
    (
        "branch-revision-syntax",
        _cfg(head=HEAD.replace("    targets:", "    branch: 'main@{1}'\n    targets:")),
        "promotion.yaml:5: component 'c': branch: 'main@{1}' is not a valid git branch name",
    ),
    (
        "mr-branch-template",
        _cfg() + "merge_request:\n  branch: '-{component}'\n",
        "promotion.yaml:10: merge_request.branch: '-c' is not a valid git branch name",
    ),
    (
        "mr-branch-template-dots",
        _cfg() + "merge_request:\n  branch: 'promote/{component}..{short}'\n",
        "promotion.yaml:10: merge_request.branch: 'promote/c..abc1234' is not a valid git branch name",
    ),
    (
        "mr-target-branch",
        _cfg() + "merge_request:\n  target_branch: 'ma in'\n",
        "promotion.yaml:10: merge_request.target_branch: 'ma in' is not a valid git branch name",
    ),
    (
        "component-name-dots",
        "version: 1\ncomponents:\n  a..b:\n    repo: x\n    targets: []\n",
        "promotion.yaml:3: component name 'a..b' must be letters, digits, '.', '_' or '-' (no '..', no ending",
    ),
    (
        "duplicate-key",
        _cfg(head=HEAD.replace("    targets:", "    repo: y\n    targets:")),
        "promotion.yaml:5: component 'c': key 'repo' appears twice (first at line 4)",
    ),
]


@pytest.mark.parametrize(("config", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_config_error(config: str, message: str, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "r", {"promotion.yaml": config, "a.yaml": "tag: abc1234\n"})
    before = snapshot(repo)
    for argv in (["status", "--offline"], ["promote", "c", "b" * 40, "--offline", "--yes"]):
        code, out, err = run("-C", repo, *argv)
        assert code == 2, err
        assert out == ""
        assert err.startswith(f"promoter: error: {repo / message.split(':', 1)[0]}:"), err
        assert message.split(":", 1)[1] in err, err
        assert snapshot(repo) == before


def test_missing_config_file(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "r", {"a.yaml": "tag: abc1234\n"})
    code, out, err = run("-C", repo, "status")
    assert code == 2
    assert err == (
        f"promoter: error: no promotion.yaml in {repo}: promoter init --component NAME --repo URL writes a first one "
        "(or --config FILE)\n"
    )


def test_config_not_utf8(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "r", {"promotion.yaml": b"version: 1\n# caf\xe9\n"})
    code, _, err = run("-C", repo, "status")
    assert code == 2
    assert "promotion.yaml: not UTF-8 text (byte 16)" in err


def test_outside_a_git_repository(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("-C", tmp_path, "status")
    assert code == 2
    assert f"{tmp_path}: not inside a git repository" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "nope", "b" * 40], "unknown component 'nope'; "),
        (["plan", "cc", "b" * 40], "unknown component 'cc' (did you mean 'c'?); "),
        (["plan", "c", "b" * 40, "--env", "prod"], "c: unknown environment 'prod' (did you mean 'production'?); "
                                                   "valid: production, staging"),
        (["plan", "c", "b" * 40, "--env", "qa"], "c: unknown environment 'qa'; valid: production, staging"),
        (["plan", "c", "b" * 40, "--target", "x"], "c: unknown target 'x'; valid: t, s"),
        (["status", "--env", "prod"], "unknown environment 'prod' (did you mean 'production'?); "
                                      "valid: production, staging"),
    ],
)  # fmt: skip
def test_unknown_names_list_the_valid_ones(argv: list[str], message: str, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    config = (
        HEAD + "      - {name: t, environment: production, file: a.yaml, key: tag}\n"
        "      - {name: s, environment: staging, file: a.yaml, key: tag}\n"
    )
    repo = make_repo(tmp_path / "r", {"promotion.yaml": config, "a.yaml": "tag: abc1234\n"})
    code, out, err = run("-C", repo, "--offline", *argv)
    assert code == 2
    assert message in err
