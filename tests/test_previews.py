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


# -- trailers: Promoted-From and Promoted-To in one form -------------------------------------------------


def _trailers(repo: Path, rev: str) -> dict[str, str]:
    text = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def test_promoted_from_and_to_are_full_shas_and_a_rollback_carries_both(tmp_path: Path, run: Run) -> None:
    """A promotion of a short pin (a dotenv line) names where it came from by the full sha the
    upstream gives, as Promoted-To names where it goes; a rollback commit carries both."""
    u = _upstream(tmp_path / "up")
    config = (
        "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n"
        f"    fetch: {tmp_path / 'up'}\n    branch: main\n"
        "    targets:\n      - {name: ci, environment: pipelines, file: .env, env: APP_REF}\n"
    )
    repo = make_repo(tmp_path / "config", {"promotion.yaml": config, ".env": f"APP_REF={u[1][:7]}\n"})
    code, out, err = run("-C", repo, "promote", "app", u[3], "--yes", "--commit")
    assert code == 0, err
    promoted = _trailers(repo, "HEAD")
    assert (promoted["Promoted-From"], promoted["Promoted-To"]) == (u[1], u[3]), promoted
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "-")

    code, out, err = run("-C", repo, "rollback", "app", "--reason", "it breaks", "--commit")
    assert code == 0, err
    rolled = _trailers(repo, "HEAD")
    assert (rolled["Promoted-From"], rolled["Promoted-To"]) == (u[3], u[1]), rolled
    assert re.fullmatch(r"[0-9a-f]{40}", rolled["Promoted-From"]) and re.fullmatch(r"[0-9a-f]{40}", rolled["Promoted-To"])


def test_promoted_from_takes_the_full_sha_another_pin_of_the_same_commit_gives(tmp_path: Path, run: Run) -> None:
    """Offline, the upstream says nothing: a short pin's full sha is the one another target pins
    for the same commit, and that version is named once."""
    u = _upstream(tmp_path / "up")
    config = (
        "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n"
        f"    fetch: {tmp_path / 'up'}\n    branch: main\n"
        "    targets:\n      - {name: ci, environment: pipelines, file: .env, env: APP_REF}\n"
        "      - {name: prod, environment: production, file: prod.yaml, key: ref, format: sha}\n"
    )
    files = {"promotion.yaml": config, ".env": f"APP_REF={u[1][:7]}\n", "prod.yaml": f"ref: {u[1]}\n"}
    repo = make_repo(tmp_path / "config", files)
    code, out, err = run("-C", repo, "--offline", "promote", "app", u[2], "--yes", "--commit")
    assert code == 0, err
    assert _trailers(repo, "HEAD")["Promoted-From"] == u[1]
