"""`--shard` the way fleets run it: `I/N` (from 1), qontract-reconcile's `SHARDS`/`SHARD_ID`
(from 0) read when no --shard is given, GitLab's `CI_NODE_INDEX`/`CI_NODE_TOTAL` with
`--shard auto`. Which component a shard takes is `shard()`'s (test_reconcile.py); here, which
shard a run takes, and what it says when the variables are wrong."""

from __future__ import annotations

import pytest

from promoter.errors import UsageError
from promoter.ship.reconcile import shard_spec


@pytest.mark.parametrize(
    ("given", "environ", "expected"),
    [
        (None, {}, None),
        ("2/4", {}, (2, 4)),
        ("2/4", {"SHARDS": "3", "SHARD_ID": "0", "CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "5"}, (2, 4)),
        (None, {"SHARDS": "4", "SHARD_ID": "0"}, (1, 4)),  # qontract-reconcile counts from 0
        (None, {"SHARDS": "4", "SHARD_ID": "3"}, (4, 4)),
        (None, {"SHARDS": "1", "SHARD_ID": "0"}, (1, 1)),
        (None, {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "4"}, None),  # GitLab's only when asked
        ("auto", {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "4"}, (2, 4)),  # GitLab counts from 1
        ("auto", {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "4", "SHARDS": "3", "SHARD_ID": "0"}, (2, 4)),
        ("auto", {"SHARDS": "3", "SHARD_ID": "2"}, (3, 3)),
        ("auto", {}, None),  # a job without parallel: every component
    ],
)
def test_the_shard_a_run_takes(given: str | None, environ: dict[str, str], expected: tuple[int, int] | None) -> None:
    assert shard_spec(given, environ) == expected


@pytest.mark.parametrize(
    ("given", "environ", "said"),
    [
        ("2-4", {}, "--shard takes I/N (e.g. 2/4) or auto, not '2-4'"),
        (None, {"SHARDS": "4"}, "SHARD_ID and SHARDS go together"),
        (None, {"SHARD_ID": "1"}, "SHARD_ID and SHARDS go together"),
        (None, {"SHARDS": "4", "SHARD_ID": "4"}, "SHARD_ID=4 with SHARDS=4: SHARD_ID counts from 0 to SHARDS-1"),
        (None, {"SHARDS": "0", "SHARD_ID": "0"}, "SHARD_ID=0 with SHARDS=0: SHARD_ID counts from 0 to SHARDS-1"),
        (None, {"SHARDS": "four", "SHARD_ID": "0"}, "SHARDS='four' is not a whole number"),
        (None, {"SHARDS": "4", "SHARD_ID": "-1"}, "SHARD_ID='-1' is not a whole number"),
        ("auto", {"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "4"}, "CI_NODE_INDEX counts from 1 to CI_NODE_TOTAL"),
        ("auto", {"CI_NODE_INDEX": "5", "CI_NODE_TOTAL": "4"}, "CI_NODE_INDEX=5 with CI_NODE_TOTAL=4"),
        ("auto", {"CI_NODE_TOTAL": "4"}, "CI_NODE_INDEX and CI_NODE_TOTAL go together"),
    ],
)
def test_wrong_variables_are_usage_errors_that_name_them(given: str | None, environ: dict[str, str], said: str) -> None:
    with pytest.raises(UsageError) as caught:
        shard_spec(given, environ)
    assert said in str(caught.value)


def test_the_command_reads_the_variables(run, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The command line takes SHARDS/SHARD_ID and `--shard auto` (before any repository is read:
    a bad variable is a usage error, exit 2, saying which)."""
    monkeypatch.setenv("SHARDS", "2")
    monkeypatch.setenv("SHARD_ID", "2")
    code, out, err = run("-C", tmp_path, "reconcile")
    assert code == 2 and "SHARD_ID=2 with SHARDS=2: SHARD_ID counts from 0 to SHARDS-1" in err
    monkeypatch.delenv("SHARDS")
    monkeypatch.delenv("SHARD_ID")
    monkeypatch.setenv("CI_NODE_INDEX", "3")
    monkeypatch.setenv("CI_NODE_TOTAL", "2")
    code, out, err = run("-C", tmp_path, "reconcile", "--shard", "auto")
    assert code == 2 and "CI_NODE_INDEX=3 with CI_NODE_TOTAL=2" in err
