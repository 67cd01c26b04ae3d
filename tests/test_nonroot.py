"""Permission errors as a user who may not write: exit 3 or 4 naming the path, nothing written,
never "unexpected error". Run as `nobody` through setpriv when the tests run as root (as CI
does), as the user itself otherwise: either way the permission checks are the kernel's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
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


@pytest.fixture
def world() -> Iterator[Path]:
    """A directory everyone can read (pytest's own temp dirs are private to root)."""
    base = Path(tempfile.mkdtemp(prefix="promoter-nonroot-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def as_other_user(root: Path, cache: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    env = {
        **os.environ,
        "HOME": str(cache.parent),
        "PROMOTER_CACHE_DIR": str(cache),
        # the repository belongs to someone else: git would refuse it ("dubious ownership")
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
    }
    return subprocess.run(
        [*prefix, sys.executable, "-m", "promoter", "-C", str(root), *argv],
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


def test_a_read_only_repository_is_refused_naming_the_lock(world: Path) -> None:
    root = _repo(world)
    before = snapshot(root)
    proc = as_other_user(root, world / "cache", "promote", "c", NEW, "--offline", "--yes")
    assert proc.returncode == 3, proc.stderr
    assert f"cannot create the lock file {root}/.git/promoter.lock: Permission denied; nothing written" in proc.stderr
    assert "unexpected error" not in proc.stderr
    assert snapshot(root) == before


def test_read_only_files_with_a_writable_git_dir_are_refused_naming_the_directory(world: Path) -> None:
    root = _repo(world)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "65534:65534", str(root / ".git")], check=True)
    before = snapshot(root)
    proc = as_other_user(root, world / "cache", "promote", "c", NEW, "--offline", "--yes")
    assert proc.returncode == 3, proc.stderr
    assert f"cannot write {root}: Permission denied; nothing written" in proc.stderr
    assert snapshot(root) == before and not (root / ".git" / "promoter-journal.json").exists()


def test_a_read_only_cache_directory_is_exit_4_naming_it(world: Path) -> None:
    root = _repo(world)
    cache = world / "cache"
    cache.mkdir(mode=0o755)
    proc = as_other_user(root, cache, "plan", "c")
    assert proc.returncode == 4, proc.stderr
    assert f"cannot use the cache directory {cache}/mirrors: Permission denied" in proc.stderr
    assert "unexpected error" not in proc.stderr
