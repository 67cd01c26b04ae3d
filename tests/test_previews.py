"""Issue 19, "one decision shown the same everywhere": no-op plans are no refusals, `check --base`
grouped per place with hints that name the real component, environment and version, the same
`{value, sha}` in every JSON document, full shas in the trailers, history's table in one offset.

Real git repositories in temp dirs (tests/conftest.py); `reconcile`'s previews are in
tests/test_previews_reconcile.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import git, make_repo

RunResult = tuple[int, str, str]
Run = Callable[..., RunResult]

T = 1767225600  # 2026-01-01 00:00 UTC
HOUR = 3600


def _commit(repo: Path, name: str, when: int, offset: str = "+0000", files: dict[str, str] | None = None) -> str:
    """A commit at Unix time `when`, its dates written in `offset` (the committer's clock)."""
    for rel, text in (files or {"log": name + "\n"}).items():
        path = repo / rel
        path.write_text((path.read_text() if path.exists() and rel == "log" else "") + text)
        git(repo, "add", rel)
    date = f"@{when} {offset}"
    git(repo, "commit", "-qm", name, env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    return git(repo, "rev-parse", "HEAD")


def _upstream(path: Path, n: int = 4) -> list[str]:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    return [_commit(path, f"u{i}", T + i * HOUR) for i in range(n)]


# -- history: one offset in the table ----------------------------------------------------------------


def test_history_table_dates_are_all_in_utc_whatever_the_committers_clock(tmp_path: Path, run: Run) -> None:
    """Two promotions committed from Berlin (+0100) and New York (-0500): the text table shows
    both in UTC, so that their order and distance read from the column."""
    u = _upstream(tmp_path / "up")
    config = (
        "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n"
        f"    fetch: {tmp_path / 'up'}\n    branch: main\n"
        "    targets:\n      - {name: prod, environment: production, file: prod.yaml, key: ref, format: sha}\n"
    )
    repo = make_repo(tmp_path / "config", {"promotion.yaml": config, "prod.yaml": f"ref: {u[0]}\n"})
    _commit(repo, "promote 1", T + 10 * HOUR, "+0100", {"prod.yaml": f"ref: {u[1]}\n"})
    _commit(repo, "promote 2", T + 11 * HOUR, "-0500", {"prod.yaml": f"ref: {u[2]}\n"})
    code, out, err = run("-C", repo, "--offline", "history", "app")
    assert code == 0, err
    assert "2026-01-01 10:00 UTC" in out and "2026-01-01 11:00 UTC" in out, out
    assert not re.search(r"[+-]0[15]00", out), out  # no committer's offset left in the table
