"""The promotion policy on real repositories: soak measured on what integration ran (from the
config repository's history, built with fixed commit dates), windows, holds, blocked and hotfix
versions, at instants set with PROMOTER_NOW."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git, make_repo, snapshot

MON = "2026-11-30"  # a Monday


def at(day: str, time: str) -> dict[str, str]:
    stamp = f"{day}T{time}:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def days_after(day: str, n: int) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=n)).isoformat()


class World:
    def __init__(self, root: Path) -> None:
        self.up = root / "up"
        self.up.mkdir()
        git(self.up, "init", "-q", "-b", "main")
        self.c: list[str] = []
        for i in range(1, 6):  # c1..c5, a week before
            (self.up / "f").write_text(f"{i}\n")
            git(self.up, "add", "f")
            git(self.up, "commit", "-qm", f"c{i}", env=at("2026-11-23", f"0{i}:00"))
            self.c.append(git(self.up, "rev-parse", "HEAD"))
        with pytest.MonkeyPatch.context() as mp:  # the config repo starts the Sunday before
            for var, value in at("2026-11-29", "12:00").items():
                mp.setenv(var, value)
            files = {"promotion.yaml": self.yaml(), **self.files("0" * 40, self.c[0])}
            self.config = make_repo(root / "config", files)

    def yaml(self, extra_env: str = "", extra_comp: str = "") -> str:
        return (
            "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n"
            f"    fetch: {self.up}\n    branch: main\n{extra_comp}"
            "    targets:\n"
            "      - {name: int, environment: integration, file: int.yaml, key: ref, format: sha}\n"
            "      - {name: prod, environment: production, file: prod.yaml, key: ref, format: sha}\n"
            "environments:\n  production:\n    after: [integration]\n    soak: 24h\n" + extra_env
        )

    @staticmethod
    def files(integration: str, production: str) -> dict[str, str]:
        return {"int.yaml": f"ref: {integration}\n", "prod.yaml": f"ref: {production}\n"}

    def integration_runs(self, sha: str, day: str, time: str) -> None:
        (self.config / "int.yaml").write_text(f"ref: {sha}\n")
        git(self.config, "commit", "-qam", f"integration to {sha[:7]}", env=at(day, time))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """Integration ran c1 from Monday 08:00, c3 from 18:00, c5 from Tuesday 14:00; it is now
    Wednesday 00:00 (PROMOTER_NOW)."""
    w = World(tmp_path)
    w.integration_runs(w.c[0], MON, "08:00")
    w.integration_runs(w.c[2], MON, "18:00")
    w.integration_runs(w.c[4], days_after(MON, 1), "14:00")
    monkeypatch.setenv("PROMOTER_NOW", f"{days_after(MON, 2)}T00:00:00+00:00")
    return w


def test_soak_counts_from_the_first_run_while_descendants_follow(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c = world.c
    before = snapshot(world.config)
    for ok in (c[0], c[2]):  # c1 soaked 40 h, c3 30 h (even though c5 replaced it)
        code, out, err = run("-C", world.config, "plan", "app", ok, "--env", "production")
        assert code == 0, err
    code, out, err = run("-C", world.config, "plan", "app", c[4], "--env", "production")
    assert code == 3
    assert f"app: {c[4][:7]} is soaking in integration until 2026-12-02 14:00 UTC (14h left)" in err
    assert "pass --ignore-soak to promote anyway" in err
    code, out, err = run("-C", world.config, "plan", "app", c[1], "--env", "production")  # never ran
    assert code == 3
    assert f"production comes after integration, and integration does not run {c[1][:7]}" in err
    code, out, err = run("-C", world.config, "plan", "app", c[4], "--env", "production", "--ignore-soak")
    assert code == 0, err
    assert snapshot(world.config) == before


def test_no_rev_takes_the_newest_version_that_soaked(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c = world.c
    code, out, err = run("-C", world.config, "plan", "app", "--env", "production")
    assert code == 0, err
    assert f"-> {c[2][:7]}" in out  # c3: c5 soaks, c4 never ran
    assert f"note: skipped {c[4][:7]}: app: {c[4][:7]} is soaking in integration until" in err
    assert f"note: skipped {c[3][:7]}: app: production comes after integration" in err


def test_frequent_builds_never_starve_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run) -> None:  # type: ignore[no-untyped-def]
    """A build every 2 h promoted to integration at once, soak 24 h: every day production may take
    a version (the one integration had a day earlier, still soaking through its descendants),
    where 'it must sit unchanged for the whole soak' would never promote one."""
    w = World(tmp_path)
    up, shas = w.up, list(w.c)
    for hour in range(0, 72, 2):  # three days of builds, each promoted to integration at once
        day = days_after(MON, hour // 24)
        (up / "f").write_text(f"b{hour}\n")
        git(up, "commit", "-qam", f"b{hour}", env=at(day, f"{hour % 24:02d}:00"))
        shas.append(git(up, "rev-parse", "HEAD"))
        w.integration_runs(shas[-1], day, f"{hour % 24:02d}:30")
    chosen = []
    for day in (1, 2, 3):
        monkeypatch.setenv("PROMOTER_NOW", f"{days_after(MON, day)}T12:00:00+00:00")
        code, out, err = run("-C", w.config, "plan", "app", "--env", "production", "-o", "json")
        assert code == 0, err
        import json

        chosen.append(json.loads(out)["new"]["sha"])
    assert len(set(chosen)) == 3  # a new version every day
    for i, sha in enumerate(chosen):  # each the newest build integration got at least 24 h before
        assert git(up, "log", "-1", "--format=%s", sha) == f"b{24 * i + 10}"


def test_a_closed_window_refuses_with_when_it_opens(world: World, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    text = world.yaml(
        "    windows:\n      - deny: '0 16 * * FRI'\n        duration: 64h\n        timezone: Europe/Berlin\n"
    )
    (world.config / "promotion.yaml").write_text(text)
    git(world.config, "commit", "-qam", "windows")
    monkeypatch.setenv("PROMOTER_NOW", "2026-12-04T17:00:00+01:00")  # Friday 17:00 in Berlin
    code, out, err = run("-C", world.config, "plan", "app", world.c[2], "--env", "production")  # c3 has soaked
    assert code == 3
    assert "production: the promotion window is closed (deny '0 16 * * FRI' Europe/Berlin, 2d16h)" in err
    assert "it opens 2026-12-07 07:00 UTC; pass --ignore-window to promote anyway" in err
    assert run("-C", world.config, "plan", "app", world.c[4], "--env", "integration")[0] == 0  # no window there
    code, out, err = run("-C", world.config, "plan", "app", world.c[2], "--env", "production", "--ignore-window")
    assert code == 0, err
    code, out, err = run("-C", world.config, "plan", "app", world.c[0], "--env", "production")  # what it runs
    assert code == 0 and "nothing to change" in out, err  # a plan that changes nothing is never refused


def test_blocked_versions_refuse_without_an_option_and_hotfixes_skip_soak(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c = world.c
    text = world.yaml(extra_comp=f"    blocked: [{c[2][:7]}]\n    hotfix: [{c[4][:9]}]\n")
    (world.config / "promotion.yaml").write_text(text)
    git(world.config, "commit", "-qam", "blocked and hotfix")
    for extra in ((), ("--ignore-soak", "--ignore-window", "--ignore-hold", "--ignore-verify")):
        code, out, err = run("-C", world.config, "plan", "app", c[2], "--env", "production", *extra)
        assert code == 3
        assert f"app: {c[2][:7]} is blocked (`blocked: [{c[2][:7]}]` in" in err and "no option lifts it" in err
    code, out, err = run("-C", world.config, "plan", "app", c[4], "--env", "production")  # hotfix: no soak
    assert code == 0, err
    code, out, err = run("-C", world.config, "plan", "app", "--env", "production")  # c5 is the newest that passes
    assert code == 0 and f"-> {c[4][:7]}" in out


def test_hold_refuses_with_who_since_and_why_until_released(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    code, out, err = run("-C", cfg, "hold", "app", "--env", "production", "--reason", "incident 123", "--commit")
    assert code == 0, err
    assert "hold app in production: wrote promotion-holds.yaml" in out
    assert git(cfg, "log", "-1", "--format=%s") == "hold app in production"
    holds = (cfg / "promotion-holds.yaml").read_text()
    assert '"incident 123"' in holds and '"Test Author <author@example.com>"' in holds
    code, out, err = run("-C", cfg, "plan", "app", c[2], "--env", "production")
    assert code == 3
    assert "app: production is held by Test Author <author@example.com> since 2026-12-02 00:00 UTC: incident 123" in err
    assert "pass --ignore-hold to promote anyway" in err
    assert run("-C", cfg, "plan", "app", c[4], "--env", "integration")[0] == 0  # integration is not held
    git(cfg, "switch", "-q", "main")
    git(cfg, "merge", "-q", "hold/app-production")
    code, out, err = run("-C", cfg, "release", "app", "--env", "production")
    assert code == 0, err
    assert "release app in production" in out
    assert run("-C", cfg, "plan", "app", c[2], "--env", "production")[0] == 0
    code, out, err = run("-C", cfg, "release", "app")
    assert code == 3 and "app has no hold in any environment; nothing to release" in err


def test_rollback_goes_back_and_holds_in_one_commit(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    (cfg / "prod.yaml").write_text(f"ref: {c[2]}\n")
    git(cfg, "commit", "-qam", "production to c3", env=at(days_after(MON, 1), "20:00"))
    code, out, err = run(
        "-C", cfg, "rollback", "app", "--env", "production", "--reason", "c3 breaks logins", "--commit"
    )
    assert code == 0, err
    assert (cfg / "prod.yaml").read_text() == f"ref: {c[0]}\n"  # what production ran before
    message = git(cfg, "log", "-1", "--format=%B")
    assert (
        message.startswith(f"rollback app {c[2][:7]} to {c[0][:7]} in production\n") and "c3 breaks logins" in message
    )
    assert sorted(git(cfg, "diff", "--name-only", "HEAD~1", "HEAD").split()) == ["prod.yaml", "promotion-holds.yaml"]
    holds = (cfg / "promotion-holds.yaml").read_text()
    assert '"rollback: c3 breaks logins"' in holds and '"production"' in holds
    code, out, err = run("-C", cfg, "plan", "app", c[2], "--env", "production", "--ignore-soak")
    assert code == 3 and "production is held" in err  # nothing promotes it forward again until released


def test_check_base_holds_hand_made_changes_to_the_same_rules(
    world: World, run, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    git(cfg, "switch", "-q", "-c", "by-hand")
    (cfg / "prod.yaml").write_text(f"ref: {c[4]}\n")  # c5 has soaked 10 h only
    git(cfg, "commit", "-qam", "production to c5, by hand")
    code, out, err = run("-C", cfg, "check", "--base", "main")
    assert code == 3, out
    said = f"prod.yaml:1: app: target 'prod' (production) now pins {c[4]}: {c[4][:7]} is soaking in integration until"
    assert said in out
    assert "wait until it has soaked" in out
    (cfg / "prod.yaml").write_text(f"ref: {c[2]}\n")  # c3 has soaked 30 h: fine
    git(cfg, "commit", "-qam", "production to c3, by hand")
    code, out, err = run("-C", cfg, "check", "--base", "main")
    assert (code, out) == (0, "ok: no problems\n"), out
    monkeypatch.setenv("PROMOTER_NOW", "2026-12-04T17:00:00+01:00")  # and on Friday evening, with a window
    git(cfg, "switch", "-q", "main")  # on the base: the change's own config does not judge it
    (cfg / "promotion.yaml").write_text(
        world.yaml(
            "    windows:\n      - deny: '0 16 * * FRI'\n        duration: 64h\n        timezone: Europe/Berlin\n"
        )
    )
    git(cfg, "commit", "-qam", "windows")
    git(cfg, "switch", "-q", "by-hand")
    git(cfg, "rebase", "-q", "main")
    code, out, err = run("-C", cfg, "check", "--base", "main")
    assert code == 3 and "production: the promotion window is closed" in out
    assert "merge it when the promotion window of production opens (2026-12-07 07:00 UTC)" in out


def test_check_base_refuses_a_change_to_a_held_environment(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    code, out, err = run("-C", cfg, "hold", "app", "--env", "production", "--reason", "freeze")
    assert code == 0 and "hold app in production: wrote promotion-holds.yaml" in out
    # a hold written but not committed holds only this clone: said, with what commits it
    assert "not committed: this takes effect for everyone" in err and "--commit or --push does it" in err
    git(cfg, "add", "promotion-holds.yaml")
    git(cfg, "commit", "-qm", "hold")
    git(cfg, "switch", "-q", "-c", "by-hand")
    (cfg / "prod.yaml").write_text(f"ref: {c[2]}\n")
    code, out, err = run("-C", cfg, "check", "--base", "main")
    assert code == 3 and "production is held by Test Author" in out
    assert "release the hold in a change of its own first (promoter release app --env production --push)" in out


def test_verify_checks_a_real_endpoint_a_command_and_commit_statuses(  # type: ignore[no-untyped-def]
    world: World, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`verify:` against a real HTTP server on 127.0.0.1 (the stage endpoint reports what it runs),
    a real script of the config repository, and commit statuses from GitHub's contract fake
    (GitHub cannot run here; the fake follows its public REST API)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.forge_fakes import FakeGitHub, running

    c, cfg = world.c, world.config
    seen: list[str] = []

    class Stage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            body = f"qontract-reconcile running {c[2][:7]}\n\x1b[31m".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (cfg / "hack").mkdir()
    (cfg / "hack" / "smoke.sh").write_text(
        f'#!/bin/sh\necho "smoke for $2: $1"\n[ "$1" = "{c[2]}" ] || {{ echo "not this one"; exit 1; }}\n'
    )
    (cfg / "hack" / "smoke.sh").chmod(0o755)
    monkeypatch.setenv("STAGE_TOKEN", "s3cret-stage-token")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_verify")
    gh = FakeGitHub("ghp_verify", owner="org", repo="app")
    gh.statuses[c[2]] = [{"context": "build", "state": "success"}]
    gh.check_runs[c[2]] = [{"name": "e2e", "status": "completed", "conclusion": "success"}]
    gh.statuses[c[1]] = [{"context": "build", "state": "failure"}]
    with running(gh):
        verify = (
            "    verify:\n"
            f"      - http: http://127.0.0.1:{server.server_port}/version\n"
            "        expect: 'running {short}'\n"
            "        headers: {Authorization: 'Bearer ${STAGE_TOKEN}'}\n"
            "        retries: 0\n"
            "      - command: [hack/smoke.sh, '{sha}', '{environment}']\n        retries: 0\n"
            "      - commit_status: [build, e2e]\n        retries: 0\n"
        )
        (cfg / "promotion.yaml").write_text(
            world.yaml(verify, extra_comp=f"    forge: {{kind: github, api_url: '{gh.url}'}}\n")
        )
        git(cfg, "add", "-A")
        git(cfg, "commit", "-qm", "verify")
        code, out, err = run("-C", cfg, "plan", "app", c[2], "--env", "production")
        assert code == 0, err  # c3: the endpoint runs it, the script accepts it, build and e2e passed
        assert seen and seen[-1] == "Bearer s3cret-stage-token"
        code, out, err = run("-C", cfg, "plan", "app", c[1], "--env", "production")  # not what it runs (c1)
        assert code == 3
        assert f"production: http http://127.0.0.1:{server.server_port}/version failed: GET" in err
        assert f"the answer does not contain 'running {c[1][:7]}'" in err
        said = f"production exited with 1: smoke for production: {c[1]} | not this one"
        assert f"production: command hack/smoke.sh {{sha}} {{environment}} failed: hack/smoke.sh {c[1]} {said}" in err
        assert "production: commit_status build, e2e failed: build: failure; e2e: not reported" in err
        assert "pass --ignore-verify to promote anyway" in err
        assert "s3cret-stage-token" not in err and "\x1b" not in err
    server.shutdown()
