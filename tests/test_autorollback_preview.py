"""Automatic rollback under the rules main brought (issue 19's one decision, and a verify server
that cannot be reached): a preview (`reconcile` without `--push`) and a dry run decide as
`--push` does, reading the first failure the remote remembers and the rollback branch it holds,
and say what they cannot read; a verify server that cannot be reached is no verdict on what runs:
no failure is remembered and nothing is rolled back (an error of the network, exit 4).

The sequence style of tests/test_autorollback.py: real repositories and a bare remote, GitHub's
contract fake, runs from fresh clones at times set by PROMOTER_NOW."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from tests import test_autorollback
from tests.conftest import git
from tests.forge_fakes import FakeGitHub, running
from tests.test_autorollback import MIN, T0, World
from tests.test_reconcile import TOKEN


@pytest.fixture
def world(tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        assert isinstance(gh, FakeGitHub)
        yield World(tmp_path, gh, run, monkeypatch)


def _clone(world: World) -> Path:
    """A new clone of the remote, as a scheduled job has (the same steps as World.reconcile)."""
    cfg = world.fleet.config
    shutil.rmtree(cfg)
    git(world.fleet.root, "clone", "-q", str(world.fleet.remote), str(cfg))
    git(cfg, "remote", "set-url", "origin", "https://github.com/org/config.git")
    git(cfg, "config", f"url.{world.fleet.remote}.insteadOf", "https://github.com/org/config.git")
    return cfg


def _reconcile(world: World, *args: str) -> tuple[int, dict[str, Any]]:
    """`reconcile ARGS -o json` from a fresh clone: its exit code and app's rollback of production."""
    cfg = _clone(world)
    code, out, err = world._run("-C", cfg, "reconcile", *args, "-o", "json")
    doc = json.loads(out)
    assert doc["kind"] == "reconcile", (doc, err)
    comp = next(c for c in doc["components"] if c["component"] == "app")
    (rb,) = [r for r in comp["rollbacks"] if r["environment"] == "production"]
    return code, rb


def test_the_preview_reads_the_first_failure_the_remote_remembers(world: World) -> None:
    """A push run saw the checks fail at T0 (remembered on the remote); 40 minutes later (grace
    30m) the preview says what --push --dry-run and --push say: roll back, not "failing since now"."""
    a = world.fleet.shas["app"]
    world.failing(a[2])
    assert _reconcile(world, "--push")[1]["action"] == "watch"
    world.at(T0 + 40 * MIN)
    seen = {}
    for how in ((), ("--push", "--dry-run")):
        code, rb = _reconcile(world, *how)
        seen[how] = (code, rb["action"], rb["failing_since"], rb["to"])
    assert seen[()] == seen[("--push", "--dry-run")]
    assert seen[()][1] == "rollback" and seen[()][3] == {"value": a[0], "sha": a[0]}
    assert world.rollback_prs() == []  # neither pushed anything
    code, rb = _reconcile(world, "--push")
    assert rb["action"] == "rollback" and rb["failing_since"] == seen[()][2]
    assert len(world.rollback_prs()) == 1


def test_the_preview_and_the_dry_run_say_the_rollback_awaits_a_person(world: World) -> None:
    """One at a time: while its branch is on the remote, all three say it awaits a person."""
    a = world.fleet.shas["app"]
    world.failing(a[2])
    world.reconcile()
    world.at(T0 + 40 * MIN)
    world.reconcile()
    assert len(world.rollback_prs()) == 1
    world.at(T0 + 50 * MIN)
    reasons = {}
    for how in ((), ("--push", "--dry-run"), ("--push",)):
        code, rb = _reconcile(world, *how)
        reasons[how] = (rb["action"], rb["reason"])
    assert len(set(reasons.values())) == 1, reasons
    action, reason = reasons[()]
    assert action == "rollback" and reason.endswith(
        "its merge request (branch rollback/app-production) awaits a person"
    )
    assert len(world.rollback_prs()) == 1


def test_a_preview_that_cannot_read_the_remote_does_not_guess_since_when(world: World) -> None:
    """The remote cannot be read: the checks fail, but whether for longer than the grace cannot be
    told (the first failure is remembered there): `unknown`, saying why, exit 0; never "watch"."""
    a = world.fleet.shas["app"]
    world.failing(a[2])
    world.reconcile()
    world.at(T0 + 40 * MIN)
    cfg = _clone(world)
    git(cfg, "config", "--unset", f"url.{world.fleet.remote}.insteadOf")  # github.com: not reachable here
    git(cfg, "remote", "set-url", "origin", str(world.fleet.root / "gone.git"))
    code, out, err = world._run("-C", cfg, "reconcile", "-o", "json")
    comp = next(c for c in json.loads(out)["components"] if c["component"] == "app")
    (rb,) = comp["rollbacks"]
    assert rb["action"] == "unknown", rb
    assert "fails its verify checks" in rb["reason"] and "gone.git" in rb["reason"]
    assert code == 0, err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_verify_server_that_cannot_be_reached_rolls_nothing_back(
    tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """main: a check whose server cannot be reached is an error of the network, no verdict on the
    candidate. Nor on what runs: no failure remembered, no rollback however long it lasts; exit 4."""
    port = _closed_port()
    policy = (
        "environments:\n  production:\n    rollback: {on: verify, grace: 30m}\n    verify:\n"
        f"      - http: http://127.0.0.1:{port}/health/{{sha}}\n"
        "        expect: ok\n        retries: 0\n        timeout: 5\n"
    )
    monkeypatch.setattr(test_autorollback, "POLICY", policy)
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        assert isinstance(gh, FakeGitHub)
        w = World(tmp_path, gh, run, monkeypatch)
        for when in (T0, T0 + 40 * MIN, T0 + 3 * 60 * MIN):
            w.at(when)
            code, rb = _reconcile(w, "--push")
            assert rb["action"] == "error" and "could not be reached" in rb["reason"], rb
            assert code == 4
            assert git(w.fleet.remote, "for-each-ref", "refs/promoter/failing/") == ""
        assert w.rollback_prs() == []
