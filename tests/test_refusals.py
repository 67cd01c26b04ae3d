"""Checks that refuse a promotion: a specific message, exit 3 (or 2 for bad arguments), nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git, make_repo, snapshot

OLD, NEW = "a" * 40, "b" * 40


def _repo(tmp_path: Path, target: str, files: dict[str, str | bytes]) -> Path:
    config = f"version: 1\ncomponents:\n  c:\n    repo: https://example.com/c\n    targets:\n      - {target}\n"
    return make_repo(tmp_path / "r", {"promotion.yaml": config, **files})


def _refused(run, repo: Path, message: str, code: int = 3, *extra: str) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(repo)
    for argv in (["plan", "c", NEW, "--offline", *extra], ["promote", "c", NEW, "--offline", "--yes", *extra]):
        got, out, err = run("-C", repo, *argv)
        assert got == code, err
        assert message in err, err
        assert snapshot(repo) == before


def test_glob_matching_nothing(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path, "{name: t, files: 'data/*.yml', key: tag}", {"data/a.yaml": "tag: abc1234\n"})
    _refused(run, repo, "promoter: error: target 't': the glob data/*.yml matches no file")


def test_glob_file_without_a_pin_is_named(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    files = {"data/a.yaml": "tag: abc1234\n", "data/b.yaml": "tag: latest\n"}
    repo = _repo(tmp_path, "{name: t, files: 'data/*.yaml', key: tag}", files)
    _refused(run, repo, "data/b.yaml: target 't' (key tag) located no pinned 7-hex short sha; found only 'latest'")


def test_moved_file(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path, "{name: t, file: old/place.yaml, key: tag}", {"new/place.yaml": "tag: abc1234\n"})
    _refused(run, repo, "old/place.yaml: target 't': no such file (moved or renamed?)")


def test_symlink_out_of_the_repo(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside.yaml"
    outside.write_text("tag: abc1234\n")
    repo = _repo(tmp_path, "{name: t, file: link.yaml, key: tag}", {})
    (repo / "link.yaml").symlink_to(outside)
    git(repo, "add", "link.yaml")
    git(repo, "commit", "-qm", "link")
    _refused(run, repo, f"link.yaml: resolves to {outside}, outside the repository")
    assert outside.read_text() == "tag: abc1234\n"


def test_target_file_not_utf8(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path, "{name: t, file: a.yaml, key: tag}", {"a.yaml": b"x: caf\xe9\ntag: abc1234\n"})
    _refused(run, repo, "a.yaml:1: not UTF-8 text (byte 6); promoter edits UTF-8 files only")


def test_target_file_invalid_yaml(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path, "{name: t, file: a.yaml, key: tag}", {"a.yaml": "a: 1\ntag: [abc1234\n"})
    _refused(run, repo, "promoter: error: a.yaml:3: invalid YAML: ")


def test_target_file_is_a_directory(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path, "{name: t, file: d, key: tag}", {"d/a.yaml": "tag: abc1234\n"})
    _refused(run, repo, "d: target 't': no such file (moved or renamed?)")


@pytest.mark.parametrize("rev", ["abc1234", "main", "a" * 39])
def test_offline_needs_a_full_sha(rev: str, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path, "{name: t, file: a.yaml, key: tag}", {"a.yaml": "tag: abc1234\n"})
    code, out, err = run("-C", repo, "plan", "c", rev, "--offline")
    assert code == 2
    assert err == "promoter: error: with --offline, give REV as a full 40-character commit sha\n"


@pytest.mark.parametrize(
    "rev", ["-n", "--upload-pack=touch x", "main..evil", "$(touch x)", "a;b", "HEAD^", "x@{1}", "a b"]
)
def test_revisions_with_git_syntax_are_refused_before_git_runs(rev: str, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    upstream = tmp_path / "missing-upstream"  # never reached: the REV is refused first
    config = (
        f"version: 1\ncomponents:\n  c:\n    repo: https://example.com/c\n    fetch: {upstream}\n"
        "    targets:\n      - {name: t, file: a.yaml, key: tag}\n"
    )
    repo = make_repo(tmp_path / "r", {"promotion.yaml": config, "a.yaml": "tag: abc1234\n"})
    before = snapshot(repo)
    code, out, err = (
        run("-C", repo, "plan", "c", "--", rev) if rev.startswith("-") else run("-C", repo, "plan", "c", rev)
    )
    assert code == 2, err
    assert f"'{rev}' is not a commit sha, branch or tag name" in err
    assert snapshot(repo) == before
    assert not (repo / "x").exists()


def test_dirty_file_is_refused_unless_allowed(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path, "{name: t, file: a.yaml, key: tag}", {"a.yaml": "tag: abc1234\n"})
    (repo / "a.yaml").write_text("# local change\ntag: abc1234\n")
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "c", NEW, "--offline", "--yes")
    assert code == 3
    assert "uncommitted changes in files this promotion would write: a.yaml" in err and "--allow-dirty" in err
    # git status runs while the temp files are written; refused, they are gone, as is the journal
    assert snapshot(repo) == before
    assert not list((repo / ".git").glob("promoter-journal*"))
    code, out, err = run("-C", repo, "promote", "c", NEW, "--offline", "--yes", "--allow-dirty")
    assert code == 0, err
    assert (repo / "a.yaml").read_text() == "# local change\ntag: bbbbbbb\n"


def test_detailed_exitcode_and_no_op(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = _repo(tmp_path, "{name: t, file: a.yaml, key: tag}", {"a.yaml": "tag: abc1234\n"})
    assert run("-C", repo, "plan", "c", NEW, "--offline", "--detailed-exitcode")[0] == 5
    assert run("-C", repo, "promote", "c", NEW, "--offline", "--yes")[0] == 0
    code, out, err = run("-C", repo, "plan", "c", NEW, "--offline", "--detailed-exitcode")
    assert code == 0
    assert out.splitlines() == [
        "t [t] a.yaml: already at bbbbbbb (1 place)",
        "c: every selected target is already at bbbbbbb; nothing to change",
    ]
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "c", NEW, "--offline", "--yes")
    assert (code, out) == (0, "c: every selected target is already at bbbbbbb; nothing to change\n")
    assert snapshot(repo) == before


def test_unexpected_errors_exit_1_without_a_traceback(tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from promoter.pipeline import core

    repo = _repo(tmp_path, "{name: t, file: a.yaml, key: tag}", {"a.yaml": "tag: abc1234\n"})

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("https://user:s3cret@example.com broke")

    monkeypatch.setattr(core, "plan", boom)
    code, out, err = run("-C", repo, "plan", "c", NEW, "--offline")
    assert code == 1
    assert err == (
        "promoter: unexpected error: RuntimeError('https://***@example.com broke') (run with -v for details)\n"
    )
    assert "s3cret" not in err
    code, out, err = run("-C", repo, "plan", "c", NEW, "--offline", "-v")
    assert code == 1
    assert "Traceback (most recent call last)" in err and "https://***@example.com broke" in err
    assert "s3cret" not in err
