"""`promoter reconcile` shows one decision whichever way it runs (issue 19): without `--push` it
reads what can be read without writing (the remote's branches, the forge's merge requests when a
token is set) and runs the same decision code as `--push --dry-run` and `--push`, which differ
only in acting; what cannot be known without `--push` is said, never guessed. Its JSON gives
the versions `status` gives; its markdown dashboard says why a component failed.

Real git repositories (upstreams, the config repository, its bare remote), and for the API
method the contract fake of GitHub's REST API in tests/forge_fakes.py (GitHub cannot run here: a
local HTTP server on 127.0.0.1 that follows its public API documentation).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_reconcile import Fleet

RunResult = tuple[int, str, str]
Run = Callable[..., RunResult]


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    return Fleet(tmp_path)


def test_reconcile_json_gives_the_versions_status_gives(fleet: Fleet, run: Run) -> None:
    """A short pin (schemas' `.env`, 7 hex digits) and full ones: `{value, sha}` is the same in
    `reconcile -o json` as in `status -o json`, the full sha of a short pin included."""
    code, out, err = run("-C", fleet.config, "status", "-o", "json")
    assert code == 0, err
    status = {
        (c["component"], e["environment"]): e["versions"]
        for c in json.loads(out)["components"]
        for e in c["environments"]
    }
    code, out, err = run("-C", fleet.config, "reconcile", "-o", "json")
    assert code == 0, err
    reconciled = {
        (c["component"], e["environment"]): e["runs"] for c in json.loads(out)["components"] for e in c["environments"]
    }
    assert reconciled == status
    assert status[("schemas", "ci")] == [{"value": fleet.shas["schemas"][2][:7], "sha": fleet.shas["schemas"][2]}]
    git(fleet.config, "status")  # the repository is untouched
