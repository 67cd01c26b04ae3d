"""Promotion windows at fixed instants: cron read by cronsim in real time zones, DST and year
boundaries included; the config's policy keys refused with file:line when wrong."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from promoter.errors import ConfigError
from promoter.model import Window
from promoter.pipeline import config
from promoter.policy.windows import state

FRIDAY = Window("deny", "0 16 * * FRI", 64 * 3600, "Europe/Berlin")  # Friday 16:00 Berlin for 64 h
WEEKDAYS = Window("allow", "0 9 * * MON-THU", 8 * 3600, "UTC")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("now", "open_", "until"),
    [
        ("2026-12-04T14:59:00+00:00", True, "2026-12-04T15:00:00+00:00"),  # 15:59 in Berlin (CET)
        ("2026-12-04T15:00:00+00:00", False, "2026-12-07T07:00:00+00:00"),  # 16:00: closed for 64 h
        ("2026-12-07T06:59:59+00:00", False, "2026-12-07T07:00:00+00:00"),
        ("2026-12-07T07:00:00+00:00", True, "2026-12-11T15:00:00+00:00"),
        # spring forward in Berlin (Sunday 29 March 2026): 64 h of real time end at 09:00 CEST
        ("2026-03-27T15:00:00+00:00", False, "2026-03-30T07:00:00+00:00"),
        ("2026-03-27T14:30:00+00:00", True, "2026-03-27T15:00:00+00:00"),
        # fall back (25 October 2026): Friday 23 October 16:00 CEST is 14:00 UTC
        ("2026-10-23T14:00:00+00:00", False, "2026-10-26T06:00:00+00:00"),
        ("2026-10-23T13:59:00+00:00", True, "2026-10-23T14:00:00+00:00"),
        # across the year boundary: Friday 1 January 2027, 16:00 CET
        ("2027-01-01T15:30:00+00:00", False, "2027-01-04T07:00:00+00:00"),
    ],
)
def test_a_deny_window(now: str, open_: bool, until: str) -> None:
    s = state((FRIDAY,), at(now))
    assert (s.open, s.until) == (open_, at(until))
    assert s.window == (None if open_ else FRIDAY)


def test_allow_windows_are_the_only_open_times_and_deny_windows_still_close() -> None:
    s = state((WEEKDAYS, FRIDAY), at("2026-12-04T10:00:00+00:00"))  # a Friday: no allow window
    assert (s.open, s.until) == (False, at("2026-12-07T09:00:00+00:00"))
    s = state((WEEKDAYS, FRIDAY), at("2026-12-07T10:00:00+00:00"))  # Monday 10:00
    assert (s.open, s.until) == (True, at("2026-12-07T17:00:00+00:00"))
    s = state((WEEKDAYS,), at("2026-12-31T20:00:00+00:00"))  # Thursday evening, New Year's Eve
    assert (s.open, s.until) == (False, at("2027-01-04T09:00:00+00:00"))


def test_overlapping_deny_windows_keep_it_closed_to_the_last_end() -> None:
    daily = Window("deny", "0 22 * * *", 10 * 3600, "UTC")  # 22:00 to 08:00 every night
    freeze = Window("deny", "0 6 24 12 *", 72 * 3600, "UTC")  # a holiday freeze from 24 December 06:00
    s = state((daily, freeze), at("2026-12-23T23:00:00+00:00"))
    assert (s.open, s.until) == (False, at("2026-12-27T08:00:00+00:00"))


CONFIG = """version: 1
components:
  c:
    repo: https://github.com/org/c
    targets:
      - {{name: int, environment: integration, file: a.yaml, key: tag}}
      - {{name: prod, environment: production, file: b.yaml, key: tag}}
environments:
{environments}
"""


def _load(tmp_path: Path, environments: str) -> config.Config:
    (tmp_path / "promotion.yaml").write_text(CONFIG.format(environments=environments))
    return config.load(tmp_path / "promotion.yaml", tmp_path)


def test_the_policy_keys_are_read(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path,
        "  production:\n    after: [integration]\n    soak: 24h\n"
        "    windows:\n      - deny: '0 16 * * FRI'\n        duration: 64h\n        timezone: Europe/Berlin\n"
        "    verify:\n      - http: https://x.example/version\n        expect: '{short}'\n"
        "      - command: [hack/smoke.sh, '{sha}']\n      - commit_status: [build, e2e]\n",
    )
    prod = cfg.policy("production")
    assert (prod.after, prod.soak) == (("integration",), 86400)
    assert prod.windows[0].cron == "0 16 * * FRI" and prod.windows[0].timezone == "Europe/Berlin"
    assert [v.kind for v in prod.verify] == ["http", "command", "commit_status"]
    assert cfg.policy("integration").after == () and cfg.holds == "promotion-holds.yaml"


@pytest.mark.parametrize(
    ("environments", "message"),
    [
        (
            "  prodution:\n    soak: 1h\n",
            "promotion.yaml:9: environments: no target has environment 'prodution'; did you mean 'production'?",
        ),
        (
            "  production:\n    after: [staging]\n",
            "promotion.yaml:10: environment 'production': after names 'staging', which is no other environment",
        ),
        (
            "  production:\n    soak: 1h\n",
            "promotion.yaml:10: environment 'production': soak counts time in the environments of 'after:'",
        ),
        (
            "  production:\n    after: [integration]\n    soak: 1 day\n",
            "promotion.yaml:11: environment 'production': soak must be a duration",
        ),
        (
            "  production:\n    windows:\n      - deny: '0 16 * FRI'\n        duration: 1h\n",
            "is not a cron expression of 5 fields",
        ),
        ("  production:\n    windows:\n      - deny: '0 16 * * FRI'\n", "missing 'duration'"),
        (
            "  production:\n    windows:\n      - deny: '0 16 * * FRI'\n        duration: 1h\n"
            "        timezone: Mars/Olympus\n",
            "window timezone 'Mars/Olympus' is no IANA time zone",
        ),
        ("  production:\n    verify:\n      - http: https://x/v\n", "verify http needs 'expect'"),
        ("  production:\n    verify:\n      - command: []\n", "verify command must name a program"),
        ("  production:\n    after: [integration]\n  integration:\n    after: [production]\n", "'after' forms a cycle"),
    ],
)
def test_policy_errors_point_at_the_line(tmp_path: Path, environments: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, environments)
    assert message in str(caught.value)
