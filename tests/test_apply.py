"""All files or none: failures while writing a multi-file promotion leave every file as it was."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from promoter.errors import Refused
from promoter.pipeline import apply, core
from tests.conftest import make_repo, snapshot

OLD = "a" * 40
NEW = "b" * 40
FILES = {
    "promotion.yaml": (
        "version: 1\ncomponents:\n  c:\n    repo: https://example.com/c\n    targets:\n"
        "      - {name: one, file: one.yaml, key: ref, format: sha}\n"
        "      - {name: two, file: two.yaml, key: ref, format: sha}\n"
        "      - {name: three, file: sub/three.env, env: REF, format: sha}\n"
    ),
    "one.yaml": f"ref: {OLD}\n",
    "two.yaml": f"x: 1\nref: '{OLD}'\n",
    "sub/three.env": f"export REF={OLD}\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> core.Repo:
    make_repo(tmp_path / "r", FILES)
    return core.open_repo(tmp_path / "r")


def _plan(repo: core.Repo) -> core.Plan:
    comp = core.component(repo.config, "c")
    return core.plan(repo, comp, NEW, list(comp.targets))


def _no_leftovers(repo: core.Repo) -> None:
    assert not list(repo.root.rglob(f"*{apply.TMP_SUFFIX}"))
    assert not (repo.state_dir / apply.JOURNAL).exists()
    assert apply.lock_holder(repo.state_dir) is None


def test_success_writes_every_file_and_keeps_modes(repo: core.Repo) -> None:
    (repo.root / "one.yaml").chmod(0o600)
    core.apply_plan(repo, _plan(repo))
    assert (repo.root / "one.yaml").read_text() == f"ref: {NEW}\n"
    assert (repo.root / "two.yaml").read_text() == f"x: 1\nref: '{NEW}'\n"
    assert (repo.root / "sub/three.env").read_text() == f"export REF={NEW}\n"
    assert (repo.root / "one.yaml").stat().st_mode & 0o777 == 0o600
    _no_leftovers(repo)


def test_failing_temp_write_changes_nothing(repo: core.Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(repo.root)
    real = apply._open_written
    calls = []

    def failing(path: Path, data: bytes, mode: int | None = None, owner: tuple[int, int] | None = None) -> int:
        calls.append(path)
        if len(calls) == 3:  # the journal, the first temp file, then this one
            raise OSError(28, "No space left on device")
        return real(path, data, mode)

    monkeypatch.setattr(apply, "_open_written", failing)
    with pytest.raises(Refused, match="No space left on device; nothing written"):
        core.apply_plan(repo, _plan(repo))
    assert calls[0].name.startswith(apply.JOURNAL) and calls[1].name == f".one.yaml{apply.TMP_SUFFIX}"
    assert snapshot(repo.root) == before
    _no_leftovers(repo)


def test_failing_fsync_of_a_temp_file_changes_nothing(repo: core.Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temp files are synced all at once (threads); one failing is the whole write failing."""
    before = snapshot(repo.root)
    real = os.fsync
    synced: list[str] = []

    def failing(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        synced.append(name)
        if name.endswith(f"two.yaml{apply.TMP_SUFFIX}"):
            raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr(apply.os, "fsync", failing)
    said = re.escape("cannot write the new files to disk (fsync): Input/output error; nothing written")
    with pytest.raises(Refused, match=said):
        core.apply_plan(repo, _plan(repo))
    monkeypatch.setattr(apply.os, "fsync", real)
    # every temp file was synced (none skipped for the failure), after the journal
    temps = [n for n in synced if n.endswith(apply.TMP_SUFFIX) and apply.JOURNAL not in n]
    assert sorted(Path(n).name for n in temps) == sorted(
        f".{name}{apply.TMP_SUFFIX}" for name in ("one.yaml", "two.yaml", "three.env")
    )
    assert apply.JOURNAL in synced[0]
    assert snapshot(repo.root) == before
    _no_leftovers(repo)


def test_failing_rename_restores_every_file(repo: core.Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(repo.root)
    real = os.replace
    calls = []

    def failing(src: str | Path, dst: str | Path) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(13, "Permission denied")
        real(src, dst)

    monkeypatch.setattr(apply.os, "replace", failing)
    with pytest.raises(Refused, match="every file restored"):
        core.apply_plan(repo, _plan(repo))
    monkeypatch.setattr(apply.os, "replace", real)
    assert snapshot(repo.root) == before
    _no_leftovers(repo)


def test_interrupted_promotion_is_rolled_back_by_the_next_run(
    repo: core.Repo,
    monkeypatch: pytest.MonkeyPatch,
    run,  # type: ignore[no-untyped-def]
) -> None:
    before = snapshot(repo.root)
    real = os.replace
    calls = []

    class Crash(BaseException):
        pass

    def crashing(src: str | Path, dst: str | Path) -> None:
        calls.append(dst)
        if len(calls) == 3:  # the journal's rename, then the first file's
            raise Crash  # as if the process died after the first rename
        real(src, dst)

    monkeypatch.setattr(apply.os, "replace", crashing)
    real_recover = apply.recover
    monkeypatch.setattr(apply, "recover", lambda root, state_dir: [])  # a dead process rolls nothing back
    with pytest.raises(Crash):
        apply.write(repo.root, repo.state_dir, _plan(repo).changes)
    monkeypatch.setattr(apply.os, "replace", real)
    monkeypatch.setattr(apply, "recover", real_recover)
    assert snapshot(repo.root) != before  # half-written: one file new, temp files around
    assert (repo.state_dir / apply.JOURNAL).exists()

    code, out, err = run("-C", repo.root, "status", "--offline")

    assert code == 0
    assert "rolled back an interrupted promotion: restored one.yaml" in err
    assert snapshot(repo.root) == before
    _no_leftovers(repo)


def test_file_changed_after_planning_is_refused(repo: core.Repo) -> None:
    p = _plan(repo)
    (repo.root / "two.yaml").write_text(f"x: 2\nref: '{OLD}'\n")
    before = snapshot(repo.root)
    with pytest.raises(Refused, match=r"two\.yaml: changed since it was planned"):
        core.apply_plan(repo, p, allow_dirty=True)
    assert snapshot(repo.root) == before
    _no_leftovers(repo)
