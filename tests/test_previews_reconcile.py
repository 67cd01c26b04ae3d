"""`promoter reconcile` shows one decision whichever way it runs (issue 19): without `--push` it
reads what can be read without writing (the remote's branches, the forge's merge requests when a
token is set) and runs the same decision code as `--push --dry-run` and `--push`, which differ
only in acting; what cannot be known without `--push` is said, never guessed. Its JSON gives
the versions `status` gives; its markdown dashboard says why a component failed.

Real git repositories (upstreams, the config repository, its bare remote), and for the API
method the contract fake of GitHub's REST API in tests/forge_fakes.py (GitHub cannot run here: a
local HTTP server on 127.0.0.1 that follows its public API documentation).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_reconcile import NOW, TOKEN, Fleet, commit

RunResult = tuple[int, str, str]
Run = Callable[..., RunResult]


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    return Fleet(tmp_path)


def test_reconcile_json_gives_the_versions_status_gives(fleet: Fleet, run: Run) -> None:
    """A short pin (schemas' `.env`, 7 hex digits) and full ones: `{value, sha}` is the same in
    `reconcile -o json` as in `status -o json`, the full sha of a short pin included."""
    code, out, err = run("-C", fleet.config, "status", "-o", "json")
    assert code == 0, err
    status = {
        (c["component"], e["environment"]): e["versions"]
        for c in json.loads(out)["components"]
        for e in c["environments"]
    }
    code, out, err = run("-C", fleet.config, "reconcile", "-o", "json")
    assert code == 0, err
    reconciled = {
        (c["component"], e["environment"]): e["runs"] for c in json.loads(out)["components"] for e in c["environments"]
    }
    assert reconciled == status
    assert status[("schemas", "ci")] == [{"value": fleet.shas["schemas"][2][:7], "sha": fleet.shas["schemas"][2]}]
    git(fleet.config, "status")  # the repository is untouched


def _decisions(run: Run, fleet: Fleet, *argv: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """(exit code, per component its merge request's (action, reason)) of `reconcile -o json`."""
    code, out, err = run("-C", fleet.config, "reconcile", *argv, "-o", "json")
    assert out, err
    return code, {c["component"]: (c["merge_request"]["action"], c["merge_request"]["reason"])
                  for c in json.loads(out)["components"]}  # fmt: skip


def _all_three(run: Run, fleet: Fleet) -> tuple[int, dict[str, tuple[str, str]]]:
    """The preview, `--push --dry-run`, then `--push`: each decides the same, with the same exit
    code (the first two write nothing)."""
    before = git(fleet.remote, "for-each-ref", "--format=%(refname) %(objectname)")
    preview = _decisions(run, fleet)
    dry = _decisions(run, fleet, "--push", "--dry-run")
    assert git(fleet.remote, "for-each-ref", "--format=%(refname) %(objectname)") == before  # nothing pushed
    pushed = _decisions(run, fleet, "--push")
    assert preview == dry == pushed, (preview, dry, pushed)
    return pushed


def test_the_preview_the_dry_run_and_the_push_take_one_decision(fleet: Fleet, run: Run, tmp_path: Path) -> None:
    """Through a merge request's life on a real remote (push options): a new one opened, the same
    left, a newer promotion updated, a person's commit on the branch refused; the preview (no
    --push) reads the remote's branch and says what --push then does, every time."""
    assert _all_three(run, fleet) == (
        0,
        {"schemas": ("none", "nothing to promote"), "app": ("open", "a new merge request")},
    )
    code, said = _all_three(run, fleet)
    assert (code, said["app"][0]) == (0, "leave"), said  # the preview said "open" here
    commit(fleet.ups["app"], "app3", NOW - 3600)
    code, said = _all_three(run, fleet)
    assert (code, said["app"][0]) == (0, "update"), said
    other = tmp_path / "person"
    git(tmp_path, "clone", "-q", str(fleet.remote), str(other))
    git(other, "switch", "-q", "promote/app")
    (other / "README").write_text("mine\n")
    git(other, "add", "README")
    git(other, "commit", "-qm", "a person's commit")
    git(other, "push", "-q", "origin", "promote/app")
    commit(fleet.ups["app"], "app4", NOW - 1800)
    code, said = _all_three(run, fleet)
    assert code == 3 and said["app"][0] == "error" and "not promoter's" in said["app"][1], said
    assert git(fleet.remote, "log", "-1", "--format=%s", "promote/app") == "a person's commit"


def test_what_push_refuses_before_writing_the_previews_refuse_too(fleet: Fleet, run: Run) -> None:
    """Uncommitted changes in a file the promotion writes: `--push` refuses, and so do the
    preview and `--push --dry-run` (which said "open")."""
    path = fleet.config / "prod.yaml"
    path.write_text(path.read_text() + "# being edited\n")
    code, said = _all_three(run, fleet)
    assert code == 3 and said["app"][0] == "error" and "uncommitted changes" in said["app"][1], said
    assert git(fleet.remote, "branch", "--list") == "* main"


def test_the_preview_asks_the_forge_when_a_token_is_set_and_says_so_when_none_is(
    fleet: Fleet, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the API method (GitHub's contract fake), the preview lists the open pull requests as
    --push does and decides the same; without a token it cannot tell open from leave: it says
    so (`unknown`, naming GITHUB_TOKEN, exit 0), never guesses "open"."""
    from tests.forge_fakes import FakeGitHub, running

    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        assert _all_three(run, fleet)[1]["app"][0] == "open"
        code, said = _all_three(run, fleet)
        assert (code, said["app"][0]) == (0, "leave"), said
        posts = [r.line for r in gh.requests if r.method != "GET"]
        monkeypatch.delenv("GITHUB_TOKEN")
        code, said = _decisions(run, fleet)
        assert code == 0 and said["app"][0] == "unknown", said
        assert "GITHUB_TOKEN is not set" in said["app"][1] and "open, update or leave" in said["app"][1], said
        assert said["schemas"][0] == "none"  # nothing to promote and no branch of its own: known
        assert [r.line for r in gh.requests if r.method != "GET"] == posts  # the preview wrote nothing


def test_a_preview_that_cannot_read_the_remote_says_so(fleet: Fleet, run: Run, tmp_path: Path) -> None:
    """The remote cannot be reached: the preview says what it cannot tell (exit 0; --push would
    fail, exit 4); a repository with no remote at all has no merge request yet: it would open
    one, and --push needs a remote."""
    git(fleet.config, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    code, said = _decisions(run, fleet)
    assert code == 0 and said["app"][0] == "unknown" and "git ls-remote origin" in said["app"][1], said
    code, out, err = run("-C", fleet.config, "reconcile", "--push")
    assert code == 4 and "git ls-remote origin" in err, out + err
    git(fleet.config, "remote", "remove", "origin")
    code, said = _decisions(run, fleet)
    assert code == 0 and said["app"] == ("open", "a new one; no remote 'origin' yet"), said


def test_the_markdown_dashboard_says_why_a_component_failed(fleet: Fleet, run: Run, tmp_path: Path) -> None:
    assert run("-C", fleet.config, "reconcile", "--push")[0] == 0
    other = tmp_path / "person"
    git(tmp_path, "clone", "-q", str(fleet.remote), str(other))
    git(other, "switch", "-q", "promote/app")
    (other / "README").write_text("mine\n")
    git(other, "add", "README")
    git(other, "commit", "-qm", "a person's commit")
    git(other, "push", "-q", "origin", "promote/app")
    commit(fleet.ups["app"], "app3", NOW - 3600)
    code, out, err = run("-C", fleet.config, "reconcile", "--push", "-o", "markdown")
    assert code == 3, out + err
    (row,) = [line for line in out.splitlines() if line.startswith("| app |")]
    assert "error: origin's promote/app holds commits that are not promoter's" in row, row
    assert "a person's commit" in row and "left as it is" in row, row
