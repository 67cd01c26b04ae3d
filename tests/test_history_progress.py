"""`promoter history` on a terminal shows how far it got, on stderr, on one line it rewrites and
clears; never in a pipe and never with `-o json`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import git, stderr_on_a_terminal
from tests.test_history import _fast_import_stream


def _big(tmp_path: Path) -> Path:
    repo = tmp_path / "big"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    stream, _ = _fast_import_stream(2000, 10)
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=repo, input=stream, check=True)
    git(repo, "reset", "-q", "--hard", "main")
    return repo


def _run(repo: Path, out: Path, *args: str, terminal: bool) -> tuple[int, bytes]:
    """Run `promoter history` with stdout to `out` and stderr on a pseudo-terminal (or a pipe)."""
    cmd = [sys.executable, "-m", "promoter", "-C", str(repo), "history", "app", "--offline", *args]
    with out.open("wb") as stdout:
        if not terminal:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE, check=False)
            return proc.returncode, proc.stderr
        return stderr_on_a_terminal(cmd, stdout)


def test_progress_on_a_terminal_only(tmp_path: Path) -> None:
    repo = _big(tmp_path)
    code, err = _run(repo, tmp_path / "table.txt", terminal=True)
    assert code == 0, err
    shown = err.decode().split("\r")
    assert re.fullmatch(r"reading \d+ commits… 0%\x1b\[K", next(s for s in shown if "%" in s))
    assert "reading 401 commits… 100%\x1b[K" in shown  # the commits that touch the targets' files
    assert shown[-1] == "\x1b[K" and "\n" not in err.decode()  # the line is cleared at the end
    assert (tmp_path / "table.txt").read_text().startswith("app: 201 changes\n")

    code, err = _run(repo, tmp_path / "doc.json", "-o", "json", terminal=True)
    assert (code, err) == (0, b"")  # JSON is for programs: nothing on the terminal
    code, err = _run(repo, tmp_path / "piped.txt", terminal=False)
    assert (code, err) == (0, b"")  # a pipe gets no progress
    assert (tmp_path / "piped.txt").read_text() == (tmp_path / "table.txt").read_text()
