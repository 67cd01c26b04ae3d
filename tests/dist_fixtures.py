"""The release's artifacts, built once per test session from this checkout as a release builds
them (`python -m build`: the sdist, then the wheel from the unpacked sdist), for the tests of
the package, the image, the GitLab component, the GitHub Action and the pre-commit hook.

The build runs on a copy of the checkout's files (what git tracks and what it does not ignore),
so it writes nothing here. Package registries are the only network it uses (setuptools for the
build, the dependencies of the wheel); pip's cache lives in the session's temp dir: nothing is
kept from one run to the next.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SKIP = {".git", ".venv", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path
    source: Path  # the copy it was built from
    pip_cache: Path  # pip's cache for this session


def checkout_files(root: Path = ROOT) -> list[str]:
    """The checkout's files, as git sees them (tracked, and untracked ones it does not ignore);
    without git, every file but the build's and the tools' own."""
    if (root / ".git").exists() and shutil.which("git"):
        proc = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, check=True,
        )  # fmt: skip
        return sorted({f for f in proc.stdout.decode().split("\0") if f and (root / f).is_file()})
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not _SKIP & set(p.relative_to(root).parts) and not p.name.endswith(".egg-info")
    )


def copy_checkout(dest: Path, root: Path = ROOT) -> Path:
    for rel in checkout_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    return dest


def pip_env(cache: Path) -> dict[str, str]:
    """The environment for pip in a test: this session's cache, no version check, no user config
    beyond the machine's (its index and find-links settings stay)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, "PIP_CACHE_DIR": str(cache), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dist]:
    """The wheel and the sdist of this checkout."""
    base = tmp_path_factory.mktemp("dist")
    source = copy_checkout(base / "source")
    out = base / "out"
    cache = base / "pip-cache"
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        env=pip_env(cache), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"python -m build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    (wheel,) = out.glob("promoter-*.whl")
    (sdist,) = out.glob("promoter-*.tar.gz")
    yield Dist(wheel, sdist, source, cache)


def venv_with(wheel: Path, where: Path, cache: Path, *extra: str) -> Path:
    """A fresh venv at `where` with `wheel` installed (its dependencies from the package index):
    its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, capture_output=True, timeout=300)
    proc = subprocess.run(
        [str(where / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel), *extra],
        env=pip_env(cache), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"pip install {wheel.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return where / "bin"
