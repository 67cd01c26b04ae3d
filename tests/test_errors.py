"""Every error path through the CLI: the exit code, the exact message, and nothing written.

Each test builds a real git repository (make_repo), snapshots its files, runs the CLI in-process
and checks the exit code (2 usage/config, 3 refused, 4 external), the specific message (with
file and line where the error has one) and that no file changed.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from promoter.pipeline.apply import lock_holder
from promoter.upstream import git as promoter_git
from tests.conftest import git, holding_lock, make_repo, snapshot

URL = "https://github.com/app-sre/qontract-reconcile"
OLD = "0123456789abcdef0123456789abcdef01234567"
NEW = "fedcba9876543210fedcba9876543210fedcba98"
O7, N7 = OLD[:7], NEW[:7]

BASE = f"""\
version: 1
components:
  qr:
    repo: {URL}
    targets:
      - name: stage
        environment: staging
        file: deploy/stage.yaml
        key: tag
        format: sha
      - name: prod
        environment: production
        file: deploy/prod.env
        env: IMAGE_TAG
  other:
    repo: https://github.com/app-sre/other
    targets:
      - name: web
        file: deploy/other.yaml
        key: image
"""

FILES: dict[str, str | bytes] = {
    "deploy/stage.yaml": f"# staging\ntag: {OLD}\n",
    "deploy/prod.env": f"IMAGE_TAG={O7}\n",
    "deploy/other.yaml": f"image: {O7}\n",
}

Run = Callable[..., tuple[int, str, str]]


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the `nth` occurrence of `needle` in `text`."""
    pos = -1
    for _ in range(nth):
        pos = text.index(needle, pos + 1)
    return text.count("\n", 0, pos) + 1


def repo_with(tmp_path: Path, config: str | None = BASE, extra: dict[str, str | bytes] | None = None) -> Path:
    files = dict(FILES)
    if config is not None:
        files["promotion.yaml"] = config
    files.update(extra or {})
    return make_repo(tmp_path / "repo", files)


def expect(run: Run, root: Path, code: int, *fragments: str, argv: tuple[str, ...] | None = None) -> str:
    """Run the CLI (a promotion by default), check exit code, message fragments, and no file changed."""
    before = snapshot(root)
    argv = argv or ("promote", "qr", NEW, "--offline", "--yes")
    got, out, err = run("-C", root, *argv)
    assert got == code, (got, out, err)
    for f in fragments:
        assert f in err, (f, err)
    assert snapshot(root) == before
    assert lock_holder(root / ".git") is None
    return err


def config_error(run: Run, root: Path, line: int | None, message: str) -> str:
    where = f"promotion.yaml:{line}: " if line is not None else "promotion.yaml: "
    return expect(run, root, 2, where + message)


# -- the config file ----------------------------------------------------------------------------


def test_config_file_missing(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path, None)
    err = expect(run, root, 2, "promoter init --component NAME --repo URL writes a first one (or --config FILE)")
    assert err.startswith(f"promoter: error: no promotion.yaml in {root}: ")


def test_config_given_with_config_option_missing(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    missing = tmp_path / "nope.yaml"
    expect(
        run,
        root,
        2,
        f"{missing}: no such file",
        argv=("--config", str(missing), "promote", "qr", NEW, "--offline", "--yes"),
    )


def test_invalid_yaml_names_line_and_column(tmp_path: Path, run: Run) -> None:
    config = BASE.replace("environment: staging", "environment: staging: now")
    root = repo_with(tmp_path, config)
    assert line_of(config, "staging: now") == 7
    config_error(run, root, 7, "invalid YAML: mapping values are not allowed in this context (column 29)")


def test_invalid_yaml_tab_indentation(tmp_path: Path, run: Run) -> None:
    config = BASE.replace("      - name: prod\n", "      - name: prod\n\t")
    root = repo_with(tmp_path, config)
    config_error(run, root, line_of(config, "\t"), "invalid YAML: found a tab character")


def test_version_missing(tmp_path: Path, run: Run) -> None:
    config = BASE.replace("version: 1\n", "")
    root = repo_with(tmp_path, config)
    config_error(run, root, 1, "missing 'version: 1'")


@pytest.mark.parametrize("version", ["2", "'1'", "1.0", "[1]"])
def test_version_not_1(tmp_path: Path, run: Run, version: str) -> None:
    config = f"# header\n\nversion: {version}\n" + BASE.replace("version: 1\n", "")
    root = repo_with(tmp_path, config)
    config_error(run, root, 3, "unsupported config version; this promoter reads 'version: 1'")


@pytest.mark.parametrize(
    ("good", "bad", "message"),
    [
        ("components:", "componets:", "top level: unknown key 'componets'; did you mean 'components'?"),
        ("    targets:", "    targts:", "component 'qr': unknown key 'targts'; did you mean 'targets'?"),
        (
            "    repo: " + URL,
            "    repo: " + URL + "\n    brnach: main",
            "component 'qr': unknown key 'brnach'; did you mean 'branch'?",
        ),
        (
            "        file: deploy/stage.yaml",
            "        fiel: deploy/stage.yaml",
            "component 'qr': target: unknown key 'fiel'; did you mean 'file'?",
        ),
        (
            "        format: sha",
            "        formt: sha",
            "component 'qr': target: unknown key 'formt'; did you mean 'format'?",
        ),
    ],
    ids=["componets", "targts", "brnach", "fiel", "formt"],
)
def test_unknown_key_did_you_mean(tmp_path: Path, run: Run, good: str, bad: str, message: str) -> None:
    assert good in BASE
    config = BASE.replace(good, bad, 1)
    root = repo_with(tmp_path, config)
    bad_key = bad.strip().split("\n")[-1].split(":")[0].strip()
    config_error(run, root, line_of(config, bad_key + ":"), message)


def test_unknown_key_without_a_near_match_lists_the_keys(tmp_path: Path, run: Run) -> None:
    config = BASE.replace("        format: sha", "        zzz: sha")
    root = repo_with(tmp_path, config)
    config_error(
        run,
        root,
        line_of(config, "zzz:"),
        "component 'qr': target: unknown key 'zzz'; expected one of: name, environment, file, files, format, "
        "optional, tag_pattern, "
        "saas, env, key, path, regex",
    )


# (id, text of BASE, replaced by, the line the message names holds, message after "component 'qr', ")
TARGET_ERRORS = [
    (
        "two-locators",
        "        key: tag\n",
        "        key: tag\n        regex: 'tag: (?P<version>\\w+)'\n",
        "- name: stage",
        "target 'stage': give exactly one locator of saas, env, key, path, regex (found key, regex)",
    ),
    (
        "no-locator",
        "        key: tag\n",
        "",
        "- name: stage",
        "target 'stage': give exactly one locator of saas, env, key, path, regex (found none)",
    ),
    (
        "file-and-files",
        "        file: deploy/prod.env\n",
        "        file: deploy/prod.env\n        files: 'deploy/*.env'\n",
        "- name: prod",
        "target 'prod': give exactly one of 'file' or 'files'",
    ),
    (
        "neither-file-nor-files",
        "        file: deploy/prod.env\n",
        "",
        "- name: prod",
        "target 'prod': give exactly one of 'file' or 'files'",
    ),
    (
        "bad-regex",
        "        key: tag\n",
        "        regex: 'tag: (?P<version>[0-9a-f+'\n",
        "regex:",
        "target 'stage': bad regex: unterminated character set at position 17",
    ),
    (
        "regex-without-version-group",
        "        key: tag\n",
        "        regex: 'tag: ([0-9a-f]+)'\n",
        "regex:",
        "target 'stage': the regex needs a named group (?P<version>...)",
    ),
    (
        "regex-without-explicit-format",
        "        key: tag\n        format: sha\n",
        "        regex: 'tag: (?P<version>[0-9a-f]+)'\n",
        "- name: stage",
        "target 'stage': a regex locator needs an explicit 'format' (sha, short or tag)",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "at", "message"), [c[1:] for c in TARGET_ERRORS], ids=[c[0] for c in TARGET_ERRORS]
)
def test_target_config_error(tmp_path: Path, run: Run, old: str, new: str, at: str, message: str) -> None:
    assert old in BASE
    config = BASE.replace(old, new, 1)
    config_error(run, repo_with(tmp_path, config), line_of(config, at), f"component 'qr', {message}")


def test_duplicate_target_names_name_the_first_line(tmp_path: Path, run: Run) -> None:
    config = BASE.replace("      - name: prod", "      - name: stage")
    root = repo_with(tmp_path, config)
    first = line_of(config, "- name: stage")
    second = line_of(config, "- name: stage", 2)
    assert (first, second) == (6, 11)
    config_error(run, root, 11, "component 'qr': duplicate target name 'stage' (first at line 6)")


def test_duplicate_key_in_config(tmp_path: Path, run: Run) -> None:
    config = BASE.replace("        format: sha\n", "        format: sha\n        format: short\n")
    root = repo_with(tmp_path, config)
    config_error(
        run,
        root,
        line_of(config, "format: short"),
        f"component 'qr': target: key 'format' appears twice (first at line {line_of(config, 'format: sha')})",
    )


@pytest.mark.parametrize("path", ["/etc/passwd", "C:/deploy/stage.yaml"])
def test_absolute_file_is_refused(tmp_path: Path, run: Run, path: str) -> None:
    config = BASE.replace("file: deploy/stage.yaml", f"file: '{path}'")
    root = repo_with(tmp_path, config)
    config_error(
        run,
        root,
        line_of(config, path),
        f"component 'qr', target 'stage': file '{path}' must be relative to the repository root",
    )


@pytest.mark.parametrize("path", ["../outside.yaml", "deploy/../../outside.yaml", ".."])
def test_file_escaping_with_dotdot_is_refused(tmp_path: Path, run: Run, path: str) -> None:
    (tmp_path / "outside.yaml").write_text(f"tag: {OLD}\n")
    config = BASE.replace("file: deploy/stage.yaml", f"file: '{path}'")
    root = repo_with(tmp_path, config)
    config_error(
        run, root, line_of(config, path), f"component 'qr', target 'stage': file '{path}' points outside the repository"
    )
    assert (tmp_path / "outside.yaml").read_text() == f"tag: {OLD}\n"


def test_files_glob_escaping_with_dotdot_is_refused(tmp_path: Path, run: Run) -> None:
    config = BASE.replace("file: deploy/stage.yaml", "files: '../*.yaml'")
    root = repo_with(tmp_path, config)
    config_error(
        run,
        root,
        line_of(config, "../*.yaml"),
        "component 'qr', target 'stage': files '../*.yaml' points outside the repository",
    )


def test_files_glob_matching_nothing_is_refused(tmp_path: Path, run: Run) -> None:
    config = BASE.replace("file: deploy/stage.yaml", "files: 'clusters/*/stage.yaml'")
    root = repo_with(tmp_path, config)
    expect(run, root, 3, "promoter: error: target 'stage': the glob clusters/*/stage.yaml matches no file")


def test_file_symlinked_outside_the_repository(tmp_path: Path, run: Run) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(f"tag: {OLD}\n")
    root = repo_with(tmp_path)
    (root / "deploy/stage.yaml").unlink()
    (root / "deploy/stage.yaml").symlink_to(outside)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "symlink")
    err = expect(run, root, 3, "deploy/stage.yaml: resolves to", "outside the repository")
    assert str(outside.resolve()) in err
    assert outside.read_text() == f"tag: {OLD}\n"


def test_directory_symlinked_outside_the_repository(tmp_path: Path, run: Run) -> None:
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext/stage.yaml").write_text(f"tag: {OLD}\n")
    root = repo_with(tmp_path, BASE.replace("file: deploy/stage.yaml", "file: linked/stage.yaml"))
    (root / "linked").symlink_to(tmp_path / "ext")
    expect(run, root, 3, "linked/stage.yaml: resolves to", "outside the repository")
    assert (tmp_path / "ext/stage.yaml").read_text() == f"tag: {OLD}\n"


@pytest.mark.parametrize("fmt", ["long", "SHA", "full"])
def test_bad_format(tmp_path: Path, run: Run, fmt: str) -> None:
    config = BASE.replace("format: sha", f"format: {fmt}")
    root = repo_with(tmp_path, config)
    config_error(
        run,
        root,
        line_of(config, f"format: {fmt}"),
        f"component 'qr', target 'stage': format must be 'sha', 'short', 'digest' or 'tag', not '{fmt}'",
    )


@pytest.mark.parametrize("value", ["3", "40", "0", "100"])
def test_short_length_out_of_range(tmp_path: Path, run: Run, value: str) -> None:
    config = BASE.replace("    targets:", f"    short_length: {value}\n    targets:", 1)
    root = repo_with(tmp_path, config)
    config_error(
        run,
        root,
        line_of(config, "short_length:"),
        f"component 'qr': short_length must be a whole number from 4 to 39, not {int(value)}",
    )


@pytest.mark.parametrize("value", ["-1", "seven", "'7'", "7.5"])
def test_short_length_not_a_whole_number(tmp_path: Path, run: Run, value: str) -> None:
    config = BASE.replace("    targets:", f"    short_length: {value}\n    targets:", 1)
    root = repo_with(tmp_path, config)
    config_error(
        run, root, line_of(config, "short_length:"), "component 'qr': short_length must be a whole number from 4 to 39"
    )


# -- the command line ---------------------------------------------------------------------------


def test_unknown_component_lists_defined_ones_with_did_you_mean(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    expect(
        run,
        root,
        2,
        "unknown component 'qrr' (did you mean 'qr'?); ",
        "promotion.yaml defines: other, qr",
        argv=("promote", "qrr", NEW, "--offline", "--yes"),
    )


def test_unknown_component_without_near_match(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    err = expect(run, root, 2, "unknown component 'zzzz'; ", "defines: other, qr", argv=("status", "zzzz", "--offline"))
    assert "did you mean" not in err


@pytest.mark.parametrize("command", ["plan", "promote"])
def test_unknown_env_lists_valid_ones(tmp_path: Path, run: Run, command: str) -> None:
    root = repo_with(tmp_path)
    expect(
        run,
        root,
        2,
        "qr: unknown environment 'prd'; valid: production, staging",
        argv=(command, "qr", NEW, "--offline", "--env", "prd"),
    )


@pytest.mark.parametrize("command", ["plan", "promote"])
def test_unknown_target_lists_valid_ones(tmp_path: Path, run: Run, command: str) -> None:
    root = repo_with(tmp_path)
    expect(
        run,
        root,
        2,
        "qr: unknown target 'staging' (did you mean 'stage'?); valid: stage, prod",
        argv=(command, "qr", NEW, "--offline", "--target", "staging"),
    )


def test_status_unknown_env_lists_valid_ones(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    expect(
        run,
        root,
        2,
        "unknown environment 'qa'; valid: production, staging, web",
        argv=("status", "--offline", "--env", "qa"),
    )


# -- the target files ---------------------------------------------------------------------------


def test_target_file_missing_names_target_and_file(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    (root / "deploy/stage.yaml").rename(root / "deploy/staging.yaml")
    expect(run, root, 3, "deploy/stage.yaml: target 'stage': no such file (moved or renamed?)")


def test_target_file_not_utf8(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path, extra={"deploy/stage.yaml": b"# staging\n# caf\xe9\ntag: " + OLD.encode() + b"\n"})
    expect(
        run,
        root,
        3,
        "deploy/stage.yaml:2: not UTF-8 text (byte 15); promoter edits UTF-8 files only",
    )


def test_target_yaml_invalid_names_file_and_line(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    (root / "deploy/stage.yaml").write_text(f"# staging\nimage:\n  name: x\n tag: {OLD}\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "broken")
    err = expect(run, root, 3, "promoter: error: deploy/stage.yaml:4: invalid YAML: ")
    assert re.search(r"\(column \d+\)", err)


def test_target_locating_no_pinned_value_is_refused(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    (root / "deploy/stage.yaml").write_text("tag: master\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tracking")
    expect(
        run,
        root,
        3,
        "deploy/stage.yaml: target 'stage' (key tag) located no pinned 40-hex sha; found only 'master'",
    )


# -- REV ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rev", [None, O7, OLD[:39], "main", "v1.0", NEW.upper()])
def test_offline_needs_a_full_sha(tmp_path: Path, run: Run, rev: str | None) -> None:
    root = repo_with(tmp_path)
    argv = ("promote", "qr", *([rev] if rev else []), "--offline", "--yes")
    expect(run, root, 2, "with --offline, give REV as a full 40-character commit sha", argv=argv)
    argv = ("plan", "qr", *([rev] if rev else []), "--offline")
    expect(run, root, 2, "with --offline, give REV as a full 40-character commit sha", argv=argv)


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Every command line promoter runs through subprocess.run."""
    calls: list[list[str]] = []
    real = promoter_git.subprocess.run

    def recording(cmd, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append([str(c) for c in cmd])
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(promoter_git.subprocess, "run", recording)
    yield calls


@pytest.fixture
def upstream_repo(tmp_path: Path) -> Path:
    up = tmp_path / "upstream"
    up.mkdir()
    git(up, "init", "-q", "-b", "main")
    (up / "f").write_text("1\n")
    git(up, "add", "-A")
    git(up, "commit", "-q", "-m", "one")
    return up


@pytest.mark.parametrize(
    "rev",
    [
        "-n",
        "--upload-pack=touch PWNED",
        "-oops",
        "main..HEAD",
        "abc1234..def5678",
        "$(touch PWNED)",
        "main;touch PWNED",
        "main^",
        "HEAD^{tree}",
        "main`touch PWNED`",
        "main|true",
        "main~1",
        "@{-1}",
        "main:f",
        "ma in",
    ],
)
@pytest.mark.parametrize("offline", [False, True])
@pytest.mark.parametrize("command", ["promote", "plan"])
def test_unsafe_rev_is_refused_and_never_reaches_git(
    tmp_path: Path, run: Run, git_calls: list[list[str]], upstream_repo: Path, rev: str, offline: bool, command: str
) -> None:
    config = BASE.replace(f"    repo: {URL}\n", f"    repo: {URL}\n    fetch: {upstream_repo}\n", 1)
    root = repo_with(tmp_path, config)
    yes = ["--yes"] if command == "promote" else []
    argv = (command, *yes, *(["--offline"] if offline else []), "qr", "--", rev)
    before_up = snapshot(upstream_repo)
    err = expect(run, root, 2, f"promoter: error: '{rev}' is not a commit sha, branch or tag name", argv=argv)
    assert "Traceback" not in err
    for cmd in git_calls:
        assert not any(rev in arg for arg in cmd), cmd
    assert not (tmp_path / "PWNED").exists() and not (root / "PWNED").exists()
    assert not Path("PWNED").exists()
    assert snapshot(upstream_repo) == before_up
    # nothing upstream was even cloned
    assert not (Path(os.environ["PROMOTER_CACHE_DIR"]) / "mirrors").exists()


@pytest.mark.parametrize("rev", ["-n", "--upload-pack=x"])
def test_rev_starting_with_dash_without_double_dash_is_a_usage_error(
    tmp_path: Path, run: Run, git_calls: list[list[str]], rev: str
) -> None:
    root = repo_with(tmp_path)
    expect(
        run,
        root,
        2,
        f"unrecognized arguments: {rev} (see 'promoter promote --help')",
        argv=("promote", "qr", rev, "--yes"),
    )
    for cmd in git_calls:
        assert not any(rev in arg for arg in cmd), cmd


# -- writing ------------------------------------------------------------------------------------


def test_uncommitted_change_in_a_file_to_be_written_is_refused(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    (root / "deploy/stage.yaml").write_text(f"# staging, edited by hand\ntag: {OLD}\n")
    expect(
        run,
        root,
        3,
        "uncommitted changes in files this promotion would write: deploy/stage.yaml "
        "(commit or stash them, or pass --allow-dirty)",
    )
    code, out, err = run("-C", root, "promote", "qr", NEW, "--offline", "--yes", "--allow-dirty")
    assert code == 0, err
    assert f"promoted qr to {N7} in 2 files" in out
    assert (root / "deploy/stage.yaml").read_text() == f"# staging, edited by hand\ntag: {NEW}\n"
    assert (root / "deploy/prod.env").read_text() == f"IMAGE_TAG={N7}\n"
    assert (root / "deploy/other.yaml").read_text() == f"image: {O7}\n"


def test_dirty_file_not_written_by_the_promotion_does_not_block_it(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    (root / "deploy/other.yaml").write_text(f"# edited\nimage: {O7}\n")
    code, out, err = run("-C", root, "promote", "qr", NEW, "--offline", "--yes", "--target", "stage")
    assert code == 0, err
    assert (root / "deploy/stage.yaml").read_text() == f"# staging\ntag: {NEW}\n"
    assert (root / "deploy/prod.env").read_text() == f"IMAGE_TAG={O7}\n"


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_lock_file_left_by_a_dead_process_blocks_nobody(tmp_path: Path, run: Run) -> None:
    """The lock is the kernel's, released when its process ends: whatever a lock file says (a
    killed run's pid, which another container may be running now), nobody holds it."""
    root = repo_with(tmp_path)
    lock = root / ".git" / "promoter.lock"
    lock.write_text(f"pid 2 on {socket.gethostname()} since 2026-01-01 00:00:00 UTC")  # pid 2 is alive
    code, out, err = run("-C", root, "promote", "qr", NEW, "--offline", "--yes")
    assert code == 0, err
    assert (root / "deploy/stage.yaml").read_text() == f"# staging\ntag: {NEW}\n"
    assert lock.exists() and lock_holder(root / ".git") is None  # the file stays; the lock is free


def test_lock_held_by_a_live_process_refuses(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    lock = root / ".git" / "promoter.lock"
    holder = "pid 4242 on ci-runner-7 since 2026-12-01 10:00:00 UTC"
    with holding_lock(root / ".git", holder):
        before = snapshot(root)
        code, out, err = run("-C", root, "promote", "qr", NEW, "--offline", "--yes")
        assert code == 3, (out, err)
        assert err.endswith(
            f"promoter: error: another promoter run holds the lock {lock} ({holder}); wait for it to finish\n"
        )
        assert snapshot(root) == before
        assert lock.read_text() == holder  # not stolen, not rewritten
    code, out, err = run("-C", root, "promote", "qr", NEW, "--offline", "--yes")  # its process is gone now
    assert code == 0, err


def test_a_lock_file_that_cannot_be_created_is_a_refusal_naming_it(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    lock = root / ".git" / "promoter.lock"
    lock.mkdir()  # stands for a git dir where the file cannot be made (disk full, read-only)
    before = snapshot(root)
    code, out, err = run("-C", root, "promote", "qr", NEW, "--offline", "--yes")
    assert code == 3, err
    assert err.endswith(f"promoter: error: cannot create the lock file {lock}: Is a directory; nothing written\n")
    assert snapshot(root) == before


# -- the repository and the command line itself -------------------------------------------------


def test_outside_a_git_repository(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "promotion.yaml").write_text(BASE)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    before = snapshot(plain)
    code, out, err = run("-C", plain, "status", "--offline")
    assert code == 2
    assert f"{plain}: not inside a git repository (use -C to point at the config repository)" in err
    assert snapshot(plain) == before


def test_outside_a_git_repository_from_the_working_directory(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(plain)
    code, out, err = run("promote", "qr", NEW, "--offline", "--yes")
    assert code == 2
    assert "not inside a git repository" in err


def test_plan_detailed_exitcode(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    before = snapshot(root)
    code, out, err = run("-C", root, "plan", "qr", NEW, "--offline", "--detailed-exitcode")
    assert code == 5, err  # changes pending: a code of its own, never 2 (usage or config error)
    assert f"+tag: {NEW}" in out and f"-tag: {OLD}" in out
    assert snapshot(root) == before
    code, out, err = run("-C", root, "plan", "qr", OLD, "--offline", "--detailed-exitcode")
    assert code == 0, err
    assert f"qr: every selected target is already at {O7}; nothing to change" in out
    # without the flag a plan with changes exits 0
    code, out, err = run("-C", root, "plan", "qr", NEW, "--offline")
    assert code == 0, err
    assert snapshot(root) == before


def test_plan_detailed_exitcode_with_json(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    code, out, err = run("-C", root, "plan", "qr", NEW, "--offline", "--detailed-exitcode", "-o", "json")
    assert code == 5, err
    assert '"changed": true' in out
    code, out, err = run("-C", root, "plan", "qr", OLD, "--offline", "--detailed-exitcode", "-o", "json")
    assert code == 0, err
    assert '"changed": false' in out


def test_promote_noop_when_already_at_the_version(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    before = snapshot(root)
    code, out, err = run("-C", root, "promote", "qr", OLD, "--offline", "--yes")
    assert code == 0, err
    assert out == f"qr: every selected target is already at {O7}; nothing to change\n"
    assert snapshot(root) == before


def test_promote_then_promote_again_is_a_noop(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    code, out, err = run("-C", root, "promote", "qr", NEW, "--offline", "--yes")
    assert code == 0, err
    after = snapshot(root)
    code, out, err = run("-C", root, "promote", "qr", NEW, "--offline", "--yes")
    assert code == 0, err
    assert f"already at {N7}; nothing to change" in out
    assert snapshot(root) == after


def test_no_command_exits_2(run: Run) -> None:
    code, out, err = run()
    assert code == 2
    assert "usage: promoter" in out


@pytest.mark.parametrize(
    "argv",
    [
        ("--frobnicate",),
        ("status", "--frobnicate"),
        ("plan", "qr", "--frobnicate"),
        ("promote", "qr", NEW, "--no-such-option"),
        ("status", "-o", "yaml"),
        ("frobnicate",),
        ("plan",),
    ],
)
def test_unknown_option_or_command_exits_2(tmp_path: Path, run: Run, argv: tuple[str, ...]) -> None:
    root = repo_with(tmp_path)
    err = expect(run, root, 2, "promoter: error: ", "--help')", argv=argv)
    assert "Traceback" not in err
