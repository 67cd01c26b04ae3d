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

import pytest

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
    assert all(re.fullmatch(r"[0-9a-f]{40}", rolled[k]) for k in ("Promoted-From", "Promoted-To"))


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


# -- check --base: one problem per changed place, every broken rule in it ----------------------------------


NOW = "2026-01-01T12:00:00+00:00"


def _base_world(tmp_path: Path, extra_env: str = "") -> tuple[Path, list[str]]:
    """Upstream u0..u3; integration ran u2 from 11:30 (half an hour before NOW); pipelines (three
    places) and production come an hour after integration; pipelines is held and in a closed
    window; u3 is blocked. The branch `by-hand` is where a change is made; main is its base."""
    u = _upstream(tmp_path / "up")
    config = (
        "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n"
        f"    fetch: {tmp_path / 'up'}\n    branch: main\n    blocked: [{u[3][:7]}]\n"
        "    targets:\n"
        "      - {name: int, environment: integration, file: int.yaml, key: ref, format: sha}\n"
        "      - {name: prod, environment: production, file: prod.yaml, key: ref, format: sha}\n"
        "      - {name: dotenv, environment: pipelines, file: .env, env: APP_TAG}\n"
        "      - {name: jenkins, environment: pipelines, file: jenkins.yaml, key: app_tag}\n"
        "      - {name: tekton, environment: pipelines, file: tekton.yaml, key: app_tag}\n"
        "environments:\n"
        "  production:\n    after: [integration]\n    soak: 1h\n"
        "  pipelines:\n    after: [integration]\n    soak: 1h\n"
        "    windows:\n      - deny: '0 0 * * *'\n        duration: 18h\n" + extra_env
    )
    holds = (
        "holds:\n  - component: app\n    environments: [pipelines]\n    reason: frozen this week\n"
        '    author: Ada <ada@example.com>\n    since: "2026-01-01T00:00:00Z"\n'
    )
    old = u[0]
    files = {
        "promotion.yaml": config,
        "promotion-holds.yaml": holds,
        "int.yaml": f"ref: {old}\n",
        "prod.yaml": f"ref: {old}\n",
        ".env": f"APP_TAG={old[:7]}\n",
        "jenkins.yaml": f"app_tag: {old[:7]}\n",
        "tekton.yaml": f"app_tag: '{old[:7]}'\n",
    }
    repo = make_repo(tmp_path / "config", files)
    git(repo, "commit", "--amend", "-qm", "initial", env={"GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00"})
    _commit(repo, "integration to u2", T + 11 * HOUR + 1800, files={"int.yaml": f"ref: {u[2]}\n"})
    git(repo, "switch", "-q", "-c", "by-hand")
    return repo, u


def test_check_base_gives_one_problem_per_place_with_every_rule_and_real_hints(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three places of pipelines pinned by hand to a version that breaks four rules (blocked,
    held, a closed window, integration never ran it): three problems, not twelve; the first lists
    every rule and what to do about each, naming the component, environment and version; the
    others refer to it."""
    monkeypatch.setenv("PROMOTER_NOW", NOW)
    repo, u = _base_world(tmp_path)
    new = u[3][:7]
    for name, text in ((".env", f"APP_TAG={new}\n"), ("jenkins.yaml", f"app_tag: {new}\n"),
                       ("tekton.yaml", f"app_tag: '{new}'\n")):  # fmt: skip
        (repo / name).write_text(text)
    code, out, err = run("-C", repo, "check", "--base", "main", "-o", "json")
    assert code == 3, out + err
    problems = json.loads(out)["problems"]
    assert [(p["file"], p["line"], p["target"]) for p in problems] == [
        (".env", 1, "dotenv"),
        ("jenkins.yaml", 1, "jenkins"),
        ("tekton.yaml", 1, "tekton"),
    ], problems
    kinds = ["policy-blocked", "policy-held", "policy-window", "policy-after"]
    for p in problems:
        assert [r["kind"] for r in p["rules"]] == kinds and p["kind"] == kinds[0], p
        assert p["version"] == {"value": new, "sha": u[3]}
    first = problems[0]
    assert "promoter release app --env pipelines" in first["hint"], first["hint"]
    assert f"promoter promote app {new} --env integration" in first["hint"], first["hint"]
    assert "promoter plan app --env pipelines" in first["hint"], first["hint"]
    assert "(2026-01-01 18:00 UTC)" in first["hint"]  # when the window opens
    for p in problems:
        assert not re.search(r"\b(COMPONENT|ENV|REV)\b", p["hint"] + p["message"]), p

    code, text, err = run("-C", repo, "check", "--base", "main")
    assert code == 3 and text.endswith("3 problems\n"), text
    head, *rest = text.split("\n")
    assert head.startswith(".env:1: app: target 'dotenv' (pipelines) now pins ") and "4 rules" in head, text
    assert sum(line.startswith("    - ") for line in rest) == 4  # each rule once, on a line of its own
    assert "jenkins.yaml:1: app: target 'jenkins' (pipelines) now pins " in text and "as .env:1 does" in text


def test_check_base_tells_a_version_integration_never_ran_from_one_still_soaking(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`policy-after` (integration does not run it: only promoting it there first helps) is not
    `policy-soaking` (integration runs it, for less than the soak: time helps)."""
    monkeypatch.setenv("PROMOTER_NOW", NOW)
    repo, u = _base_world(tmp_path)
    (repo / "prod.yaml").write_text(f"ref: {u[2]}\n")  # integration runs it since 11:30: soaking
    code, out, err = run("-C", repo, "check", "--base", "main", "-o", "json")
    (soaking,) = json.loads(out)["problems"]
    assert (soaking["kind"], [r["kind"] for r in soaking["rules"]]) == ("policy-soaking", ["policy-soaking"])
    assert "wait until it has soaked (until 2026-01-01 12:30 UTC)" in soaking["hint"], soaking
    (repo / "prod.yaml").write_text(f"ref: {u[1]}\n")  # integration never ran u1
    code, out, err = run("-C", repo, "check", "--base", "main", "-o", "json")
    (after,) = json.loads(out)["problems"]
    assert (after["kind"], [r["kind"] for r in after["rules"]]) == ("policy-after", ["policy-after"])
    assert f"promoter promote app {u[1][:7]} --env integration" in after["hint"], after


def test_check_base_an_unpinned_place_says_what_it_pinned_and_names_the_real_command(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMOTER_NOW", NOW)
    repo, u = _base_world(tmp_path)
    (repo / "prod.yaml").write_text("ref: master\n")
    code, out, err = run("-C", repo, "check", "--base", "main", "-o", "json")
    (unpinned,) = [p for p in json.loads(out)["problems"] if p["kind"] == "unpinned"]
    assert f"at main it was {u[0]}" in unpinned["hint"] and "promoter plan app --env production" in unpinned["hint"]
    assert not re.search(r"\b(COMPONENT|ENV|REV)\b", unpinned["hint"]), unpinned


# -- plan: nothing to change is no refusal ------------------------------------------------------------


def _policy_world(tmp_path: Path, prod: int, window: bool = False, hold: bool = False) -> tuple[Path, list[str]]:
    """Upstream u0..u3; integration ran u2 from 02:00 and u3 from 11:30 (half an hour before NOW),
    production (an hour after integration) runs u`prod`; with `window`, production's window is
    closed all day; with `hold`, production is held."""
    u = _upstream(tmp_path / "up")
    window_text = "    windows:\n      - deny: '0 0 * * *'\n        duration: 23h\n" if window else ""
    config = (
        "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n"
        f"    fetch: {tmp_path / 'up'}\n    branch: main\n"
        "    targets:\n"
        "      - {name: int, environment: integration, file: int.yaml, key: ref, format: sha}\n"
        "      - {name: prod, environment: production, file: prod.yaml, key: ref, format: sha}\n"
        "environments:\n  production:\n    after: [integration]\n    soak: 1h\n" + window_text
    )
    files = {"promotion.yaml": config, "int.yaml": f"ref: {u[0]}\n", "prod.yaml": f"ref: {u[prod]}\n"}
    if hold:
        files["promotion-holds.yaml"] = (
            "holds:\n  - component: app\n    environments: [production]\n    reason: incident 42\n"
            '    author: Ada <ada@example.com>\n    since: "2026-01-01T00:00:00Z"\n'
        )
    repo = make_repo(tmp_path / "config", files)
    git(repo, "commit", "--amend", "-qm", "initial", env={"GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00"})
    _commit(repo, "integration to u2", T + 2 * HOUR, files={"int.yaml": f"ref: {u[2]}\n"})
    _commit(repo, "integration to u3", T + 11 * HOUR + 1800, files={"int.yaml": f"ref: {u[3]}\n"})
    return repo, u


def test_plan_of_an_environment_at_the_newest_version_it_may_take_is_nothing_to_change(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production runs u3, the head, promoted there while it still soaks in integration: no
    newer commit exists, so nothing changes (exit 0), not a refusal of every older candidate."""
    monkeypatch.setenv("PROMOTER_NOW", NOW)
    repo, u = _policy_world(tmp_path, prod=3)
    code, out, err = run("-C", repo, "plan", "app", "--env", "production")
    assert code == 0, out + err
    assert "nothing to change" in out and "refused" not in err, out + err
    code, out, err = run("-C", repo, "plan", "app", "--env", "production", "--detailed-exitcode")
    assert code == 0, out + err


def test_a_closed_window_or_a_hold_is_a_note_when_nothing_newer_may_go(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production runs u2; u3 would have soaked by itself, but the window is closed and production
    is held: with no REV nothing newer may go now, so nothing changes (exit 0) and the notes say
    what stops the newer ones, once each; `promote` says the same and writes nothing."""
    monkeypatch.setenv("PROMOTER_NOW", "2026-01-01T13:00:00+00:00")
    repo, u = _policy_world(tmp_path, prod=2, window=True)
    before = (repo / "prod.yaml").read_text()
    code, out, err = run("-C", repo, "plan", "app", "--env", "production")
    assert code == 0, out + err
    assert f"app: nothing to change: production runs {u[2][:7]}; no newer commit of main may be promoted now" in out
    assert f"note: skipped {u[3][:7]}: production: the promotion window is closed" in err, err
    assert "--ignore-window" in err and err.count("the promotion window is closed") == 1, err
    code, out, err = run("-C", repo, "promote", "app", "--env", "production", "--yes")
    assert code == 0 and "nothing to change" in out, out + err
    assert (repo / "prod.yaml").read_text() == before

    repo, u = _policy_world(tmp_path / "held", prod=2, hold=True)
    code, out, err = run("-C", repo, "plan", "app", "--env", "production")
    assert code == 0, out + err
    assert "nothing to change" in out and "production is held by Ada" in err and "--ignore-hold" in err, out + err


def test_a_rev_every_target_runs_already_is_never_refused_by_a_window_or_a_hold(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMOTER_NOW", NOW)
    repo, u = _policy_world(tmp_path, prod=2, window=True, hold=True)
    for argv in (("plan", "app", u[2]), ("promote", "app", u[2], "--yes")):
        code, out, err = run("-C", repo, *argv, "--env", "production")
        assert code == 0, out + err
        assert f"every selected target is already at {u[2][:7]}; nothing to change" in out, out
    code, out, err = run("-C", repo, "--offline", "plan", "app", u[2], "--env", "production")
    assert code == 0 and "nothing to change" in out, out + err
    code, out, err = run("-C", repo, "plan", "app", u[3], "--env", "production")  # a change: refused
    assert code == 3 and "production is held by Ada" in err and "window is closed" in err, out + err
