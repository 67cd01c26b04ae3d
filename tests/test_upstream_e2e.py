"""The upstream repository end to end: real upstream git repos in temp dirs, through the CLI and
through `promoter.upstream.Upstream`.

Every upstream is a local repository (the component's `fetch:`), while `repo:` is a GitHub URL,
as in a real config. The mirror cache is per test ($PROMOTER_CACHE_DIR, set by conftest).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promoter.errors import ExternalError, Refused, UsageError
from promoter.model import Component
from promoter.upstream import git as promoter_git
from promoter.upstream.mirror import Upstream
from tests.conftest import git, make_repo, snapshot

REPO_URL = "https://github.com/example/app"
UNKNOWN = "1234567890abcdef1234567890abcdef12345678"  # a sha no upstream here has

Run = Callable[..., tuple[int, str, str]]


@dataclass
class Up:
    path: Path
    c: list[str]  # the commits of main, oldest first
    feature: str  # a commit on branch `feature`, not on main
    v2_object: str  # the annotated tag object of v2 (not a commit)


def _commit(path: Path, i: int, name: str = "f") -> str:
    (path / name).write_text(f"{name} {i}\n")
    git(path, "add", "-A")
    when = {"GIT_AUTHOR_DATE": f"@{1700000000 + i * 60} +0000", "GIT_COMMITTER_DATE": f"@{1700000000 + i * 60} +0000"}
    git(path, "commit", "-q", "-m", f"change {i}", env=when)
    return git(path, "rev-parse", "HEAD")


def make_upstream(path: Path, commits: int = 6, branch: str = "main") -> Up:
    """main: c0..c5; tag v1 (lightweight) at c1, v2 (annotated) at c2; branch release at c3;
    branch feature: one commit off c4, not merged."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    c = [_commit(path, i) for i in range(commits)]
    git(path, "tag", "v1", c[1])
    git(path, "tag", "-a", "v2", "-m", "release 2", c[2])
    git(path, "branch", "release", c[3])
    git(path, "checkout", "-q", "-b", "feature", c[4])
    feature = _commit(path, 100, "g")
    git(path, "checkout", "-q", branch)
    return Up(path, c, feature, git(path, "rev-parse", "refs/tags/v2"))


@pytest.fixture
def up(tmp_path: Path) -> Up:
    return make_upstream(tmp_path / "upstream")


def config_repo(
    tmp_path: Path,
    fetch: str,
    targets: dict[str, tuple[str, str]] | None = None,
    branch: str | None = "main",
    name: str = "config",
) -> Path:
    """A config repo with component `app`; targets: name -> (format, deployed value)."""
    targets = targets or {"prod": ("sha", UNKNOWN)}
    lines = [
        "version: 1",
        "components:",
        "  app:",
        f"    repo: {REPO_URL}",
        f"    fetch: {json.dumps(fetch)}",
        *([f"    branch: {branch}"] if branch else []),
        "    targets:",
    ]
    files: dict[str, str | bytes] = {}
    for tname, (fmt, value) in targets.items():
        lines.append(
            f"      - {{name: {tname}, environment: {tname}-env, file: {tname}.yaml, key: tag, format: {fmt}}}"
        )
        files[f"{tname}.yaml"] = f"tag: {value}\n"
    files["promotion.yaml"] = "\n".join(lines) + "\n"
    return make_repo(tmp_path / name, files)


def component(fetch: Path | str, branch: str | None = "main") -> Component:
    return Component("app", REPO_URL, str(fetch), branch, 7, (), 1)


def plan_sha(run: Run, root: Path, *rev: str, extra: tuple[str, ...] = ()) -> str:
    before = snapshot(root)
    code, out, err = run("-C", root, "plan", "app", *rev, "-o", "json", *extra)
    assert code == 0, err
    assert snapshot(root) == before
    return str(json.loads(out)["new"]["sha"])


def mirrors() -> list[Path]:
    base = Path(os.environ["PROMOTER_CACHE_DIR"]) / "mirrors"
    return sorted(base.iterdir()) if base.exists() else []


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The git subcommand lines promoter runs (without the leading `git -c protocol.ext.allow=never`
    and the other `-c name=value` options)."""
    calls: list[list[str]] = []
    real = promoter_git.subprocess.run

    def recording(cmd, *args, **kwargs):  # type: ignore[no-untyped-def]
        rest = [str(c) for c in cmd]
        if rest[:3] == ["git", "-c", "protocol.ext.allow=never"]:
            rest = rest[3:]
            while rest[:1] == ["-c"]:
                rest = rest[2:]
        calls.append(rest)
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(promoter_git.subprocess, "run", recording)
    yield calls


def network_calls(calls: list[list[str]]) -> list[list[str]]:
    return [c for c in calls if c and c[0] in ("clone", "fetch", "ls-remote")]


# -- resolving REV ------------------------------------------------------------------------------


REV_CASES = {
    "full-sha": (lambda u: u.c[2], lambda u: u.c[2]),
    "7-hex-prefix": (lambda u: u.c[1][:7], lambda u: u.c[1]),
    "12-hex-prefix": (lambda u: u.c[3][:12], lambda u: u.c[3]),
    "39-hex-prefix": (lambda u: u.c[0][:39], lambda u: u.c[0]),
    "branch": (lambda u: "release", lambda u: u.c[3]),
    "main-branch": (lambda u: "main", lambda u: u.c[5]),
    "lightweight-tag": (lambda u: "v1", lambda u: u.c[1]),
    "annotated-tag": (lambda u: "v2", lambda u: u.c[2]),
}


@pytest.mark.parametrize("case", list(REV_CASES))
def test_rev_resolves_through_the_cli(up: Up, tmp_path: Path, run: Run, case: str) -> None:
    rev_of, expected_of = REV_CASES[case]
    root = config_repo(tmp_path, str(up.path))
    rev, expected = rev_of(up), expected_of(up)
    assert plan_sha(run, root, rev) == expected
    code, out, err = run("-C", root, "plan", "app", rev, "-v")
    assert code == 0, err
    assert f"app: {rev} is {expected}" in err


@pytest.mark.parametrize("case", list(REV_CASES))
def test_rev_resolves_through_upstream(up: Up, case: str) -> None:
    rev_of, expected_of = REV_CASES[case]
    assert Upstream(component(up.path)).resolve(rev_of(up)) == expected_of(up)


def test_annotated_tag_resolves_to_its_commit_not_the_tag_object(up: Up, tmp_path: Path, run: Run) -> None:
    assert up.v2_object != up.c[2]
    assert git(up.path, "cat-file", "-t", up.v2_object) == "tag"
    root = config_repo(tmp_path, str(up.path))
    code, out, err = run("-C", root, "promote", "app", "v2", "--yes")
    assert code == 0, err
    assert (root / "prod.yaml").read_text() == f"tag: {up.c[2]}\n"


def test_sha_of_an_annotated_tag_object_is_never_pinned(up: Up, tmp_path: Path, run: Run) -> None:
    """REV given as the sha of the tag object itself: promoter must either name the commit it
    tags or refuse; it must never write the tag object's sha (no image is built for it)."""
    root = config_repo(tmp_path, str(up.path))
    before = snapshot(root)
    code, out, err = run("-C", root, "promote", "app", up.v2_object, "--yes")
    assert up.v2_object not in (root / "prod.yaml").read_text()
    if code == 0:
        assert (root / "prod.yaml").read_text() == f"tag: {up.c[2]}\n"
    else:
        assert code == 3, (out, err)
        assert snapshot(root) == before


def test_upstream_never_resolves_to_an_annotated_tag_object(up: Up) -> None:
    """Upstream.resolve promises a commit sha: for the tag object's sha, the commit it tags (or a refusal)."""
    try:
        resolved: str | None = Upstream(component(up.path)).resolve(up.v2_object)
    except Refused:
        resolved = None
    assert resolved in (up.c[2], None)
    # its 7-hex prefix is refused today: the two forms should at least agree
    with pytest.raises(UsageError, match=f"no commit, branch or tag '{up.v2_object[:7]}'"):
        Upstream(component(up.path)).resolve(up.v2_object[:7])


def test_default_rev_is_the_head_of_branch(up: Up, tmp_path: Path, run: Run) -> None:
    root = config_repo(tmp_path, str(up.path))
    assert plan_sha(run, root) == up.c[5]
    code, out, err = run("-C", root, "promote", "app", "--yes")
    assert code == 0, err
    assert out.endswith(f"promoted app to {up.c[5][:7]} in 1 file\n")
    assert (root / "prod.yaml").read_text() == f"tag: {up.c[5]}\n"
    assert Upstream(component(up.path)).resolve(None) == up.c[5]


def test_default_rev_follows_the_configured_branch(up: Up, tmp_path: Path, run: Run) -> None:
    root = config_repo(tmp_path, str(up.path), branch="release")
    assert plan_sha(run, root) == up.c[3]
    assert Upstream(component(up.path, "release")).resolve(None) == up.c[3]


def test_default_rev_without_branch_is_the_remotes_head_branch(tmp_path: Path, run: Run) -> None:
    u = make_upstream(tmp_path / "upstream", branch="trunk")
    git(u.path, "branch", "main", u.c[0])  # a `main` exists too, but HEAD is trunk
    root = config_repo(tmp_path, str(u.path), branch=None)
    assert plan_sha(run, root) == u.c[5]
    upstream = Upstream(component(u.path, None))
    assert upstream.branch() == "trunk"
    assert upstream.resolve(None) == u.c[5]
    # the remote's HEAD moves to another branch: a fresh mirror follows it
    git(u.path, "symbolic-ref", "HEAD", "refs/heads/release")
    assert Upstream(component(u.path, None), cache=tmp_path / "cache2").resolve(None) == u.c[3]


def _colliding_commits(path: Path, parent: str) -> tuple[str, str]:
    """Two real commits (children of `parent`) whose shas share their first 7 hex digits.

    Found by hashing candidate commit objects (about 2^14 tries, well under a second), written
    with `git hash-object -w`, and kept reachable through branches `collide-a` and `collide-b`.
    """
    tree = git(path, "rev-parse", f"{parent}^{{tree}}")
    seen: dict[str, bytes] = {}
    for n in itertools.count():
        body = (
            f"tree {tree}\nparent {parent}\n"
            "author A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\n"
            f"collision {n}\n"
        ).encode()
        sha = hashlib.sha1(b"commit %d\0" % len(body) + body).hexdigest()
        if sha[:7] in seen:
            first = seen[sha[:7]]
            break
        seen[sha[:7]] = body
    shas = []
    for branch, data in (("collide-a", first), ("collide-b", body)):
        sha = git(path, "hash-object", "-t", "commit", "-w", "--stdin", input_=data.decode())
        git(path, "branch", branch, sha)
        shas.append(sha)
    a, b = shas
    assert a != b and a[:7] == b[:7]
    return a, b


def test_ambiguous_prefix_is_a_usage_error(up: Up, tmp_path: Path, run: Run, git_calls: list[list[str]]) -> None:
    a, b = _colliding_commits(up.path, up.c[5])
    root = config_repo(tmp_path, str(up.path))
    before = snapshot(root)
    for argv in (("plan", "app", a[:7]), ("promote", "app", a[:7], "--yes", "--allow-unmerged")):
        code, out, err = run("-C", root, *argv)
        assert code == 2, (out, err)
        assert f"app: '{a[:7]}' is ambiguous ({', '.join(sorted([a, b]))}); give more digits" in err
        assert snapshot(root) == before
    with pytest.raises(UsageError, match=f"'{a[:7]}' is ambiguous"):
        Upstream(component(up.path)).resolve(a[:7])
    # one digit more than they share is unique again
    n = next(i for i in range(8, 41) if a[:i] != b[:i])
    assert Upstream(component(up.path)).resolve(b[:n]) == b
    assert plan_sha(run, root, a[:n], extra=("--allow-unmerged",)) == a


@pytest.mark.parametrize("rev", ["nope", "deadbee", "deadbeefcafe", UNKNOWN, "v9", "refs/heads/nope"])
def test_unknown_rev_is_a_usage_error(up: Up, tmp_path: Path, run: Run, rev: str) -> None:
    root = config_repo(tmp_path, str(up.path))
    before = snapshot(root)
    for argv in (("plan", "app", rev), ("promote", "app", rev, "--yes")):
        code, out, err = run("-C", root, *argv)
        assert code == 2, (out, err)
        assert f"promoter: error: app: no commit, branch or tag '{rev}' in {up.path}" in err
        assert snapshot(root) == before
    with pytest.raises(UsageError, match=f"no commit, branch or tag '{rev}'"):
        Upstream(component(up.path)).resolve(rev)


def test_unmerged_branch_is_refused_unless_allowed(up: Up, tmp_path: Path, run: Run) -> None:
    root = config_repo(tmp_path, str(up.path))
    before = snapshot(root)
    code, out, err = run("-C", root, "promote", "app", "feature", "--yes")
    assert code == 3, (out, err)
    assert f"app: {up.feature[:7]} is not on main" in err
    assert snapshot(root) == before
    assert plan_sha(run, root, "feature", extra=("--allow-unmerged",)) == up.feature


# -- the mirror ---------------------------------------------------------------------------------


def test_mirror_is_cached_under_promoter_cache_dir(up: Up, tmp_path: Path, run: Run) -> None:
    assert mirrors() == []
    root = config_repo(tmp_path, str(up.path))
    assert plan_sha(run, root, up.c[2]) == up.c[2]
    cache = Path(os.environ["PROMOTER_CACHE_DIR"])
    (mirror,) = mirrors()
    assert mirror == Upstream(component(up.path)).path
    assert mirror.parent == cache / "mirrors"
    assert re.fullmatch(r"app-[0-9a-f]{16}\.git", mirror.name)
    assert git(mirror, "rev-parse", "--is-bare-repository") == "true"
    assert git(mirror, "rev-parse", "refs/heads/main") == up.c[5]
    assert git(mirror, "rev-parse", "refs/tags/v2^{commit}") == up.c[2]
    # nothing was left outside the cache (no temp clone beside the mirror, nothing in $HOME)
    assert [p.name for p in (cache / "mirrors").iterdir()] == [mirror.name]
    assert not list(Path(os.environ["HOME"]).rglob("*.git"))


def test_second_run_with_a_known_sha_does_not_fetch(
    up: Up, tmp_path: Path, run: Run, git_calls: list[list[str]]
) -> None:
    root = config_repo(tmp_path, str(up.path))
    assert plan_sha(run, root, up.c[2]) == up.c[2]
    assert [c[0] for c in network_calls(git_calls)] == ["clone"]
    git_calls.clear()
    assert plan_sha(run, root, up.c[2]) == up.c[2]
    # the second run asks the remote where the branch is (cheap), but neither clones nor fetches
    assert [c[0] for c in network_calls(git_calls)] == ["ls-remote"]


def test_known_sha_resolves_from_the_mirror_when_upstream_is_gone(up: Up, tmp_path: Path) -> None:
    assert Upstream(component(up.path)).resolve(up.c[2]) == up.c[2]
    moved = up.path.with_name("renamed")
    up.path.rename(moved)
    assert Upstream(component(up.path)).resolve(up.c[2]) == up.c[2]
    assert Upstream(component(up.path)).resolve(up.c[4][:7]) == up.c[4]
    assert Upstream(component(up.path)).resolve("v1") == up.c[1]
    # something the mirror does not have needs a fetch, which fails: an external error
    with pytest.raises(ExternalError, match=f"app: cannot fetch {re.escape(str(up.path))}"):
        Upstream(component(up.path)).resolve(UNKNOWN)


def test_known_sha_resolves_from_the_mirror_when_upstream_is_unreadable(up: Up, tmp_path: Path, run: Run) -> None:
    if os.geteuid() == 0:
        # root reads a mode-000 directory anyway; renaming (the test above) proves the same thing
        moved = up.path.with_name("renamed")
        assert Upstream(component(up.path)).resolve(up.c[3]) == up.c[3]
        up.path.rename(moved)
        assert Upstream(component(up.path)).resolve(up.c[3]) == up.c[3]
        return
    assert Upstream(component(up.path)).resolve(up.c[3]) == up.c[3]
    mode = up.path.stat().st_mode
    up.path.chmod(0)
    try:
        assert Upstream(component(up.path)).resolve(up.c[3]) == up.c[3]
    finally:
        up.path.chmod(stat.S_IMODE(mode))


def test_cli_run_with_upstream_gone_after_caching(up: Up, tmp_path: Path, run: Run) -> None:
    """The CLI checks the candidate is on the branch, so it asks the remote for the branch head:
    with the upstream gone that is an external failure (exit 4), and nothing is written."""
    root = config_repo(tmp_path, str(up.path))
    assert plan_sha(run, root, up.c[2]) == up.c[2]
    up.path.rename(up.path.with_name("renamed"))
    before = snapshot(root)
    code, out, err = run("-C", root, "promote", "app", up.c[2], "--yes")
    assert code == 4, (out, err)
    assert f"app: upstream {up.path} is unreachable" in err
    assert snapshot(root) == before


def test_new_upstream_commit_is_picked_up_by_a_later_default_run(
    up: Up, tmp_path: Path, run: Run, git_calls: list[list[str]]
) -> None:
    root = config_repo(tmp_path, str(up.path))
    assert plan_sha(run, root) == up.c[5]
    newer = _commit(up.path, 6)
    git_calls.clear()
    assert plan_sha(run, root) == newer
    assert "fetch" in [c[0] for c in network_calls(git_calls)]
    code, out, err = run("-C", root, "promote", "app", "--yes")
    assert code == 0, err
    assert (root / "prod.yaml").read_text() == f"tag: {newer}\n"
    # and Upstream on the same cache sees it too, without a new clone
    assert Upstream(component(up.path)).resolve(None) == newer
    assert len(mirrors()) == 1


def test_new_upstream_commit_given_by_sha_is_fetched(up: Up, tmp_path: Path, run: Run) -> None:
    root = config_repo(tmp_path, str(up.path))
    assert plan_sha(run, root, up.c[1]) == up.c[1]
    newer = _commit(up.path, 7)
    assert plan_sha(run, root, newer) == newer
    assert plan_sha(run, root, newer[:8]) == newer


@pytest.mark.parametrize("command", ["plan", "promote"])
def test_missing_upstream_path_is_an_external_error(tmp_path: Path, run: Run, command: str) -> None:
    gone = tmp_path / "no-such-upstream"
    root = config_repo(tmp_path, str(gone))
    before = snapshot(root)
    for rev in ((), ("main",), (UNKNOWN,)):
        argv = (command, "app", *rev, *(("--yes",) if command == "promote" else ()))
        code, out, err = run("-C", root, *argv)
        assert code == 4, (argv, out, err)
        assert f"promoter: error: app: upstream {gone} does not exist" in err
        assert snapshot(root) == before
    assert mirrors() == []
    with pytest.raises(ExternalError, match=f"app: upstream {re.escape(str(gone))} does not exist"):
        Upstream(component(gone)).resolve(None)


def test_upstream_that_is_not_a_git_repository_is_an_external_error(tmp_path: Path, run: Run) -> None:
    plain = tmp_path / "plain-dir"
    plain.mkdir()
    (plain / "README").write_text("not a repository\n")
    root = config_repo(tmp_path, str(plain))
    before = snapshot(root)
    code, out, err = run("-C", root, "plan", "app")
    assert code == 4, (out, err)
    assert f"app: cannot clone {plain}" in err
    assert snapshot(root) == before
    assert mirrors() == []  # no half-made mirror left behind


# -- status -------------------------------------------------------------------------------------


def _status_rows(out: str) -> dict[str, list[str]]:
    """The table of `status`: each environment's summary row [environment, version, state, next]
    by environment name, and each target's row [target, value, file:line] by target name."""
    rows = {}
    for line in out.splitlines()[2:]:
        if not line.strip():
            continue
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells
    return rows


def _targets(out: str) -> dict[str, dict[str, object]]:
    """`status -o json`'s targets by name, each with its environment's `behind`."""
    (comp,) = json.loads(out)["components"]

    def behind(env: dict[str, object]) -> dict[str, int | None] | None:
        rows = env["behind"]
        return None if rows is None else {b["version"]["value"]: b["commits"] for b in rows}  # type: ignore[attr-defined, index]

    return {t["target"]: {**t, "behind": behind(env)} for env in comp["environments"] for t in env["targets"]}


def test_status_counts_commits_behind_exactly(up: Up, tmp_path: Path, run: Run) -> None:
    targets = {
        "prod": ("sha", up.c[1]),  # 4 behind c5
        "stage": ("short", up.c[3][:7]),  # 2 behind
        "canary": ("sha", up.c[4]),  # 1 behind
        "qa": ("short", up.c[5][:7]),  # up to date
        "dev": ("sha", UNKNOWN),  # not in upstream
        "old": ("sha", up.c[0]),  # 5 behind
    }
    root = config_repo(tmp_path, str(up.path), targets)
    before = snapshot(root)

    code, out, err = run("-C", root, "status")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"app: upstream head {up.c[5][:7]}"
    assert re.split(r"\s{2,}", lines[1].strip())[:3] == ["ENVIRONMENT", "VERSION", "STATE"]
    rows = _status_rows(out)
    assert rows["prod-env"][:3] == ["prod-env", up.c[1][:7], "4 behind"]
    assert rows["prod"] == ["prod", up.c[1][:7], "prod.yaml:1"]
    assert rows["stage-env"][:3] == ["stage-env", up.c[3][:7], "2 behind"]
    assert rows["canary-env"][:3] == ["canary-env", up.c[4][:7], "1 behind"]
    assert rows["qa-env"][:3] == ["qa-env", up.c[5][:7], "up to date"]
    assert rows["dev-env"][:3] == ["dev-env", UNKNOWN[:7], "not in upstream"]
    assert rows["old-env"][:3] == ["old-env", up.c[0][:7], "5 behind"]
    assert rows["qa-env"][3] == f"up-to-date: runs {up.c[5][:7]}"
    assert rows["prod-env"][3] == f"promote: to {up.c[5][:7]}"

    code, out, err = run("-C", root, "status", "-o", "json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert (doc["schema_version"], doc["components"][0]["component"]) == (1, "app")
    assert doc["components"][0]["upstream"] == {"head": {"value": up.c[5], "sha": up.c[5]}, "error": None}
    behind = {name: t["behind"] for name, t in _targets(out).items()}
    assert behind == {
        "prod": {up.c[1]: 4},
        "stage": {up.c[3][:7]: 2},
        "canary": {up.c[4]: 1},
        "qa": {up.c[5][:7]: 0},
        "dev": {UNKNOWN: None},
        "old": {up.c[0]: 5},
    }
    assert _targets(out)["stage"]["values"] == [{"value": up.c[3][:7], "sha": up.c[3]}]
    assert snapshot(root) == before


def test_status_counts_follow_a_new_upstream_commit(up: Up, tmp_path: Path, run: Run) -> None:
    root = config_repo(tmp_path, str(up.path), {"prod": ("sha", up.c[3])})
    code, out, err = run("-C", root, "status", "-o", "json")
    assert _targets(out)["prod"]["behind"] == {up.c[3]: 2}
    _commit(up.path, 6)
    _commit(up.path, 7)
    code, out, err = run("-C", root, "status", "-o", "json")
    assert code == 0, err
    assert _targets(out)["prod"]["behind"] == {up.c[3]: 4}


def test_status_counts_commits_a_merge_brings(tmp_path: Path, run: Run) -> None:
    """Behind counts every commit the head has that the deployed one lacks, merged ones included."""
    path = tmp_path / "upstream"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    base = _commit(path, 0)
    git(path, "checkout", "-q", "-b", "topic")
    _commit(path, 1, "t")
    _commit(path, 2, "t")
    git(path, "checkout", "-q", "main")
    _commit(path, 3)
    git(path, "merge", "-q", "--no-ff", "-m", "merge topic", "topic")
    head = git(path, "rev-parse", "HEAD")
    root = config_repo(tmp_path, str(path), {"prod": ("sha", base)})
    code, out, err = run("-C", root, "status", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["components"][0]["upstream"]["head"]["sha"] == head
    assert _targets(out)["prod"]["behind"] == {base: 4}  # t1, t2, c3 and the merge
    assert Upstream(component(path)).count(base, head) == 4


@pytest.mark.parametrize("exists", [True, False])
def test_status_offline_does_not_touch_upstream(
    up: Up, tmp_path: Path, run: Run, git_calls: list[list[str]], exists: bool
) -> None:
    fetch = str(up.path if exists else tmp_path / "no-such-upstream")
    root = config_repo(tmp_path, fetch, {"prod": ("sha", up.c[1]), "qa": ("short", up.c[5][:7])})
    before = snapshot(root)
    upstream_before = snapshot(up.path)
    for output in ("table", "json"):
        code, out, err = run("-C", root, "status", "--offline", "-o", output)
        assert (code, err) == (0, "")
        if output == "table":
            assert out.splitlines()[0] == "app: upstream not checked (--offline)"
            rows = _status_rows(out)
            assert rows["prod"] == ["prod", up.c[1][:7], "prod.yaml:1"]
            assert "behind" not in out and "not in upstream" not in out
        else:
            (doc,) = json.loads(out)["components"]
            assert doc["upstream"] == {"head": None, "error": None}
            assert [t["behind"] for t in _targets(out).values()] == [None, None]
    assert network_calls(git_calls) == []
    assert not any(str(up.path) in arg or "no-such-upstream" in arg for c in git_calls for arg in c)
    assert mirrors() == []
    assert snapshot(root) == before
    assert snapshot(up.path) == upstream_before


def test_plan_offline_does_not_touch_upstream(up: Up, tmp_path: Path, run: Run, git_calls: list[list[str]]) -> None:
    root = config_repo(tmp_path, str(tmp_path / "no-such-upstream"))
    code, out, err = run("-C", root, "promote", "app", up.c[2], "--offline", "--yes")
    assert code == 0, err
    assert (root / "prod.yaml").read_text() == f"tag: {up.c[2]}\n"
    assert network_calls(git_calls) == []
    assert mirrors() == []


def test_status_with_missing_upstream_reports_it_and_exits_0(tmp_path: Path, run: Run) -> None:
    gone = tmp_path / "no-such-upstream"
    root = config_repo(tmp_path, str(gone), {"prod": ("sha", UNKNOWN)})
    code, out, err = run("-C", root, "status", "-o", "json")
    assert code == 0, err
    (doc,) = json.loads(out)["components"]
    assert doc["upstream"] == {"head": None, "error": f"app: upstream {gone} does not exist"}


# -- transports that run commands ---------------------------------------------------------------


@pytest.mark.parametrize(
    "fetch",
    [
        "ext::sh -c touch% {marker}",
        "ext::/bin/sh -c 'touch {marker}'",
        "EXT::sh -c touch% {marker}",
        "ext::git-upload-pack %S",
    ],
)
@pytest.mark.parametrize("argv", [("plan", "app"), ("plan", "app", "main"), ("status",), ("promote", "app", "--yes")])
def test_ext_transport_is_refused_and_never_run(
    tmp_path: Path, run: Run, git_calls: list[list[str]], fetch: str, argv: tuple[str, ...]
) -> None:
    marker = tmp_path / "PWNED"
    fetch = fetch.format(marker=marker)
    root = config_repo(tmp_path, fetch)
    before = snapshot(root)
    code, out, err = run("-C", root, *argv)
    assert code == 2, (out, err)
    assert "refusing the git transport of" in err and "promotion.yaml:5: " in err
    assert not marker.exists()
    assert network_calls(git_calls) == []
    assert not any("ext::" in arg.lower() for c in git_calls for arg in c)
    assert mirrors() == []
    assert snapshot(root) == before


def test_ext_transport_as_repo_without_fetch_is_refused(tmp_path: Path, run: Run, git_calls: list[list[str]]) -> None:
    """Without `fetch:`, the upstream is `repo:` itself: an ext:: repo must be refused the same way."""
    marker = tmp_path / "PWNED"
    config = (
        "version: 1\ncomponents:\n  app:\n"
        f"    repo: 'ext::sh -c touch% {marker}'\n"
        "    targets:\n      - {name: prod, file: prod.yaml, key: tag, format: sha}\n"
    )
    root = make_repo(tmp_path / "config", {"promotion.yaml": config, "prod.yaml": f"tag: {UNKNOWN}\n"})
    before = snapshot(root)
    code, out, err = run("-C", root, "plan", "app")
    assert code == 2, (out, err)
    assert "promotion.yaml:4: " in err and "refusing the git transport of" in err
    assert not marker.exists()
    assert network_calls(git_calls) == []
    assert snapshot(root) == before


def test_upstream_class_never_runs_an_ext_transport(tmp_path: Path) -> None:
    """Built directly (bypassing the config check), Upstream still does not run ext::."""
    marker = tmp_path / "PWNED"
    with pytest.raises((UsageError, ExternalError)):
        Upstream(component(f"ext::sh -c touch% {marker}")).resolve(None)
    assert not marker.exists()
