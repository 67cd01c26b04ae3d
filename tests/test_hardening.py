"""The engine against what a real user (or someone trying to break it) does: credentials in
every URL form, the transports git accepts, repositories and caches it cannot use, files that
the config names but that lie outside the repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from promoter.errors import ExternalError, UsageError
from promoter.model import Component
from promoter.upstream.mirror import Upstream
from promoter.urls import redact
from tests.test_errors import BASE, NEW, Run, expect, repo_with


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("git+ssh://deploy:s3cret@host/x.git", "s3cret"),
        ("https://user:p@ss@w0rd@gitlab.example.com/group/x.git failed", "p@ss@w0rd"),
        ("https://gitlab.example.com/api/v4/projects?private_token=glpat-abc123&x=1", "glpat-abc123"),
        ("GET https://api.example.com/x?per_page=1&access_token=gho_abc 401", "gho_abc"),
        ("clone 'https://oauth2:tok3n@gitlab.com/a/b.git' failed", "tok3n"),
    ],
)
def test_redact_leaves_no_credential_in_any_url_form(text: str, secret: str) -> None:
    shown = redact(text)
    assert secret not in shown and "***" in shown


def test_redact_keeps_what_is_no_credential() -> None:
    text = "https://github.com/app-sre/qontract-reconcile/compare/a...b?w=1 by ada@example.com"
    assert redact(text) == text


@pytest.mark.parametrize(
    "fetch", ["git@github.com:app-sre/qontract-reconcile.git", "git+ssh://git@github.com/app-sre/x.git"]
)
def test_ssh_locations_git_accepts_are_valid_upstreams(fetch: str, tmp_path: Path) -> None:
    up = Upstream(Component("c", "https://github.com/app-sre/x", fetch, "main", 7, (), 1), cache=tmp_path)
    assert up._source() == fetch


@pytest.mark.parametrize("fetch", ["ext::sh -c touch% /tmp/pwned", "fd::17", "-oProxyCommand=touch /tmp/x"])
def test_dangerous_transports_are_refused(fetch: str, tmp_path: Path) -> None:
    up = Upstream(Component("c", "https://github.com/app-sre/x", fetch, "main", 7, (), 1), cache=tmp_path)
    with pytest.raises((UsageError, ExternalError)) as caught:  # refused, or a path that does not exist:
        up._source()  # never handed to git as a transport or an option
    assert "refusing the git transport" in str(caught.value) or "does not exist" in str(caught.value)


def test_a_repository_owned_by_someone_else_says_so(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    os.chown(root, 12345, 12345)  # git's safe.directory check: the work tree is not ours
    try:
        code, out, err = run("-C", root, "status", "--offline")
    finally:
        os.chown(root, os.getuid(), os.getgid())
    assert code == 2, err
    assert f"promoter: error: {root}: git refuses to work in this repository: it is owned by another user" in err
    assert f"git config --global --add safe.directory {root}" in err
    assert "not inside a git repository" not in err


def test_an_unusable_cache_directory_is_a_one_line_error(tmp_path: Path, run: Run) -> None:
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache directory should be\n")
    config = BASE.replace("    repo: https://github.com/app-sre/other\n", f"    repo: {tmp_path / 'up'}\n")
    root = repo_with(tmp_path, config)
    os.environ["PROMOTER_CACHE_DIR"] = str(cache)  # the autouse fixture restores it
    code, out, err = run("-C", root, "plan", "other")
    assert code == 4, err
    assert err.startswith(f"promoter: error: cannot use the cache directory {cache / 'mirrors'}: ")
    assert err.rstrip().endswith("set PROMOTER_CACHE_DIR to a writable directory") and err.count("\n") == 1


def test_people_file_symlinked_out_of_the_repository_is_refused_unread(tmp_path: Path, run: Run) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$very-secret-hash:19000:0:99999:7:::\n")
    root = repo_with(tmp_path, BASE + "people: people.yaml\n")
    (root / "people.yaml").symlink_to(secret)
    subprocess.run(["git", "add", "people.yaml"], cwd=root, check=True)
    err = expect(run, root, 2, "people: people.yaml resolves to", "outside the repository", argv=("check",))
    assert "very-secret-hash" not in err and "root:" not in err


def test_people_file_with_bad_yaml_shows_no_content(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path, BASE + "people: people.yaml\n", {"people.yaml": "ada: [unclosed secret-token-xyz\n"})
    err = expect(run, root, 2, "people: people.yaml:", "invalid YAML", argv=("status", "--offline"))
    assert "secret-token-xyz" not in err


def test_new_is_still_promoted_after_the_hardening(tmp_path: Path, run: Run) -> None:
    root = repo_with(tmp_path)
    code, out, err = run("-C", root, "promote", "qr", NEW, "--offline", "--yes")
    assert code == 0, err


# -- output that can be trusted -----------------------------------------------------------------
EVIL_SUBJECT = "fix\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \u202etxt.exe\x07"
EVIL_AUTHOR = "Eve\x1b[31m Mallory"


def test_control_characters_from_upstream_reach_no_terminal_commit_or_report(tmp_path: Path, run: Run) -> None:
    from tests.conftest import git, make_repo

    up = make_repo(tmp_path / "up", {"a": "1\n"})
    old = git(up, "rev-parse", "HEAD")
    (up / "a").write_text("2\n")
    git(up, "commit", "-q", "-am", EVIL_SUBJECT, env={"GIT_AUTHOR_NAME": EVIL_AUTHOR})
    new = git(up, "rev-parse", "HEAD")
    config = (
        f"version: 1\ncomponents:\n  c:\n    repo: https://github.com/org/c\n    fetch: {up}\n    branch: main\n"
        "    targets:\n      - {name: prod, file: prod.yaml, key: ref, format: sha}\n"
    )
    root = make_repo(tmp_path / "config", {"promotion.yaml": config, "prod.yaml": f"ref: {old}\n"})
    outputs = []
    for argv in (("changelog", "c"), ("changelog", "c", "-o", "markdown"), ("promote", "c", "--yes", "--commit")):
        code, out, err = run("-C", root, *argv)
        assert code == 0, err
        outputs.append(out + err)
    message = git(root, "log", "-1", "--format=%B")
    assert git(root, "log", "-1", "--format=%(trailers:key=Promoted-To,valueonly)").strip() == new
    for text in (*outputs, message):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, repr(text)
    assert "fix\\x1b[2J" in outputs[0] and "Eve\\x1b[31m Mallory" in outputs[0]  # shown, inert
    code, out, err = run("-C", root, "history", "c", "-o", "html", "--out", tmp_path / "h.html")
    page = (tmp_path / "h.html").read_text()
    assert code == 0 and "\x1b" not in page


# -- files that are not plain files ---------------------------------------------------------------
LINKED = """version: 1
components:
  c:
    repo: https://github.com/org/c
    targets:
      - {name: prod, file: current.yaml, key: tag}
"""


def test_a_symlinked_target_stays_a_symlink_and_the_file_behind_it_is_promoted(tmp_path: Path, run: Run) -> None:
    from tests.conftest import git, make_repo

    root = make_repo(tmp_path / "r", {"promotion.yaml": LINKED, "releases/v2.yaml": "tag: 0123456\n"})
    (root / "current.yaml").symlink_to("releases/v2.yaml")
    git(root, "add", "current.yaml")
    git(root, "commit", "-q", "-m", "link")
    code, out, err = run("-C", root, "promote", "c", NEW, "--offline", "--yes")
    assert code == 0, err
    assert (root / "current.yaml").is_symlink() and os.readlink(root / "current.yaml") == "releases/v2.yaml"
    assert (root / "releases/v2.yaml").read_text() == f"tag: {NEW[:7]}\n"


def test_owner_and_mode_are_kept(tmp_path: Path, run: Run) -> None:
    from tests.conftest import make_repo

    root = make_repo(
        tmp_path / "r", {"promotion.yaml": LINKED.replace("current.yaml", "c.yaml"), "c.yaml": "tag: 0123456\n"}
    )
    os.chmod(root / "c.yaml", 0o640)
    if os.geteuid() == 0:
        os.chown(root / "c.yaml", 12345, 23456)
    code, out, err = run("-C", root, "promote", "c", NEW, "--offline", "--yes")
    assert code == 0, err
    st = (root / "c.yaml").stat()
    assert st.st_mode & 0o7777 == 0o640
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (12345, 23456)


def test_a_hard_linked_target_is_refused(tmp_path: Path, run: Run) -> None:
    from tests.conftest import make_repo

    root = make_repo(
        tmp_path / "r", {"promotion.yaml": LINKED.replace("current.yaml", "c.yaml"), "c.yaml": "tag: 0123456\n"}
    )
    os.link(root / "c.yaml", tmp_path / "elsewhere.yaml")
    argv = ("promote", "c", NEW, "--offline", "--yes")
    err = expect(run, root, 3, "c.yaml: has 2 hard links, which writing a new file would split", argv=argv)
    assert (tmp_path / "elsewhere.yaml").read_text() == "tag: 0123456\n" and "nothing written" in err


# -- formats ----------------------------------------------------------------------------------------
DIGITS = "1234567" + "0" * 33  # its short form is all digits: YAML reads 1234567 as a number


def _regex_repo(tmp_path: Path, file: str, text: str, regex: str) -> Path:
    from tests.conftest import make_repo

    config = (
        "version: 1\ncomponents:\n  c:\n    repo: https://github.com/org/c\n    targets:\n"
        f"      - name: t\n        file: {file}\n        format: short\n        regex: {regex}\n"
    )
    return make_repo(tmp_path / "r", {"promotion.yaml": config, file: text})


def test_a_regex_target_in_a_yaml_template_writes_a_number_like_sha_quoted(tmp_path: Path, run: Run) -> None:
    root = _regex_repo(
        tmp_path, "values.yaml.j2", "image:\n  tag: abc1234  # pinned\n", """'tag: ["'']?(?P<version>[0-9a-f]{7})'"""
    )
    code, out, err = run("-C", root, "promote", "c", DIGITS, "--offline", "--yes")
    assert code == 0, err
    assert (root / "values.yaml.j2").read_text() == "image:\n  tag: '1234567'  # pinned\n"


def test_a_regex_that_cannot_see_the_quotes_is_refused_with_how_to_write_it(tmp_path: Path, run: Run) -> None:
    root = _regex_repo(tmp_path, "values.yaml.j2", "tag: abc1234\n", "'tag: (?P<version>[0-9a-f]{7})'")
    argv = ("promote", "c", DIGITS, "--offline", "--yes")
    err = expect(run, root, 3, "YAML would read 1234567 unquoted as a number", "allow quotes", argv=argv)
    assert "nothing written" in err


def test_a_regex_target_outside_yaml_is_written_as_it_is(tmp_path: Path, run: Run) -> None:
    root = _regex_repo(tmp_path, "deploy.sh", "TAG=abc1234\n", "'TAG=(?P<version>[0-9a-f]{7})'")
    code, out, err = run("-C", root, "promote", "c", DIGITS, "--offline", "--yes")
    assert code == 0, err
    assert (root / "deploy.sh").read_text() == "TAG=1234567\n"


OPTIONAL = """version: 1
components:
  c:
    repo: https://github.com/org/c
    targets:
      - {name: a, file: a.yaml, key: tag}
      - {name: old, file: old/layout.yaml, key: tag, optional: true}
      - {name: g, files: "gone/*.yaml", key: tag, optional: true}
"""


def test_an_optional_target_whose_file_is_missing_is_skipped_by_every_command(tmp_path: Path, run: Run) -> None:
    """Targets for an older layout can live in the main config: check, plan, status and promote
    all skip them, with a note."""
    from tests.conftest import make_repo

    root = make_repo(tmp_path / "r", {"promotion.yaml": OPTIONAL, "a.yaml": "tag: abc1234\n"})
    assert run("-C", root, "check")[:2] == (0, "ok: no problems\n")
    code, out, err = run("-C", root, "plan", "c", NEW, "--offline")
    assert code == 0, err
    assert "old [old] old/layout.yaml: skipped (optional, nothing located)\n" in out
    assert "warning: old/layout.yaml: target 'old': no such file (moved or renamed?) (optional: skipped)" in err
    code, out, err = run("-C", root, "status", "--offline")
    assert code == 0 and "optional: skipped" in out
    code, out, err = run("-C", root, "promote", "c", NEW, "--offline", "--yes")
    assert code == 0, err
    assert (root / "a.yaml").read_text() == f"tag: {NEW[:7]}\n"


def test_a_glob_neither_hangs_on_a_symlink_loop_nor_plans_a_file_twice(tmp_path: Path, run: Run) -> None:
    from tests.conftest import git, make_repo

    config = LINKED.replace("file: current.yaml", 'files: "deploy/**/*.yaml"')
    root = make_repo(tmp_path / "r", {"promotion.yaml": config, "deploy/a/values.yaml": "tag: abc1234\n"})
    (root / "deploy" / "loop").symlink_to(".")  # deploy/loop -> deploy: a loop for a following glob
    (root / "deploy" / "b").symlink_to("a")  # a directory linked: deploy/b/values.yaml is the same file
    (root / "deploy" / "a" / "same.yaml").symlink_to("values.yaml")  # a file linked next to it
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "links")
    code, out, err = run("-C", root, "plan", "c", NEW, "--offline")
    assert code == 0, err
    assert out.count("+++ b/") == 1 and "+++ b/deploy/a/values.yaml" in out
    assert "(1 place)" in out
