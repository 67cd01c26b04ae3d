"""The real CLI in a subprocess, and a config repository with three target files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from promoter.pipeline import apply
from tests.conftest import make_repo, snapshot

OLD = "0123456789abcdef0123456789abcdef01234567"
NEW = "fedcba9876543210fedcba9876543210fedcba98"
CONFIG = """\
version: 1
components:
  c:
    repo: https://example.com/c
    targets:
      - {name: one, file: one.yaml, key: ref, format: sha}
      - {name: two, file: two.yaml, key: ref, format: sha}
      - {name: three, file: sub/three.env, env: REF, format: sha}
"""
# the three targets, before and after promoting c from OLD to NEW
BEFORE = {
    "one.yaml": f"# one\nref: {OLD}\n",
    "two.yaml": f"x: 1\r\nref: '{OLD}'  # pinned\r\n",
    "sub/three.env": f"export REF={OLD}\nOTHER=1\n",
}
AFTER = {f: text.replace(OLD, NEW) for f, text in BEFORE.items()}
PROMOTE = ("promote", "c", NEW, "--offline", "--yes")


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def three_files(root: Path) -> Path:
    return make_repo(root, {"promotion.yaml": CONFIG, **BEFORE})


def cli(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m promoter -C root ARGS` in a new process (the test's environment, plus `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "promoter", "-C", str(root), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "promoter", "-C", str(root), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def targets(root: Path) -> dict[str, bytes]:
    return {f: (root / f).read_bytes() for f in BEFORE}


def as_bytes(files: dict[str, str]) -> dict[str, bytes]:
    return {f: t.encode("utf-8") for f, t in files.items()}


def no_leftovers(root: Path) -> None:
    """No temp file in the tree, no journal, no lock, nothing but the repo's own files."""
    assert not list(root.rglob(f"*{apply.TMP_SUFFIX}")), list(root.rglob(f"*{apply.TMP_SUFFIX}"))
    git_dir = root / ".git"
    assert not (git_dir / apply.JOURNAL).exists()
    assert apply.lock_holder(git_dir) is None  # the lock file stays; nobody holds the lock
    assert set(snapshot(root)) == {"promotion.yaml", *BEFORE}
