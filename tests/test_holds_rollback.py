"""Holds, rollback and windows at their edges (issue 18): a rollback only ever moves back, a hold
written by hand for an unknown component or environment is an error wherever the holds file is
read, `hold --reason` never writes a file promoter cannot read back, and windows that never
open are answered at once."""

from __future__ import annotations

import resource
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoter.errors import UsageError
from promoter.policy import holds as holds_file
from tests.conftest import git, snapshot
from tests.test_policy import MON, World, at, days_after


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """The upstream has c1..c5; integration ran c1 then c5, production c1 (from Sunday), c2 (Monday
    20:00), then c3 (Tuesday 20:00); it is Wednesday 00:00."""
    w = World(tmp_path)
    w.integration_runs(w.c[0], MON, "08:00")
    w.integration_runs(w.c[4], MON, "18:00")
    for sha, day in ((w.c[1], MON), (w.c[2], days_after(MON, 1))):
        (w.config / "prod.yaml").write_text(f"ref: {sha}\n")
        git(w.config, "commit", "-qam", f"production to {sha[:7]}", env=at(day, "20:00"))
    monkeypatch.setenv("PROMOTER_NOW", f"{days_after(MON, 2)}T00:00:00+00:00")
    return w


def _rolled_back(run, cfg: Path, *extra: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """`rollback app --env production` written into the work tree, then committed as it would be merged."""
    code, out, err = run("-C", cfg, "rollback", "app", "--env", "production", "--reason", "bad", *extra)
    if code == 0:
        git(cfg, "add", "-A")
        git(cfg, "commit", "-qm", "rollback", env=at(days_after(MON, 2), "00:00"))
    return code, out, err


# -- rollback only ever moves back --------------------------------------------------------------


def test_a_second_rollback_goes_further_back_never_to_what_the_first_backed_out_of(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    code, out, err = _rolled_back(run, cfg)
    assert code == 0, err
    assert (cfg / "prod.yaml").read_text() == f"ref: {c[1]}\n"  # c3 -> c2
    code, out, err = _rolled_back(run, cfg)
    assert code == 0, err
    assert (cfg / "prod.yaml").read_text() == f"ref: {c[0]}\n"  # c2 -> c1, never back to c3
    before = snapshot(cfg)
    code, out, err = _rolled_back(run, cfg)  # c1 is the oldest production ran
    assert code == 3
    assert f"app: production ran nothing older than {c[0][:7]} before it" in err and "give --to REV" in err
    assert snapshot(cfg) == before


def test_offline_a_second_rollback_judges_by_the_order_the_history_ran_them(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    assert _rolled_back(run, cfg, "--offline")[0] == 0
    code, out, err = _rolled_back(run, cfg, "--offline")
    assert code == 0, err
    assert (cfg / "prod.yaml").read_text() == f"ref: {c[0]}\n"
    assert f"{c[0][:7]} is taken as older than {c[1][:7]}" in err and "not checked" in err
    code, out, err = _rolled_back(run, cfg, "--offline")
    assert code == 3 and f"ran nothing older than {c[0][:7]} before it" in err


def test_rollback_to_a_newer_version_than_what_runs_is_refused(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    before = snapshot(cfg)
    code, out, err = _rolled_back(run, cfg, "--to", c[4])
    assert code == 3
    assert f"app: --to {c[4][:7]} is newer than {c[2][:7]}, which prod runs" in err
    assert "a rollback only goes back" in err
    assert snapshot(cfg) == before
    code, out, err = _rolled_back(run, cfg, "--to", c[2])  # what runs
    assert code == 3 and "nothing to roll back" in err
    code, out, err = _rolled_back(run, cfg, "--to", c[0])  # older: fine
    assert code == 0, err
    assert (cfg / "prod.yaml").read_text() == f"ref: {c[0]}\n"


def test_rollback_to_an_unrelated_version_is_refused(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg, up = world.c, world.config, world.up
    git(up, "switch", "-qc", "side", c[1])  # s1 forks from c2 and is merged after c5
    (up / "g").write_text("side\n")
    git(up, "add", "g")
    git(up, "commit", "-qm", "s1", env=at("2026-11-23", "06:00"))
    side = git(up, "rev-parse", "HEAD")
    git(up, "switch", "-q", "main")
    git(up, "merge", "-q", "--no-ff", "-m", "merge side", "side", env=at("2026-11-23", "07:00"))
    before = snapshot(cfg)
    code, out, err = _rolled_back(run, cfg, "--to", side)
    assert code == 3
    assert f"app: --to {side[:7]} is not an ancestor of {c[2][:7]}, which prod runs" in err
    assert snapshot(cfg) == before


def test_offline_rollback_to_a_version_that_ran_later_is_refused(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    assert _rolled_back(run, cfg, "--offline")[0] == 0  # c3 -> c2
    code, out, err = _rolled_back(run, cfg, "--offline", "--to", c[2])
    assert code == 3
    assert f"app: --to {c[2][:7]} ran in production after {c[1][:7]}" in err
    code, out, err = _rolled_back(run, cfg, "--offline", "--to", c[3])  # never ran: said, not judged
    assert code == 0, err
    assert f"{c[3][:7]} never ran in production" in err and "not checked" in err


# -- a hold names a component and environments that exist ---------------------------------------

HELD = (
    "holds:\n"
    "  - component: {component}\n"
    "    environments:\n"
    "      - integration\n"
    "      - {environment}\n"
    "    reason: by hand\n"
    '    since: "2026-11-01T00:00:00Z"\n'
)


def test_a_hold_of_an_unknown_environment_is_an_error_wherever_the_holds_file_is_read(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    (cfg / "promotion-holds.yaml").write_text(HELD.format(component="app", environment="prod"))
    git(cfg, "add", "-A")
    git(cfg, "commit", "-qm", "hold by hand")
    message = (
        "promotion-holds.yaml:5: a hold of app names the unknown environment 'prod' (did you mean "
        "'production'?); app's environments: integration, production"
    )
    before = snapshot(cfg)
    for argv in (
        ("check",),
        ("plan", "app", c[4], "--env", "production"),
        ("promote", "app", c[4], "--env", "production"),
        ("hold", "app", "--reason", "x"),
        ("release", "app"),
        ("rollback", "app", "--env", "production", "--reason", "x"),
    ):
        code, out, err = run("-C", cfg, *argv)
        assert (code, err) == (2, f"promoter: error: {message}\n"), (argv, out, err)
    for argv in (("status",), ("reconcile",)):  # an error, or each environment's next step is that error
        code, out, err = run("-C", cfg, *argv)
        assert (message in out + err and code != 0) or out.count(message) == 2, (argv, out, err)
    assert snapshot(cfg) == before


def test_a_hold_of_an_unknown_component_is_an_error_with_did_you_mean(world: World, run) -> None:  # type: ignore[no-untyped-def]
    cfg = world.config
    (cfg / "promotion-holds.yaml").write_text(HELD.format(component="App", environment="production"))
    code, out, err = run("-C", cfg, "plan", "app", world.c[4], "--env", "integration")
    assert code == 2
    assert err == (
        "promoter: error: promotion-holds.yaml:2: a hold names the unknown component 'App' (did you mean 'app'?); "
        f"{cfg}/promotion.yaml defines: app\n"
    )


def test_check_base_judges_the_holds_of_the_base_by_the_config_of_the_base(world: World, run) -> None:  # type: ignore[no-untyped-def]
    cfg = world.config
    (cfg / "promotion-holds.yaml").write_text(HELD.format(component="app", environment="prod"))
    git(cfg, "add", "-A")
    git(cfg, "commit", "-qm", "hold by hand")
    base = git(cfg, "rev-parse", "HEAD")
    git(cfg, "switch", "-q", "-c", "fix")
    (cfg / "promotion-holds.yaml").write_text(HELD.format(component="app", environment="production"))
    code, out, err = run("-C", cfg, "check", "--base", "main")
    assert code == 2
    assert err.startswith("promoter: error: ") and "promotion-holds.yaml" in err
    assert base[:12] in err or "main:promotion-holds.yaml" in err  # the base's file, however it is named
    assert err.endswith(
        ":5: a hold of app names the unknown environment 'prod' (did you mean 'production'?); "
        "app's environments: integration, production\n"
    )
    # a base that holds a component its own config defines, and a change that removes both: fine
    git(cfg, "switch", "-q", "main")
    old = (
        "  old:\n    repo: https://github.com/org/old\n"
        "    targets:\n      - {name: o, environment: qa, file: o.yaml, key: v, format: sha}\n"
    )
    (cfg / "promotion.yaml").write_text(world.yaml().replace("components:\n", "components:\n" + old))
    (cfg / "o.yaml").write_text(f"v: {world.c[0]}\n")
    (cfg / "promotion-holds.yaml").write_text(
        HELD.format(component="old", environment="qa").replace("      - integration\n", "")
    )
    git(cfg, "add", "-A")
    git(cfg, "commit", "-qm", "old, held")
    code, out, err = run("-C", cfg, "check")
    assert code == 0, (out, err)
    git(cfg, "switch", "-q", "-c", "drop-old")
    (cfg / "promotion.yaml").write_text(world.yaml())
    (cfg / "promotion-holds.yaml").write_text("holds: []\n")
    code, out, err = run("-C", cfg, "check", "--base", "main")
    assert code == 0 and "ok: no problems" in out, (out, err)


# -- hold --reason never writes a holds file promoter cannot read --------------------------------

TEXT = st.text(st.characters(blacklist_categories=["Cs"]))  # every code point but lone surrogates
WHEN = st.builds(
    lambda at, minutes: at.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
)
HOLD = st.builds(
    holds_file.Hold,
    st.sampled_from(["app", "web"]),
    st.lists(st.sampled_from(["integration", "production"]), max_size=2).map(tuple),
    TEXT,
    TEXT,
    WHEN,
    st.none() | WHEN,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(HOLD, max_size=3))
def test_any_text_is_written_so_that_it_reads_back_as_the_same_holds(holds: list[holds_file.Hold]) -> None:
    text = holds_file.render(holds)
    text.encode("utf-8")  # it can be written
    back = holds_file.parse(text, "promotion-holds.yaml")
    assert [(h.component, h.environments, h.reason, h.author, h.since, h.until) for h in back] == [
        (h.component, h.environments, h.reason, h.author, h.since, h.until) for h in holds
    ]


@settings(max_examples=50, deadline=None)
@given(TEXT, st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), TEXT)
def test_text_that_is_not_unicode_is_refused_not_written(before: str, surrogate: str, after: str) -> None:
    hold = holds_file.Hold("app", (), before + surrogate + after, "", datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(UsageError, match=f"U\\+{ord(surrogate):04X}, a lone surrogate"):
        holds_file.render([hold])


def test_hold_with_controls_and_noncharacters_in_its_reason_is_read_back_everywhere(world: World, run) -> None:  # type: ignore[no-untyped-def]
    c, cfg = world.c, world.config
    reason = "incident \x9b31m 42\x85\ufffe \uffff\x7f \u2028 \U0010fffe end"
    code, out, err = run("-C", cfg, "hold", "app", "--env", "production", "--reason", reason)
    assert code == 0, err
    assert holds_file.parse((cfg / "promotion-holds.yaml").read_text(encoding="utf-8"), "f")[0].reason == reason
    code, out, err = run("-C", cfg, "plan", "app", c[4], "--env", "production")
    assert code == 3  # held, with the reason shown inert
    assert "production is held by Test Author <author@example.com> since 2026-12-02 00:00 UTC: incident \\x9b31m" in err
    git(cfg, "add", "-A")
    git(cfg, "commit", "-qm", "hold")
    code, out, err = run("-C", cfg, "release", "app")
    assert code == 0, err
    assert run("-C", cfg, "plan", "app", c[4], "--env", "production")[0] == 0


def test_hold_refuses_a_reason_that_is_not_unicode_and_an_until_beyond_year_9999(world: World, run) -> None:  # type: ignore[no-untyped-def]
    cfg = world.config
    before = snapshot(cfg)
    code, out, err = run("-C", cfg, "hold", "app", "--reason", "bytes \udcff from argv")
    assert code == 2
    assert "promotion-holds.yaml: a hold holds text that is not Unicode (U+DCFF, a lone surrogate" in err
    code, out, err = run("-C", cfg, "hold", "app", "--reason", "r", "--until", "9999-12-31T23:00:00-05:00")
    assert code == 2
    assert "--until 9999-12-31T23:00:00-05:00 falls outside the years 1 to 9999 in UTC" in err
    assert snapshot(cfg) == before


def test_the_holds_file_is_read_back_before_it_is_written(world: World, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Were the escaping wrong (here: JSON's, as before), the text is refused before the write."""
    import json

    cfg = world.config
    monkeypatch.setattr(holds_file, "_quote", lambda text: json.dumps(text, ensure_ascii=False))
    before = snapshot(cfg)
    code, out, err = run("-C", cfg, "hold", "app", "--reason", "incident \x9b")
    assert code == 3
    assert err.startswith(
        "promoter: error: promotion-holds.yaml: the holds to write do not read back as written (promotion-holds.yaml:"
    )
    assert err.endswith("); nothing was written\n")
    assert snapshot(cfg) == before


def test_a_hand_written_time_beyond_year_9999_in_utc_is_a_config_error(world: World, run) -> None:  # type: ignore[no-untyped-def]
    cfg = world.config
    text = HELD.format(component="app", environment="production").replace(
        "2026-11-01T00:00:00Z", "9999-12-31T23:00:00-05:00"
    )
    (cfg / "promotion-holds.yaml").write_text(text)
    code, out, err = run("-C", cfg, "plan", "app", world.c[4], "--env", "integration")
    assert (code, err) == (
        2,
        "promoter: error: promotion-holds.yaml:7: since '9999-12-31T23:00:00-05:00' falls outside the years 1 to 9999 "
        "in UTC\n",
    )


# -- windows that never open are answered at once -------------------------------------------------


def _cpu_limited() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (5, 5))  # a walk of the periods to year 9999 took 100 s


def limited(*argv: str) -> subprocess.CompletedProcess[str]:
    """`python *argv` in a child allowed 5 s of CPU: killed (SIGXCPU) when it walks."""
    return subprocess.run(
        [sys.executable, *argv], preexec_fn=_cpu_limited, capture_output=True, text=True, timeout=120, check=False
    )


NEVER = """
from datetime import datetime
from promoter.model import Window
from promoter.policy.windows import state

at = datetime.fromisoformat("2026-12-02T10:00:00+00:00")
for windows in (
    [("deny", "0 0 * * *", 86400, "UTC")],  # each day's deny ends as the next one starts
    [("deny", "0 0 * * MON", 3650 * 86400, "UTC")],  # weekly, for ten years
    [("deny", "* * * * *", 3650 * 86400, "Europe/Berlin")],
    [("deny", "* * * * *", 86400, "UTC")],
    [("allow", "0 0 29 2 *", 3600, "UTC")],  # the next 29 February is in 2028
    [("allow", "0 9 * * *", 3600, "UTC"), ("deny", "0 0 * * *", 86400, "UTC")],  # each opening denied
    [("allow", "* * * * *", 3650 * 86400, "UTC")],  # open, and it never closes
    [("deny", "0 0 * * *", 86400, "Europe/Berlin")],  # the 25-hour day of October leaves an hour
):
    s = state(tuple(Window(*w) for w in windows), at)
    print(s.open, s.until and s.until.isoformat())
"""


def test_windows_that_never_open_are_answered_at_once() -> None:
    proc = limited("-c", NEVER)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        *["False None"] * 6,
        "True None",
        "False 2027-10-31T22:00:00+00:00",
    ]


def test_plan_says_at_once_that_the_window_never_opens(world: World) -> None:
    cfg = world.config
    (cfg / "promotion.yaml").write_text(world.yaml("    windows:\n      - deny: '0 0 * * *'\n        duration: 24h\n"))
    git(cfg, "commit", "-qam", "windows")
    proc = limited("-m", "promoter", "-C", str(cfg), "plan", "app", world.c[0], "--env", "production", "--offline")
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        "promoter: error: production: the promotion window is closed (deny '0 0 * * *' UTC, 1d); "
        "no opening within 400 days; pass --ignore-window to promote anyway"
    )


def test_allow_windows_that_follow_at_once_are_open_to_the_last_end() -> None:
    from promoter.model import Window
    from promoter.policy.windows import state

    halves = Window("allow", "*/30 8-17 * * MON-FRI", 1800, "America/New_York")  # 08:00 to 18:00, in halves
    s = state((halves,), datetime.fromisoformat("2026-02-27T14:24:00+00:00"))  # Friday 09:24 in New York
    assert (s.open, s.until) == (True, datetime.fromisoformat("2026-02-27T23:00:00+00:00"))


def test_an_opening_that_a_deny_window_takes_is_looked_past() -> None:
    from promoter.model import Window
    from promoter.policy.windows import state

    mornings = Window("allow", "0 9 * * *", 3600, "UTC")
    monday = Window("deny", "0 0 * * MON", 86400, "UTC")
    s = state((mornings, monday), datetime.fromisoformat("2026-12-06T12:00:00+00:00"))  # a Sunday
    assert (s.open, s.until) == (False, datetime.fromisoformat("2026-12-08T09:00:00+00:00"))  # Tuesday's


def test_a_holds_file_whose_directory_does_not_exist_is_said_with_what_to_do(world: World, run) -> None:  # type: ignore[no-untyped-def]
    cfg = world.config
    (cfg / "promotion.yaml").write_text(world.yaml() + "holds: ops/holds.yaml\n")
    git(cfg, "commit", "-qam", "holds in ops/")
    before = snapshot(cfg)
    code, out, err = run("-C", cfg, "rollback", "app", "--env", "production", "--reason", "breaks", "--commit")
    assert code == 3
    assert "ops/holds.yaml: its directory ops/ does not exist: create it (mkdir -p ops) and run again" in err
    assert snapshot(cfg) == before and git(cfg, "branch", "--show-current") == "main"
    (cfg / "ops").mkdir()
    code, out, err = run("-C", cfg, "rollback", "app", "--env", "production", "--reason", "breaks", "--commit")
    assert code == 0, err
