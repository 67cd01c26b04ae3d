"""Permission errors as a user who may not write: exit 3 or 4 naming the path, nothing written,
never "unexpected error". Run as `nobody` through setpriv when the tests run as root (as CI
does), as the user itself otherwise: either way the permission checks are the kernel's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import make_repo, snapshot

CONFIG = """version: 1
components:
  c:
    repo: https://github.com/org/c
    fetch: {fetch}
    branch: main
    targets:
      - {{name: a, file: a.yaml, key: tag}}
"""
NEW = "1234567890123456789012345678901234567890"


AsOther = Callable[..., subprocess.CompletedProcess[str]]
OTHER = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []


def _runs_as_other(python: str, env: dict[str, str]) -> bool:
    """Whether the other user can run promoter with this interpreter and environment."""
    proc = subprocess.run(
        [*OTHER, python, "-c", "import promoter.cli, yaml, regex, requests, cronsim"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return proc.returncode == 0


def _copy_of_promoter(into: Path) -> Path:
    """promoter and every package it needs to run, copied where everyone can read them: the
    checkout (and its .venv) may sit in a directory other users cannot enter (root's home on
    Debian is 0700, and so is a `mktemp -d`)."""
    from importlib import metadata

    import promoter

    site = into / "site"
    shutil.copytree(Path(promoter.__file__).parent, site / "promoter", ignore=shutil.ignore_patterns("__pycache__"))
    seen: set[str] = set()
    wanted = [r.split(";")[0] for r in metadata.requires("promoter") or [] if "extra ==" not in r]
    while wanted:
        name = re.split(r"[<>=!~ \[]", wanted.pop())[0].strip()
        if not name or name.lower() in seen:
            continue
        seen.add(name.lower())
        dist = metadata.distribution(name)
        for file in dist.files or ():
            source = Path(str(dist.locate_file(file)))
            if file.parts[0].endswith(".dist-info") or "__pycache__" in file.parts or not source.is_file():
                continue
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        wanted += [r.split(";")[0] for r in dist.requires or [] if "extra ==" not in r]
    subprocess.run(["chmod", "-R", "a+rX", str(into)], check=True)
    return site


@pytest.fixture(scope="session")
def python_for_others(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """An interpreter and PYTHONPATH with which the other user runs promoter: this test run's own
    when the other user can use it, else a copy of promoter and its packages in a directory everyone
    can read, run by the interpreter this venv was made from."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if _runs_as_other(sys.executable, env):
        yield sys.executable, {}
        return
    base = Path(tempfile.mkdtemp(prefix="promoter-nonroot-python-"))
    base.chmod(0o755)
    try:
        extra = {"PYTHONPATH": str(_copy_of_promoter(base)), "PYTHONNOUSERSITE": "1"}
        candidates = dict.fromkeys([sys.executable, getattr(sys, "_base_executable", ""), "/usr/bin/python3"])
        for python in filter(None, candidates):
            if _runs_as_other(python, {**env, **extra}):
                yield python, extra
                return
        pytest.skip(
            "no Python interpreter of this version can be run by the user nobody (each lies in a directory "
            "it cannot enter): the permission checks need another user"
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def world() -> Iterator[Path]:
    """A directory everyone can read (pytest's own temp dirs are private to root)."""
    base = Path(tempfile.mkdtemp(prefix="promoter-nonroot-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def as_other_user(
    python_for_others: tuple[str, dict[str, str]],
) -> Callable[..., subprocess.CompletedProcess[str]]:
    python, extra = python_for_others

    def run(root: Path, cache: Path, *argv: str) -> subprocess.CompletedProcess[str]:
        return _as_other_user(python, extra, root, cache, *argv)

    return run


def _as_other_user(
    python: str, extra: dict[str, str], root: Path, cache: Path, *argv: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **extra,
        "HOME": str(cache.parent),
        "PROMOTER_CACHE_DIR": str(cache),
        # the repository belongs to someone else: git would refuse it ("dubious ownership")
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
    }
    return subprocess.run(
        [*OTHER, python, "-m", "promoter", "-C", str(root), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _repo(base: Path) -> Path:
    up = make_repo(base / "up", {"x": "1\n"})
    root = make_repo(base / "config", {"promotion.yaml": CONFIG.format(fetch=up), "a.yaml": "tag: abc1234\n"})
    subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
    return root


def test_a_read_only_repository_is_refused_naming_the_lock(world: Path, as_other_user: AsOther) -> None:
    root = _repo(world)
    before = snapshot(root)
    proc = as_other_user(root, world / "cache", "promote", "c", NEW, "--offline", "--yes")
    assert proc.returncode == 3, proc.stderr
    assert f"cannot create the lock file {root}/.git/promoter.lock: Permission denied; nothing written" in proc.stderr
    assert "unexpected error" not in proc.stderr
    assert snapshot(root) == before


def test_read_only_files_with_a_writable_git_dir_are_refused_naming_the_directory(
    world: Path, as_other_user: AsOther
) -> None:
    root = _repo(world)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "65534:65534", str(root / ".git")], check=True)
    before = snapshot(root)
    proc = as_other_user(root, world / "cache", "promote", "c", NEW, "--offline", "--yes")
    assert proc.returncode == 3, proc.stderr
    assert f"cannot write {root}: Permission denied; nothing written" in proc.stderr
    assert snapshot(root) == before and not (root / ".git" / "promoter-journal.json").exists()


def test_a_read_only_cache_directory_is_exit_4_naming_it(world: Path, as_other_user: AsOther) -> None:
    root = _repo(world)
    cache = world / "cache"
    cache.mkdir(mode=0o755)
    proc = as_other_user(root, cache, "plan", "c")
    assert proc.returncode == 4, proc.stderr
    assert f"cannot use the cache directory {cache}/mirrors: Permission denied" in proc.stderr
    assert "unexpected error" not in proc.stderr
