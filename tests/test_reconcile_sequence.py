"""A scheduled `promoter reconcile --push` over many runs: random sequences of what happens
between two runs (the upstream moves, a person merges or closes the merge request, main moves,
time passes, a run is killed between its push and its merge request), with the invariants checked
after every run: no duplicate, stale or orphaned merge request, and in the end every environment
runs the newest version its policy allows.

Real git repositories and a bare remote; GitHub's contract fake for the pull requests (GitHub
cannot run here; tests/forge_fakes.py follows its public REST API). The clock is `PROMOTER_NOW`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.forge_fakes import FakeGitHub, running
from tests.test_reconcile import NOW, TOKEN, Fleet, commit

POLICY = "environments:\n  production:\n    after: [integration]\n    soak: 1h\n"
COMPONENTS = ("schemas", "app")


class World:
    def __init__(self, fleet: Fleet, gh: FakeGitHub, run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
        self.fleet, self.gh, self._run, self.mp = fleet, gh, run, monkeypatch
        self.clock = NOW
        self.log: list[str] = []
        self.set_clock(NOW)

    def set_clock(self, when: int) -> None:
        self.clock = when
        self.mp.setenv("PROMOTER_NOW", datetime.fromtimestamp(when, UTC).isoformat())

    def open_pulls(self) -> list[dict[str, Any]]:
        return [p for p in self.gh.pulls if p["state"] == "open"]

    def reconcile(self, *args: str) -> tuple[int, str, str]:
        result: tuple[int, str, str] = self._run("-C", self.fleet.config, "reconcile", *args)
        return result

    def dry_run(self) -> dict[str, Any]:
        code, out, err = self.reconcile("--push", "--dry-run", "-o", "json")  # reads the remote and the forge
        assert code in (0, 3), f"{self.log}\n{err}"
        doc: dict[str, Any] = json.loads(out)
        return doc

    # -- what happens between two runs --
    def upstream_moves(self, rnd: random.Random) -> None:
        name = rnd.choice(COMPONENTS)
        commit(self.fleet.ups[name], f"{name}-{len(self.log)}", self.clock - 60)

    def merged_by_hand(self, rnd: random.Random) -> None:
        pulls = self.open_pulls()
        if not pulls:
            return
        pull = rnd.choice(pulls)
        cfg = self.fleet.config
        git(cfg, "fetch", "-q", "origin", pull["head"])
        git(cfg, "merge", "-q", "--no-edit", "FETCH_HEAD")  # GitHub's merge commit
        git(cfg, "push", "-q", "origin", "main")
        pull["state"], pull["merged_at"] = "closed", "2026-01-01T00:00:00Z"

    def closed_by_hand(self, rnd: random.Random) -> None:
        pulls = self.open_pulls()
        if pulls:
            rnd.choice(pulls)["state"] = "closed"

    def promoted_elsewhere(self, rnd: random.Random) -> None:
        """The same edit lands on main another way (a person's own commit): the open pull request
        is left with nothing to promote."""
        pulls = self.open_pulls()
        if not pulls:
            return
        cfg = self.fleet.config
        git(cfg, "fetch", "-q", "origin", rnd.choice(pulls)["head"])
        git(cfg, "checkout", "-q", "FETCH_HEAD", "--", "int.yaml", "prod.yaml", ".env")
        git(cfg, "commit", "-qm", "promoted by hand")
        git(cfg, "push", "-q", "origin", "main")

    def main_moves(self, rnd: random.Random) -> None:
        cfg = self.fleet.config
        (cfg / "notes.txt").write_text(f"note {len(self.log)}\n")
        git(cfg, "add", "notes.txt")
        git(cfg, "commit", "-qm", "unrelated work")
        git(cfg, "push", "-q", "origin", "main")

    def time_passes(self, rnd: random.Random) -> None:
        self.set_clock(self.clock + rnd.choice((10, 30, 90)) * 60)

    def killed_run(self, rnd: random.Random) -> None:
        env = {**os.environ, "PROMOTER_FAULT": "reconcile-pushed", "PROMOTER_FAULT_ACTION": "kill"}
        subprocess.run(
            [sys.executable, "-m", "promoter", "-C", str(self.fleet.config), "reconcile", "--push"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    # -- the invariants after every run --
    def check(self) -> None:
        where = " -> ".join(self.log)
        pulls = self.open_pulls()
        heads = [p["head"] for p in pulls]
        assert len(heads) == len(set(heads)), f"two open pull requests of one branch after {where}"
        assert set(heads) <= {f"promote/{c}" for c in COMPONENTS}, f"{heads} after {where}"
        remote = set(
            git(self.fleet.remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split()
        )  # fmt: skip
        assert set(heads) <= remote, f"a pull request without its branch after {where}"
        doc = self.dry_run()
        for comp in doc["components"]:
            name, mr = comp["component"], comp["merge_request"]
            mine = [p for p in pulls if p["head"] == mr["branch"]]
            assert mr["action"] in ("leave", "none", "declined"), f"{name}: {mr} right after a run, after {where}"
            if mr["action"] == "none":
                assert mine == [], f"{name}: an open pull request with nothing to promote after {where}"
            elif mr["action"] == "declined":  # closed by a person for this very promotion: not reopened
                assert mine == [], f"{name}: a declined promotion reopened after {where}"
                assert any(
                    p["head"] == mr["branch"] and p["state"] == "closed" and f"promoter-hash: {mr['hash']}" in p["body"]
                    for p in self.gh.pulls
                ), where
            else:
                assert len(mine) == 1 and f"promoter-hash: {mr['hash']}" in mine[0]["body"], where
        assert git(self.fleet.config, "status", "--porcelain") == ""
        assert git(self.fleet.config, "branch", "--show-current") == "main"


EVENTS_AND_WEIGHTS = {
    "upstream_moves": 4,
    "merged_by_hand": 4,
    "closed_by_hand": 1,
    "promoted_elsewhere": 2,
    "main_moves": 2,
    "time_passes": 4,
    "killed_run": 1,
}
EVENTS, WEIGHTS = list(EVENTS_AND_WEIGHTS), list(EVENTS_AND_WEIGHTS.values())


@pytest.fixture
def world(tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:  # type: ignore[no-untyped-def]
    fleet = Fleet(tmp_path, POLICY)
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        assert isinstance(gh, FakeGitHub)
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        yield World(fleet, gh, run, monkeypatch)


@pytest.mark.parametrize("seed", range(4))
def test_any_sequence_of_runs_leaves_no_duplicate_stale_or_orphaned_merge_request(world: World, seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(14):
        event = rnd.choices(EVENTS, WEIGHTS)[0]
        world.log.append(event)
        getattr(world, event)(rnd)
        code, out, err = world.reconcile("--push")
        assert code in (0, 3), f"{world.log}: {out}{err}"
        world.check()

    # then nothing but merges and time (and a new version where a person declined one, which stands
    # until the promotion changes): the loop brings every environment to the newest version
    for _ in range(8):
        declined = [c["component"] for c in world.dry_run()["components"] if c["merge_request"]["action"] == "declined"]
        for name in declined:
            world.log.append(f"upstream_moves({name})")
            commit(world.fleet.ups[name], f"{name}-{len(world.log)}", world.clock - 60)
        if declined:
            code, out, err = world.reconcile("--push")
            assert code in (0, 3), f"{world.log}: {out}{err}"
            world.check()
        if not world.open_pulls():
            break
        world.log.append("merged_by_hand")
        world.merged_by_hand(rnd)
        world.set_clock(world.clock + 2 * 3600)  # past production's soak
        code, out, err = world.reconcile("--push")
        assert code in (0, 3), f"{world.log}: {out}{err}"
        world.check()
    assert world.open_pulls() == [], world.log
    doc = world.dry_run()
    for comp in doc["components"]:
        for env in comp["environments"]:
            assert env["action"] == "up-to-date", f"{comp['component']}/{env['environment']}: {env} after {world.log}"
    heads = {name: git(world.fleet.ups[name], "rev-parse", "HEAD") for name in COMPONENTS}
    cfg = world.fleet.config
    assert (cfg / "int.yaml").read_text() == (cfg / "prod.yaml").read_text() == f"ref: {heads['app']}\n"
    assert (cfg / ".env").read_text() == f"SCHEMAS_TAG={heads['schemas'][:7]}\n"


def test_the_killed_run_is_one_of_the_events(world: World) -> None:
    """The fault the sequences use does kill a run between its push and its pull request."""
    env = {**os.environ, "PROMOTER_FAULT": "reconcile-pushed", "PROMOTER_FAULT_ACTION": "kill"}
    killed = subprocess.run(
        [sys.executable, "-m", "promoter", "-C", str(world.fleet.config), "reconcile", "--push"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert world.gh.pulls == [] and "promote/app" in git(world.fleet.remote, "branch", "--list")
