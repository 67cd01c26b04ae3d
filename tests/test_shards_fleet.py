"""A fleet run in shards as qontract-reconcile runs its integrations (SHARDS=N, SHARD_ID from 0):
merge request ownership stays per component, so when N changes and a component moves to another
shard, the shard it moved to takes its merge request up (updated, never a second one) and the
shard it left never closes it. Components whose names extend one another (`app`, `app-api`)
each keep their own."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import git, make_repo

NOW = int(time.time())
TOKEN = "ghp_shards"
NAMES = ["app", "app-api", "schemas", "web", "worker", "cron", "auth", "billing"]


def _commit(repo: Path, text: str, when: int) -> str:
    (repo / "log").write_text(text + "\n")
    git(repo, "add", "log")
    git(repo, "commit", "-qm", text, env={"GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000"})
    return git(repo, "rev-parse", "HEAD")


class ShardedFleet:
    def __init__(self, root: Path, api_url: str) -> None:
        self.ups = {}
        first = {}
        for name in NAMES:
            up = root / "up" / name
            up.mkdir(parents=True)
            git(up, "init", "-q", "-b", "main")
            first[name] = _commit(up, f"{name} 0", NOW - 30 * 3600)
            _commit(up, f"{name} 1", NOW - 20 * 3600)
            self.ups[name] = up
        config = "version: 1\ncomponents:\n" + "".join(
            f"  {n}:\n    repo: https://github.com/org/{n}\n    fetch: {self.ups[n]}\n    branch: main\n"
            f"    targets:\n      - {{name: {n}-int, environment: integration, file: {n}.yaml, key: ref,"
            " format: sha}\n"
            for n in NAMES
        )
        config += f"merge_request:\n  method: api\n  forge: github\n  api_url: {api_url}\n"
        files = {"promotion.yaml": config, **{f"{n}.yaml": f"ref: {first[n]}\n" for n in NAMES}}
        self.config = make_repo(root / "config", files)
        self.remote = root / "origin.git"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        web = "https://github.com/org/config.git"
        git(self.config, "remote", "add", "origin", web)
        git(self.config, "config", f"url.{self.remote}.insteadOf", web)
        git(self.config, "push", "-q", "origin", "main")


def test_a_component_that_moves_shard_keeps_its_one_merge_request(  # type: ignore[no-untyped-def]
    tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promoter.pipeline.config import load
    from promoter.ship.reconcile import shard
    from tests.forge_fakes import FakeGitHub, running

    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet = ShardedFleet(tmp_path, gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        comps = load(fleet.config / "promotion.yaml", fleet.config).components

        def where(count: int) -> dict[str, int]:
            return {c.name: i for i in range(count) for c in shard(list(comps.values()), i + 1, count, comps)}

        moved = [n for n in NAMES if where(2)[n] != where(3)[n]]
        assert moved, "the test needs a component that changes shard from 2 shards to 3"

        def run_shards(count: int) -> None:
            for shard_id in range(count):  # one scheduled job per shard, as the fleet's runners do
                monkeypatch.setenv("SHARDS", str(count))
                monkeypatch.setenv("SHARD_ID", str(shard_id))
                code, out, err = run("-C", fleet.config, "reconcile", "--push")
                assert code == 0, out + err
                ran = {n for n in NAMES if f"{n}: " in out}
                assert ran == {n for n, i in where(count).items() if i == shard_id}, out

        run_shards(2)
        assert sorted(p["head"] for p in gh.pulls) == sorted(f"promote/{n}" for n in NAMES)
        opened = {p["head"]: p["number"] for p in gh.pulls}
        bodies = {p["head"]: p["body"] for p in gh.pulls}
        for name in NAMES:  # a new version of every component, then the fleet runs in 3 shards
            _commit(fleet.ups[name], f"{name} 2", NOW - 10 * 3600)
        run_shards(3)
        heads = [p["head"] for p in gh.pulls]
        assert len(heads) == len(set(heads)) == len(NAMES)  # none opened twice
        assert {p["head"]: p["number"] for p in gh.pulls} == opened
        assert [p["head"] for p in gh.pulls if p["state"] != "open"] == []  # none closed
        for p in gh.pulls:  # each updated by the shard it is in now, the moved ones too
            assert p["body"] != bodies[p["head"]]
            new_head = git(fleet.ups[p["head"].removeprefix("promote/")], "rev-parse", "HEAD")
            assert new_head in p["body"]
