"""REV resolution and commit counts against real upstream git repositories in temp dirs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from promoter.errors import ExternalError, UsageError
from promoter.model import Component
from promoter.upstream.mirror import Upstream
from tests.conftest import git, make_repo, snapshot


def _upstream(path: Path, commits: int, branch: str = "main") -> list[str]:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    shas = []
    for i in range(commits):
        (path / "f").write_text(f"{i}\n")
        git(path, "add", "f")
        git(path, "commit", "-q", "-m", f"change {i}", env={"GIT_COMMITTER_DATE": f"@{1700000000 + i} +0000"})
        shas.append(git(path, "rev-parse", "HEAD"))
    return shas


def _component(fetch: Path, branch: str | None = None) -> Component:
    return Component("c", "https://github.com/example/c", str(fetch), branch, 7, (), 1)


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "upstream"
    shas = _upstream(path, 5)
    git(path, "tag", "v1", shas[1])
    git(path, "tag", "-a", "v2", "-m", "annotated", shas[2])
    git(path, "branch", "release", shas[3])
    return path, shas


def test_resolves_sha_prefix_branch_and_tags(upstream: tuple[Path, list[str]]) -> None:
    path, shas = upstream
    up = Upstream(_component(path, "main"))
    assert up.resolve(None) == shas[4]
    assert up.resolve(shas[0]) == shas[0]
    assert up.resolve(shas[0][:7]) == shas[0]
    assert up.resolve(shas[0][:12]) == shas[0]
    assert up.resolve("release") == shas[3]
    assert up.resolve("v1") == shas[1]
    assert up.resolve("v2") == shas[2]  # an annotated tag names its commit
    assert up.count(shas[1], shas[4]) == 3


def test_default_branch_is_the_remotes_head(tmp_path: Path) -> None:
    path = tmp_path / "upstream"
    shas = _upstream(path, 2, branch="trunk")
    up = Upstream(_component(path))
    assert up.branch() == "trunk"
    assert up.resolve(None) == shas[1]


def test_unknown_and_ambiguous_revisions(upstream: tuple[Path, list[str]]) -> None:
    path, shas = upstream
    up = Upstream(_component(path, "main"))
    with pytest.raises(UsageError, match="no commit, branch or tag 'nope'"):
        up.resolve("nope")
    with pytest.raises(UsageError, match="no commit, branch or tag 'deadbeef'"):
        up.resolve("deadbeef")
    with pytest.raises(UsageError, match="a sha prefix needs at least 7 hex digits \\('abc12' has 5\\)"):
        up.resolve("abc12")
    with pytest.raises(UsageError, match="is not a commit sha, branch or tag name"):
        up.resolve("--all")


def test_ambiguous_prefix_is_a_usage_error(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """Two real commits whose shas share 7 hex digits (found once by hashing candidate commit
    objects; about 2^14 tries): a REV of that prefix is ambiguous, one more digit is not."""
    path = tmp_path / "upstream"
    _upstream(path, 1)
    git(path, "mktree", input_="")  # the empty tree both commits point at
    shas = []
    for n in (6145, 12025):
        body = (
            "tree 4b825dc642cb6eb9a060e54bf8d69288fe8fb4d3\n"
            "author A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\n"
            f"collision {n}\n"
        )
        sha = git(path, "hash-object", "-t", "commit", "-w", "--stdin", input_=body)
        git(path, "branch", f"c{n}", sha)
        shas.append(sha)
    assert shas[0][:7] == shas[1][:7] and shas[0] != shas[1]
    up = Upstream(_component(path, "main"))
    with pytest.raises(UsageError, match=f"'{shas[0][:7]}' is ambiguous"):
        up.resolve(shas[0][:7])
    longer = next(i for i in range(8, 41) if shas[0][:i] != shas[1][:i])
    assert up.resolve(shas[1][:longer]) == shas[1]


def test_mirror_is_reused_and_only_fetched_when_something_is_missing(upstream: tuple[Path, list[str]]) -> None:
    path, shas = upstream
    assert Upstream(_component(path, "main")).resolve(shas[2]) == shas[2]
    moved = path.with_name("moved-away")
    path.rename(moved)  # upstream gone: what the mirror has still resolves, offline from it
    assert Upstream(_component(path, "main")).resolve(shas[3]) == shas[3]
    assert Upstream(_component(path, "main")).resolve(shas[0][:9]) == shas[0]
    with pytest.raises(ExternalError, match="cannot fetch"):
        Upstream(_component(path, "main")).resolve("f" * 40)  # missing: it must fetch, and cannot
    moved.rename(path)
    (path / "f").write_text("new\n")
    git(path, "commit", "-qam", "newer")
    newest = git(path, "rev-parse", "HEAD")
    assert Upstream(_component(path, "main")).resolve(None) == newest  # the branch moved: fetched


def test_missing_upstream_is_an_external_error(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ExternalError, match=f"c: upstream {tmp_path / 'nowhere'} does not exist"):
        Upstream(_component(tmp_path / "nowhere", "main")).resolve(None)


def _config_repo(tmp_path: Path, fetch: str, deployed: str, other: str) -> Path:
    config = (
        f"version: 1\ncomponents:\n  c:\n    repo: https://github.com/example/c\n    fetch: {fetch}\n"
        "    branch: main\n    targets:\n"
        "      - {name: prod, environment: production, file: a.yaml, key: tag, format: sha}\n"
        "      - {name: ci, environment: pipelines, file: .env, env: TAG}\n"
    )
    return make_repo(
        tmp_path / "config", {"promotion.yaml": config, "a.yaml": f"tag: {deployed}\n", ".env": f"TAG={other}\n"}
    )


def test_status_counts_commits_behind(upstream: tuple[Path, list[str]], tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    path, shas = upstream
    repo = _config_repo(tmp_path, str(path), shas[1], "1234abc")
    code, out, err = run("-C", repo, "status", "-o", "json")
    assert (code, err) == (0, "")
    (doc,) = json.loads(out)["components"]
    assert doc["upstream"] == {"head": {"value": shas[4], "sha": shas[4]}, "error": None}
    assert [(e["environment"], e["behind"]) for e in doc["environments"]] == [
        ("production", [{"version": {"value": shas[1], "sha": shas[1]}, "commits": 3}]),
        ("pipelines", [{"version": {"value": "1234abc", "sha": None}, "commits": None}]),
    ]
    code, out, err = run("-C", repo, "status")
    assert out.splitlines()[0] == f"c: upstream head {shas[4][:7]}"
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line.strip()}
    assert "3 behind" in rows["production"] and "not in upstream" in rows["pipelines"]


def test_status_says_plainly_when_upstream_is_unreachable(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _config_repo(tmp_path, str(tmp_path / "gone"), "a" * 40, "1234abc")
    code, out, err = run("-C", repo, "status")
    assert code == 0
    assert out.splitlines()[0] == f"c: upstream not checked: c: upstream {tmp_path / 'gone'} does not exist"
    code, out, err = run("-C", repo, "status", "--offline")
    assert out.splitlines()[0] == "c: upstream not checked (--offline)"
    assert not any(Path(os.environ["PROMOTER_CACHE_DIR"]).rglob("*.git"))


def test_promote_to_a_branch_name_with_relative_fetch(upstream: tuple[Path, list[str]], tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    path, shas = upstream
    repo = _config_repo(tmp_path, "../upstream", shas[1], shas[1][:7])
    code, out, err = run("-C", repo, "promote", "c", "release", "--yes", "-v")
    assert code == 0, err
    assert f"c: release is {shas[3]}" in err
    assert (repo / "a.yaml").read_text() == f"tag: {shas[3]}\n"
    assert (repo / ".env").read_text() == f"TAG={shas[3][:7]}\n"


@pytest.mark.parametrize("fetch", ["ext::sh -c touch% /tmp/pwned", "fd::3", "ftp://example.com/x.git"])
def test_dangerous_transports_are_refused(fetch: str, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _config_repo(tmp_path, f"'{fetch}'", "a" * 40, "1234abc")
    before = snapshot(repo)
    code, out, err = run("-C", repo, "plan", "c")
    assert code == 2, err
    assert "refusing the git transport of" in err
    assert snapshot(repo) == before
