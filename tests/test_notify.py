"""Notifications of `reconcile --push`: Slack's incoming webhook (a POST of Block Kit JSON) and a
generic webhook (a POST of the event, its headers from ${VAR}s), real HTTP servers on 127.0.0.1
following those contracts; each event once across runs whose clones know nothing of each other
(the memory is a ref on the remote), never for a dry run, a failed send tried again by the next
run, no URL or header value in any output."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.forge_fakes import FakeServer, Recorded, Reply, running
from tests.test_reconcile import NOW, Fleet, commit

SLACK_PATH = "/services/T0001/B0002/s3cr3tPathToken"
TOKEN = "hook-t0ken-42"


class Hooks(FakeServer):
    """Slack's incoming webhook (`ok`, or `invalid_payload` for a body without text or blocks) and
    a generic webhook (2xx), on one server: by path."""

    def __init__(self) -> None:
        super().__init__("")
        self.redirect_to: str | None = None

    def handle(self, rec: Recorded) -> Reply:
        if rec.method != "POST":
            return Reply(405, b"method not allowed")
        if rec.path == SLACK_PATH:
            body = rec.body if isinstance(rec.body, dict) else {}
            if not isinstance(body.get("text"), str) or not isinstance(body.get("blocks", []), list):
                return Reply(400, b"invalid_payload")
            return Reply(200, b"ok")
        if rec.path == "/hook":
            if self.redirect_to:
                return Reply(307, b"", {"Location": self.redirect_to + "/hook"})
            return Reply(204 if rec.headers.get("authorization") == f"Bearer {TOKEN}" else 401, b"")
        return Reply(404, b"no_service")

    def posts(self, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.path == path]


NOTIFY = """people:
  author@example.com: "@tester"
notify:
  blocked_after: 1h
  to:
    - slack: "${{SLACK_URL}}"
    - webhook: {hook}/hook
      headers: {{Authorization: "Bearer ${{HOOK_TOKEN}}"}}
      on: [opened, merged, rollback, blocked]
"""


class World:
    def __init__(self, root: Path, hooks: Hooks, run: Any, monkeypatch: pytest.MonkeyPatch, extra: str = "") -> None:
        self.fleet = Fleet(root, extra + NOTIFY.format(hook=hooks.url))
        self.hooks, self._run, self.mp = hooks, run, monkeypatch
        monkeypatch.setenv("SLACK_URL", hooks.url + SLACK_PATH)
        monkeypatch.setenv("HOOK_TOKEN", TOKEN)
        self.clock(NOW)

    def clock(self, when: int) -> None:
        self.mp.setenv("PROMOTER_NOW", datetime.fromtimestamp(when, UTC).isoformat())

    def reconcile(self, *args: str) -> tuple[int, str, str]:
        code, out, err = self._run("-C", self.fleet.config, "reconcile", "--push", *args)
        for secret in (SLACK_PATH, TOKEN, "s3cr3t"):
            assert secret not in out + err, (secret, out, err)
        return code, out, err

    def fresh_clone(self) -> None:
        """What a scheduled job has: a new clone of the remote, nothing else."""
        cfg = self.fleet.config
        shutil.rmtree(cfg)
        git(self.fleet.root, "clone", "-q", str(self.fleet.remote), str(cfg))

    def merge(self, branch: str) -> None:
        cfg = self.fleet.config
        git(cfg, "fetch", "-q", "origin", branch)
        git(cfg, "merge", "-q", "--no-ff", "--no-edit", "FETCH_HEAD")
        git(cfg, "push", "-q", "origin", "main")

    def kinds(self, path: str) -> list[str]:
        return [b["event"] if "event" in b else b["text"] for b in self.hooks.posts(path)]


@pytest.fixture
def world(tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with running(Hooks()) as hooks:
        assert isinstance(hooks, Hooks)
        yield World(tmp_path, hooks, run, monkeypatch)


def test_each_event_once_across_fresh_clones_and_never_for_a_dry_run(world: World) -> None:
    h, a = world.hooks, world.fleet.shas["app"]
    code, out, err = world.reconcile()
    assert code == 0, err
    assert "note: notifications start now: refs/promoter/notified on origin remembers what was sent" in err
    # opened: to Slack as Block Kit, to the webhook as the event (with its token)
    (slack,) = h.posts(SLACK_PATH)
    assert slack["text"] == f"app: merge request opened: integration to {a[2][:7]}, production to {a[2][:7]}"
    assert [b["type"] for b in slack["blocks"]] == ["section", "section", "context"]
    assert slack["blocks"][2]["elements"][0]["text"] == "cc @tester"  # the authors of what it brings
    (hook,) = h.posts("/hook")
    assert (hook["event"], hook["component"], hook["environments"], hook["new"]) == (
        "opened", "app", ["integration", "production"], [a[2]],
    )  # fmt: skip
    assert hook["people"] == [{"name": "Test Author", "handle": "@tester"}]
    assert [r.headers.get("authorization") for r in h.requests if r.path == "/hook"] == [f"Bearer {TOKEN}"]
    assert "notified slack: app: merge request opened" in err
    # a new clone, the same situation: nothing is sent twice
    world.fresh_clone()
    assert world.reconcile()[0] == 0
    assert len(h.requests) == 2
    # merged: a person merges it; the next run (a new clone) tells of each environment's promotion, once
    world.merge("promote/app")
    world.fresh_clone()
    code, out, err = world.reconcile()
    assert code == 0, err
    merged = [b for b in h.posts("/hook") if b["event"] == "merged"]
    assert sorted((b["environments"][0], b["old"], b["new"]) for b in merged) == [
        ("integration", [a[0]], [a[2]]), ("production", [a[0]], [a[2]]),
    ]  # fmt: skip
    assert all(b["people"] == [{"name": "Test Author", "handle": "@tester"}] for b in merged)
    assert sum(1 for b in h.posts(SLACK_PATH) if "promoted from" in b["text"]) == 2
    sent = len(h.requests)
    world.fresh_clone()
    assert world.reconcile()[0] == 0 and len(h.requests) == sent
    # never for a dry run: a new version would open a merge request, and nothing is sent or remembered
    commit(world.fleet.ups["app"], "app3", NOW - 60)
    tip = git(world.fleet.remote, "rev-parse", "refs/promoter/notified")
    code, out, err = world.reconcile("--dry-run")
    assert code == 0 and len(h.requests) == sent and "notified" not in err
    assert git(world.fleet.remote, "rev-parse", "refs/promoter/notified") == tip
    # the state is one commit, without history
    assert git(world.fleet.remote, "rev-list", "--count", "refs/promoter/notified") == "1"


def test_a_failed_send_is_said_and_tried_again_by_the_next_run(world: World) -> None:
    h = world.hooks
    h.fail_next = [Reply(200, b"ok"), Reply(503, b"slow down, key=" + TOKEN.encode()), Reply(503, b"still down")]
    code, out, err = world.reconcile()
    assert code == 0, err  # a notification that fails does not fail the run
    assert "warning: notification not sent: app: merge request opened" in err
    assert "webhook (notify.to, line" in err and "answered 503" in err and "(tried again next run)" in err
    assert [r.path for r in h.requests] == [SLACK_PATH, "/hook", "/hook"]  # tried twice, its deadline bounding both
    world.fresh_clone()
    code, out, err = world.reconcile()
    assert [r.path for r in h.requests][3:] == ["/hook"]  # the webhook again; Slack had it already
    assert h.posts("/hook")[-1]["event"] == "opened"
    assert "notified webhook: app: merge request opened" in err


def test_configured_headers_never_follow_a_redirect_to_another_origin(world: World, tmp_path: Path) -> None:
    with running(Hooks()) as other:
        world.hooks.redirect_to = other.url  # another port: another origin
        code, out, err = world.reconcile()
        assert code == 0, err
        assert [r.path for r in other.requests] == ["/hook"]
        assert "authorization" not in other.requests[0].headers
        assert "answered 401" in err  # the other origin wants a token it was not given


def test_blocked_longer_than_the_bound_is_said_once(tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    holds = "holds: promotion-holds.yaml\n"
    with running(Hooks()) as hooks:
        assert isinstance(hooks, Hooks)
        w = World(tmp_path, hooks, run, monkeypatch, holds)
        cfg = w.fleet.config
        (cfg / "promotion-holds.yaml").write_text(
            "holds:\n  - component: app\n    environments: [production]\n    reason: incident 7\n"
            "    author: Ada <ada@example.com>\n    since: '2020-01-01T00:00:00Z'\n"
        )
        git(cfg, "add", "promotion-holds.yaml")
        git(cfg, "commit", "-qm", "hold app in production")
        git(cfg, "push", "-q", "origin", "main")
        assert w.reconcile()[0] == 0
        assert "blocked" not in w.kinds("/hook")  # seen held now: not for an hour yet
        w.clock(NOW + 30 * 60)
        w.fresh_clone()
        assert w.reconcile()[0] == 0 and "blocked" not in w.kinds("/hook")
        w.clock(NOW + 2 * 3600)
        w.fresh_clone()
        code, out, err = w.reconcile()
        assert code == 0, err
        blocked = [b for b in hooks.posts("/hook") if b.get("event") == "blocked"]
        assert [(b["component"], b["environments"]) for b in blocked] == [("app", ["production"])]
        assert blocked[0]["title"].startswith("app: production held since ")
        assert "incident 7" in blocked[0]["text"]
        w.clock(NOW + 5 * 3600)
        w.fresh_clone()
        assert w.reconcile()[0] == 0
        assert sum(1 for b in hooks.posts("/hook") if b.get("event") == "blocked") == 1


def test_a_rollback_that_reaches_the_branch_is_a_rollback(world: World) -> None:
    h, a = world.hooks, world.fleet.shas["app"]
    assert world.reconcile()[0] == 0
    world.merge("promote/app")
    world.fresh_clone()
    assert world.reconcile()[0] == 0
    cfg = world.fleet.config
    (cfg / "prod.yaml").write_text(f"ref: {a[1]}\n")
    git(cfg, "commit", "-qam", "roll production back to a1")
    git(cfg, "push", "-q", "origin", "main")
    world.fresh_clone()
    code, out, err = world.reconcile()
    assert code == 0, err
    back = [b for b in h.posts("/hook") if b["event"] == "rollback"]
    assert [(b["environments"], b["old"], b["new"]) for b in back] == [(["production"], [a[2]], [a[1]])]
    assert back[0]["url"] == f"https://github.com/org/app/compare/{a[1]}...{a[2]}"  # what it took away
    assert any(":rewind:" in json.dumps(b) for b in h.posts(SLACK_PATH))


def test_a_state_another_run_moved_is_not_overwritten(world: World) -> None:
    from promoter.ship.notify import State, read_state, write_state
    from promoter.upstream.git import Git

    assert world.reconcile()[0] == 0
    g = Git(world.fleet.config)
    state, tip = read_state(g, "origin", "refs/promoter/notified")
    assert state is not None and tip
    assert write_state(g, "origin", "refs/promoter/notified", State(state.since), "") is None  # it exists now
    stale = git(world.fleet.remote, "rev-parse", "refs/promoter/notified")
    state.sent["another"] = state.since.isoformat()  # what a second run sent
    newer = write_state(g, "origin", "refs/promoter/notified", state, tip)
    assert newer is not None and newer != stale
    state.sent["a third"] = state.since.isoformat()
    assert write_state(g, "origin", "refs/promoter/notified", state, stale) is None  # the lease: moved meanwhile
    assert git(world.fleet.remote, "rev-parse", "refs/promoter/notified") == newer


@pytest.mark.parametrize(
    ("notify", "said"),
    [
        (
            "notify:\n  to:\n    - slack: https://hooks.example/x\n      on: [merge]\n",
            "notify: unknown event 'merge' (did you mean 'merged'?)",
        ),
        (
            "notify:\n  to:\n    - slack: https://hooks.example/x\n      headers: {A: b}\n",
            "a Slack incoming webhook takes no headers",
        ),
        ("notify:\n  to:\n    - webhook: http://hooks.example/x\n", "over plain http only to loopback hosts"),
        ("notify:\n  to:\n    - email: a@b\n", "'email'"),
        ("notify:\n  blocked_after: 1h\n", "notify needs 'to:'"),
        ("notify:\n  to: []\n  state: notified\n", "notify: state must be a git ref"),
    ],
)
def test_notify_config_errors(tmp_path: Path, run: Any, notify: str, said: str) -> None:
    fleet = Fleet(tmp_path, notify)
    code, out, err = run("-C", fleet.config, "check")
    assert code == 2 and said in err and "promotion.yaml:" in err, err
