"""Automatic rollback (`rollback: {on: verify, grace: 30m}`), in the reconcile sequence style:
real repositories and a bare remote, GitHub's contract fake for the pull requests, runs of
`reconcile --push` from fresh clones at times set by PROMOTER_NOW, a verify command whose verdict
the test sets. Each of the README's safety rules is a step below."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.forge_fakes import FakeGitHub, running
from tests.test_reconcile import NOW, TOKEN, Fleet

MIN = 60
T0 = NOW + 3 * 3600  # the tests' clock starts here: production got a2 at NOW + 1h, after the setup's commits
POLICY = """environments:
  production:
    rollback: {on: verify, grace: 30m}
    verify:
      - command: [hack/healthy.sh, "{sha}"]
        retries: 0
"""
HEALTHY = '#!/bin/sh\nif grep -q "$1" "$BAD_SHAS"; then echo "error rate 12% on $1"; exit 1; fi\necho ok\n'


class World:
    def __init__(self, root: Path, gh: FakeGitHub, run: Any, mp: pytest.MonkeyPatch, extra: str = "") -> None:
        self.fleet = Fleet(root, POLICY + extra)
        self.gh, self._run, self.mp = gh, run, mp
        self.fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, mp)
        cfg = self.fleet.config
        (cfg / "hack").mkdir()
        (cfg / "hack" / "healthy.sh").write_text(HEALTHY)
        (cfg / "hack" / "healthy.sh").chmod(0o755)
        self.bad = root / "bad-shas"
        self.bad.write_text("")
        mp.setenv("BAD_SHAS", str(self.bad))
        git(cfg, "add", "hack")
        git(cfg, "commit", "-qm", "a health check")
        a = self.fleet.shas["app"]
        (cfg / "prod.yaml").write_text(f"ref: {a[2]}\n")  # production promoted to a2, two hours before T0
        (cfg / "int.yaml").write_text(f"ref: {a[2]}\n")
        git(cfg, "commit", "-qam", "promote app to a2", env={"GIT_COMMITTER_DATE": f"@{NOW + 3600} +0000"})
        git(cfg, "push", "-q", "origin", "main")
        self.at(T0)

    def at(self, when: int) -> None:
        self.mp.setenv("PROMOTER_NOW", datetime.fromtimestamp(when, UTC).isoformat())

    def failing(self, *shas: str) -> None:
        self.bad.write_text("".join(f"{s}\n" for s in shas))

    def reconcile(self, *args: str) -> dict[str, Any]:
        cfg = self.fleet.config
        shutil.rmtree(cfg)  # a scheduled job: a new clone every run
        git(self.fleet.root, "clone", "-q", str(self.fleet.remote), str(cfg))
        git(cfg, "remote", "set-url", "origin", "https://github.com/org/config.git")
        git(cfg, "config", f"url.{self.fleet.remote}.insteadOf", "https://github.com/org/config.git")
        code, out, err = self._run("-C", cfg, "reconcile", "--push", *args, "-o", "json")
        assert code in (0, 3), err
        doc: dict[str, Any] = json.loads(out)
        return next(c for c in doc["components"] if c["component"] == "app")

    def rollback_prs(self) -> list[dict[str, Any]]:
        return [p for p in self.gh.pulls if p["head"].startswith("rollback/")]

    def merge(self, branch: str) -> None:
        cfg = self.fleet.config
        git(cfg, "fetch", "-q", "origin", branch)
        git(cfg, "merge", "-q", "--no-ff", "--no-edit", "FETCH_HEAD")
        git(cfg, "push", "-q", "origin", "main")
        for p in self.gh.pulls:
            if p["head"] == branch and p["state"] == "open":
                p["state"], p["merged_at"] = "closed", "2026-01-01T00:00:00Z"


@pytest.fixture
def world(tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        assert isinstance(gh, FakeGitHub)
        yield World(tmp_path, gh, run, monkeypatch)


def _rb(comp: dict[str, Any]) -> dict[str, Any]:
    (rb,) = [r for r in comp["rollbacks"] if r["environment"] == "production"]
    return rb


def test_a_lasting_failure_of_a_settled_promotion_opens_one_rollback_and_never_a_second(world: World) -> None:
    a = world.fleet.shas["app"]
    assert _rb(world.reconcile())["action"] == "none"  # it passes its checks
    world.failing(a[2])
    rb = _rb(world.reconcile())  # 4. failing now: watched, the first failure kept on the remote
    assert (rb["action"], rb["runs"]["sha"], rb["failing_since"]) == ("watch", a[2], datetime.fromtimestamp(
        T0, UTC).isoformat())  # fmt: skip
    assert rb["evidence"] == [f"command hack/healthy.sh {{sha}}: hack/healthy.sh {a[2]} exited with 1: "
                              f"error rate 12% on {a[2]}"]  # fmt: skip
    assert git(world.fleet.remote, "for-each-ref", "refs/promoter/failing/")
    world.at(T0 + 20 * MIN)
    assert _rb(world.reconcile())["action"] == "watch" and world.rollback_prs() == []  # within the grace
    world.at(T0 + 40 * MIN)
    comp = world.reconcile()
    rb = _rb(comp)
    assert (rb["action"], rb["to"]["sha"], rb["branch"]) == ("rollback", a[0], "rollback/app-production")
    (pr,) = world.rollback_prs()
    assert pr["title"] == f"rollback app {a[2][:7]} to {a[0][:7]} in production"
    assert f"error rate 12% on {a[2]}" in pr["body"] and "It also holds production" in pr["body"]
    assert rb["url"] == f"https://github.com/org/config/pull/{pr['number']}"
    prod = next(e for e in comp["environments"] if e["environment"] == "production")
    assert prod["action"] == "rollback"  # not promoted forward meanwhile
    # 5. the branch holds the rollback and its hold, built from main
    cfg = world.fleet.config
    git(cfg, "fetch", "-q", "origin", "rollback/app-production")
    assert git(cfg, "show", "FETCH_HEAD:prod.yaml") == f"ref: {a[0]}"
    holds = git(cfg, "show", "FETCH_HEAD:promotion-holds.yaml")
    assert 'environments: ["production"]' in holds and "rollback: automatic" in holds
    # 6. one at a time: the next runs push nothing more
    world.at(T0 + 50 * MIN)
    world.reconcile()
    assert len(world.rollback_prs()) == 1
    # 2. merged: production is held, and it runs what a rollback brought: never rolled back again
    world.merge("rollback/app-production")
    world.failing(a[0], a[2])
    world.at(T0 + 3 * 3600)
    assert _rb(world.reconcile())["reason"].startswith("held")
    cfg = world.fleet.config
    (cfg / "promotion-holds.yaml").write_text("holds: []\n")  # released by a person
    git(cfg, "commit", "-qam", "release app in production")
    git(cfg, "push", "-q", "origin", "main")
    world.at(T0 + 5 * 3600)
    rb = _rb(world.reconcile())
    assert rb["action"] == "none" and "came by a rollback" in rb["reason"]
    assert len(world.rollback_prs()) == 1


def test_checks_that_pass_again_start_the_clock_afresh(world: World) -> None:
    a = world.fleet.shas["app"]
    world.failing(a[2])
    assert _rb(world.reconcile())["action"] == "watch"
    world.failing()
    world.at(T0 + 20 * MIN)
    assert _rb(world.reconcile())["action"] == "none"
    assert git(world.fleet.remote, "for-each-ref", "refs/promoter/failing/") == ""  # forgotten
    world.failing(a[2])
    world.at(T0 + 40 * MIN)
    rb = _rb(world.reconcile())  # failing again: from now, not from the first time
    assert rb["action"] == "watch" and rb["failing_since"] == datetime.fromtimestamp(T0 + 40 * MIN, UTC).isoformat()
    assert world.rollback_prs() == []


def test_a_promotion_not_yet_settled_is_left_to_settle(world: World) -> None:
    a = world.fleet.shas["app"]
    world.failing(a[2])
    world.at(NOW + 3600 + 10 * MIN)  # ten minutes after production got a2
    rb = _rb(world.reconcile())
    assert rb["action"] == "none" and "settling until" in rb["reason"]
    assert git(world.fleet.remote, "for-each-ref", "refs/promoter/failing/") == ""


def test_a_dry_run_says_it_would_roll_back_and_pushes_nothing(world: World) -> None:
    a = world.fleet.shas["app"]
    world.failing(a[2])
    world.reconcile()
    world.at(T0 + 40 * MIN)
    rb = _rb(world.reconcile("--dry-run"))
    assert (rb["action"], rb["url"]) == ("rollback", None)
    assert world.rollback_prs() == []
    assert "rollback/app-production" not in git(world.fleet.remote, "branch", "--list")


def test_never_back_to_a_blocked_version_and_said_so(world: World) -> None:
    """What production ran before (a0) is `blocked:`: no rollback, an error that says why."""
    a = world.fleet.shas["app"]
    cfg = world.fleet.config
    config = cfg / "promotion.yaml"
    blocked = f"    depends_on: [schemas]\n    blocked: ['{a[0][:7]}']\n"
    config.write_text(config.read_text().replace("    depends_on: [schemas]\n", blocked))
    git(cfg, "commit", "-qam", "a0 is blocked", env={"GIT_COMMITTER_DATE": f"@{NOW + 3600} +0000"})
    git(cfg, "push", "-q", "origin", "main")
    world.failing(a[2])
    world.reconcile()
    world.at(T0 + 40 * MIN)
    cfg = world.fleet.config
    shutil.rmtree(cfg)
    git(world.fleet.root, "clone", "-q", str(world.fleet.remote), str(cfg))
    git(cfg, "remote", "set-url", "origin", "https://github.com/org/config.git")
    git(cfg, "config", f"url.{world.fleet.remote}.insteadOf", "https://github.com/org/config.git")
    code, out, err = world._run("-C", cfg, "reconcile", "--push", "-o", "json")
    assert code == 3, err  # a person is needed
    rb = _rb(next(c for c in json.loads(out)["components"] if c["component"] == "app"))
    assert rb["action"] == "error" and f"ran {a[0][:7]} before, and it is blocked" in rb["reason"]
    assert world.rollback_prs() == []


def test_the_rollback_it_opens_is_told(tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_notify import TOKEN as HOOK_TOKEN
    from tests.test_notify import Hooks

    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh, running(Hooks()) as hooks:
        assert isinstance(gh, FakeGitHub) and isinstance(hooks, Hooks)
        w = World(tmp_path, gh, run, monkeypatch, f"notify:\n  to:\n    - webhook: {hooks.url}/hook\n"
                  "      on: [rollback]\n      headers: {Authorization: 'Bearer ${HOOK_TOKEN}'}\n")  # fmt: skip
        monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
        a = w.fleet.shas["app"]
        w.failing(a[2])
        w.reconcile()
        w.at(T0 + 40 * MIN)
        w.reconcile()
        (pr,) = w.rollback_prs()
        (event,) = hooks.posts("/hook")
        assert (event["event"], event["environments"], event["old"], event["new"]) == (
            "rollback", ["production"], [a[2]], [a[0]],
        )  # fmt: skip
        assert event["url"] == f"https://github.com/org/config/pull/{pr['number']}"
        assert f"error rate 12% on {a[2]}" in event["text"]
        w.at(T0 + 60 * MIN)
        w.reconcile()
        assert len(hooks.posts("/hook")) == 1  # once


def test_rollback_needs_verify_checks_in_its_environment(tmp_path: Path, run: Any) -> None:
    fleet = Fleet(tmp_path, "environments:\n  production:\n    rollback: {on: verify}\n")
    code, out, err = run("-C", fleet.config, "check")
    assert code == 2 and "rollback on verify needs 'verify:' checks in this environment" in err
    (tmp_path / "b").mkdir()
    fleet = Fleet(tmp_path / "b", "environments:\n  production:\n    rollback: {on: errors}\n")
    code, out, err = run("-C", fleet.config, "check")
    assert code == 2 and "only 'verify' is known" in err


class Sequence(World):
    """World, with what a test of random sequences needs to know: when production's version came,
    whether by a rollback, and when its failure was first seen."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.clock = T0
        a = self.fleet.shas["app"]
        self.came: dict[str, tuple[int, bool]] = {a[2]: (NOW + 3600, False)}  # version -> (when, by a rollback)
        self.seen_failing: dict[str, int] = {}  # a version marked bad -> the first run that saw it
        self.marked: set[str] = set()
        self.log: list[str] = []

    def at(self, when: int) -> None:
        self.clock = when
        super().at(when)

    def prod(self) -> str:
        return git(self.fleet.remote, "show", "main:prod.yaml").split()[-1]

    def held(self) -> bool:
        text = git(self.fleet.remote, "show", "main:promotion-holds.yaml") if git(
            self.fleet.remote, "ls-tree", "--name-only", "main", "promotion-holds.yaml") else ""  # fmt: skip
        return "production" in text

    def merge_pr(self, pr: dict[str, Any]) -> None:
        cfg = self.fleet.config
        before = self.prod()
        git(cfg, "fetch", "-q", "origin", pr["head"])
        date = f"@{self.clock} +0000"
        git(cfg, "merge", "-q", "--no-ff", "--no-edit", "FETCH_HEAD",
            env={"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date})  # fmt: skip
        git(cfg, "push", "-q", "origin", "main")
        pr["state"], pr["merged_at"] = "closed", "2026-01-01T00:00:00Z"
        after = self.prod()
        if after != before:
            self.came[after] = (self.clock, pr["head"].startswith("rollback/"))


def test_random_sequences_never_roll_back_too_soon_twice_or_a_rollback(
    tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    opened = 0
    for seed in range(3):
        with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
            assert isinstance(gh, FakeGitHub)
            (tmp_path / f"s{seed}").mkdir()
            w = Sequence(tmp_path / f"s{seed}", gh, run, monkeypatch)
            rnd = random.Random(seed)
            up = w.fleet.ups["app"]
            for step in range(16):
                event = rnd.choice(["upstream", "merge", "time", "time", "time", "break", "break", "heal", "release"])
                w.log.append(event)
                if event == "upstream":
                    from tests.test_reconcile import commit

                    commit(up, f"app-{seed}-{step}", NOW + 3600)
                elif event == "merge":
                    pulls = [p for p in gh.pulls if p["state"] == "open"]
                    if pulls:
                        w.merge_pr(rnd.choice(pulls))
                elif event == "time":
                    w.at(w.clock + rnd.choice((10, 20, 40)) * MIN)
                elif event == "break":
                    w.marked.add(w.prod())
                elif event == "heal":
                    w.marked.clear()
                    w.seen_failing.clear()
                elif event == "release" and w.held():
                    cfg = w.fleet.config
                    (cfg / "promotion-holds.yaml").write_text("holds: []\n")
                    git(cfg, "commit", "-qam", "release", env={"GIT_COMMITTER_DATE": f"@{w.clock} +0000"})
                    git(cfg, "push", "-q", "origin", "main")
                w.failing(*sorted(w.marked))
                runs, held = w.prod(), w.held()
                opened_before = {p["number"] for p in w.rollback_prs()}
                w.reconcile()
                if runs in w.marked:
                    w.seen_failing.setdefault(runs, w.clock)
                new = [p for p in w.rollback_prs() if p["number"] not in opened_before]
                where = f"seed {seed}: {' -> '.join(w.log)}"
                assert len([p for p in w.rollback_prs() if p["state"] == "open"]) <= 1, where
                for pr in new:
                    came, by_rollback = w.came[runs]
                    assert not held and not by_rollback, f"a rollback while held or of a rollback: {where}"
                    assert runs in w.marked and w.clock - w.seen_failing[runs] >= 30 * MIN, f"too soon: {where}"
                    assert w.clock - came >= 30 * MIN, f"not settled: {where}"
                    cfg = w.fleet.config
                    git(cfg, "fetch", "-q", "origin", pr["head"])
                    to = git(cfg, "show", "FETCH_HEAD:prod.yaml").split()[-1]
                    assert to != runs and git(up, "merge-base", "--is-ancestor", to, runs) == "", where
            opened += len(w.rollback_prs())
    assert opened >= 2  # the sequences do reach rollbacks: the rules above were put to the test
