"""DORA's four measures from `promoter history`, on real config and upstream repositories whose
every date the test sets: each figure is worked out by hand below, in JSON (with the
definitions), in the OpenMetrics text (read back by prometheus_client's own parser), in the text
table, for the fleet (`--all`) and in the HTML report in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, make_repo
from tests.test_history import ADA, BOB, CAROL, DAY, HOUR, Run, T, _browser, _commit, _Dom, _env, _upstream

CONFIG = """version: 1
components:
  app:
    repo: https://github.com/example/app
    fetch: {fetch}
    branch: main
    targets:
      - {{name: prod, environment: production, file: prod.yaml, key: ref, format: sha}}
      - {{name: stage, environment: staging, file: stage.yaml, key: ref, format: sha}}
  tool:
    repo: https://github.com/example/tool
    fetch: {fetch}
    branch: main
    targets:
      - {{name: tool, environment: production, file: tool.env, env: TOOL}}
"""


class Fleet:
    def __init__(self, repo: Path, u: list[str]) -> None:
        self.repo, self.u = repo, u


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """The upstream: u0..u9, 12 h apart from T. The config repository (first commit at T - 1d pins
    u0 everywhere):

    staging     T+2d      u3   ships u1 u2 u3
                T+3d      u5   ships u4 u5
                T+3d2h    u3   a rollback: backs u5's promotion out 2 h after it
                T+4d6h    u6   ships u6 (u4 and u5 it had already)
                T+5d6h    u7   ships u7
                T+5d7h    u6   `git revert` of the u7 promotion, 1 h after it
    production  T+3d12h   u3   on a branch, merged at T+4d: it reached the branch then
    tool        T+2d      u2   (short shas)
    """
    u = _upstream(tmp_path / "upstream")
    for k, v in _env(CAROL, T - DAY).items():
        monkeypatch.setenv(k, v)
    repo = make_repo(
        tmp_path / "config",
        {
            "promotion.yaml": CONFIG.format(fetch=tmp_path / "upstream"),
            "prod.yaml": f"ref: {u[0]}\n",
            "stage.yaml": f"ref: {u[0]}\n",
            "tool.env": f"TOOL={u[0][:7]}\n",
        },
    )
    _commit(repo, ADA, T + 2 * DAY, "promote stage to u3", {"stage.yaml": f"ref: {u[3]}\n"})
    _commit(repo, ADA, T + 2 * DAY + 60, "promote tool to u2", {"tool.env": f"TOOL={u[2][:7]}\n"})
    _commit(repo, ADA, T + 3 * DAY, "promote stage to u5", {"stage.yaml": f"ref: {u[5]}\n"})
    _commit(repo, BOB, T + 3 * DAY + 2 * HOUR, "roll stage back to u3", {"stage.yaml": f"ref: {u[3]}\n"})
    git(repo, "switch", "-q", "-c", "promote-prod")
    _commit(repo, BOB, T + 3 * DAY + 12 * HOUR, "promote prod to u3", {"prod.yaml": f"ref: {u[3]}\n"})
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge promote-prod", "promote-prod", env=_env(CAROL, T + 4 * DAY))
    _commit(repo, ADA, T + 4 * DAY + 6 * HOUR, "promote stage to u6", {"stage.yaml": f"ref: {u[6]}\n"})
    _commit(repo, ADA, T + 5 * DAY + 6 * HOUR, "promote stage to u7", {"stage.yaml": f"ref: {u[7]}\n"})
    git(repo, "revert", "--no-edit", "HEAD", env=_env(BOB, T + 5 * DAY + 7 * HOUR))
    return Fleet(repo, u)


def _doc(run: Run, f: Fleet, *args: str) -> dict[str, Any]:
    code, out, err = run("-C", f.repo, "history", *args, "-o", "json")
    assert (code, err) == (0, ""), err
    doc: dict[str, Any] = json.loads(out)
    return doc


def _by_env(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["environment"]: e for e in doc["dora"]["environments"]}


def test_the_four_measures_of_each_environment(fleet: Fleet, run: Run) -> None:
    doc = _doc(run, fleet, "app")
    assert set(doc["dora"]["definitions"]) == {
        "deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore",
    }  # fmt: skip
    envs = _by_env(doc)
    stage, prod = envs["staging"], envs["production"]
    # the period: the first change (the files created at T-1d) to the last (the revert at T+5d7h)
    assert stage["period"] == {
        "start": "2023-12-31T00:00:00+00:00", "end": "2024-01-06T07:00:00+00:00", "seconds": 151 * HOUR,
    }  # fmt: skip
    # deployment frequency: six deployments (the first pin is none), two of them rollbacks
    assert (stage["deployments"], stage["promotions"], stage["rollbacks"]) == (6, 4, 2)
    assert stage["per_day"] == pytest.approx(6 * 24 / 151) and stage["per_week"] == pytest.approx(7 * 6 * 24 / 151)
    # lead time over every upstream commit shipped, each from its own commit time:
    # u1 36h, u2 24h, u3 12h (T+2d); u4 24h, u5 12h (T+3d); u6 30h (T+4d6h); u7 42h (T+5d6h)
    assert stage["lead_time"] == {"commits": 7, "median_seconds": DAY, "p90_seconds": 42 * HOUR, "unknown": None}
    # change failure rate: u5's promotion rolled back after 2 h, u7's reverted after 1 h
    failure = stage["change_failure"]
    assert (failure["promotions"], failure["failed"], failure["rate"]) == (4, 2, 0.5)
    assert failure["window_seconds"] == 7 * DAY
    commits = {c["commit"]: c for c in doc["changes"]}
    got = [(commits[f["commit"]]["subject"], commits[f["backed_out_by"]]["subject"], f["how"], f["seconds"])
           for f in failure["failures"]]  # fmt: skip
    assert got == [
        ("promote stage to u5", "roll stage back to u3", "rollback", 2 * HOUR),
        ("promote stage to u7", 'Revert "promote stage to u7"', "revert", HOUR),
    ]
    assert stage["time_to_restore"] == {"restores": 2, "median_seconds": 90 * 60}
    # production: promoted on a branch at T+3d12h, merged at T+4d: its commits' lead times run to the merge
    assert (prod["deployments"], prod["promotions"], prod["rollbacks"]) == (1, 1, 0)
    assert prod["lead_time"] == {"commits": 3, "median_seconds": 3 * DAY, "p90_seconds": 84 * HOUR, "unknown": None}
    assert prod["change_failure"]["rate"] == 0.0 and prod["time_to_restore"]["median_seconds"] is None


def test_since_and_until_bound_the_period(fleet: Fleet, run: Run) -> None:
    stage = _by_env(_doc(run, fleet, "app", "--since", "2024-01-03T12:00:00Z"))["staging"]
    # u1..u3 shipped before the period: what counts is u4, u5, u6, u7 (24h, 12h, 30h, 42h)
    assert (stage["deployments"], stage["promotions"]) == (5, 3)
    assert stage["lead_time"]["commits"] == 4 and stage["lead_time"]["median_seconds"] == 27 * HOUR
    assert stage["period"]["start"] == "2024-01-03T12:00:00+00:00"
    # up to T+5d6h30m: the revert has not happened; u7's promotion is no failure (yet)
    stage = _by_env(_doc(run, fleet, "app", "--until", "2024-01-06T06:30:00+00:00"))["staging"]
    assert stage["period"]["end"] == "2024-01-06T06:30:00+00:00"
    assert (stage["deployments"], stage["change_failure"]["failed"]) == (5, 1)
    # a failure window shorter than the rollback's 2 h: only the revert fails a promotion
    stage = _by_env(_doc(run, fleet, "app", "--failure-window", "90m"))["staging"]
    assert [f["how"] for f in stage["change_failure"]["failures"]] == ["revert"]
    for args, said in [
        (("--until", "yesterday"), "--until takes an ISO date"),
        (("--since", "2024-02-01", "--until", "2024-01-01"), "--until 2024-01-01 is before --since 2024-02-01"),
        (("--failure-window", "a week"), "--failure-window: 'a week' is not a duration"),
        (("--all",), "give a COMPONENT or --all, not both"),
    ]:
        code, out, err = run("-C", fleet.repo, "history", "app", *args)
        assert code == 2 and said in err, (args, err)


def test_offline_the_rollbacks_are_judged_by_the_order_versions_ran(fleet: Fleet, run: Run) -> None:
    envs = _by_env(_doc(run, fleet, "app", "--offline"))
    stage = envs["staging"]
    assert stage["lead_time"] == {
        "commits": 0, "median_seconds": None, "p90_seconds": None, "unknown": "upstream not read (offline)",
    }  # fmt: skip
    assert (stage["rollbacks"], stage["change_failure"]["failed"], stage["time_to_restore"]["median_seconds"]) == (
        2, 2, 90 * 60,
    )  # fmt: skip


def _families(text: str) -> dict[str, Any]:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    return {f.name: f for f in text_string_to_metric_families(text)}


def _sample(families: dict[str, Any], name: str, **labels: str) -> float:
    family, _, suffix = name.partition(":")
    for s in families[family].samples:
        if s.name == family + suffix and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    raise AssertionError(f"no sample {name} {labels}")


def test_openmetrics_is_read_by_prometheus_clients_parser(fleet: Fleet, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "promoter.prom"
    code, said, err = run("-C", fleet.repo, "history", "--all", "-o", "openmetrics", "--out", out)
    assert (code, err) == (0, ""), err
    assert said == f"wrote {out}: 3 rows of DORA measures\n"
    text = out.read_text()
    assert text.endswith("# EOF\n")
    families = _families(text)
    assert {name: f.type for name, f in families.items()} == {
        "promoter_dora_deployments": "gauge",
        "promoter_dora_promotions": "gauge",
        "promoter_dora_rollbacks": "gauge",
        "promoter_dora_deployments_per_day": "gauge",
        "promoter_dora_lead_time_seconds": "summary",
        "promoter_dora_change_failure_ratio": "gauge",
        "promoter_dora_failed_promotions": "gauge",
        "promoter_dora_time_to_restore_seconds": "summary",
        "promoter_dora_period_start_seconds": "gauge",
        "promoter_dora_period_end_seconds": "gauge",
    }
    assert families["promoter_dora_lead_time_seconds"].unit == "seconds"
    stage = {"component": "app", "environment": "staging"}
    rows = json.loads(run("-C", fleet.repo, "history", "--all", "-o", "json")[1])["rows"]
    want = next(r for r in rows if r["component"] == "app" and r["environment"] == "staging")
    assert _sample(families, "promoter_dora_deployments", **stage) == want["deployments"] == 6
    assert _sample(families, "promoter_dora_deployments_per_day", **stage) == pytest.approx(want["per_day"])
    assert _sample(families, "promoter_dora_lead_time_seconds", quantile="0.5", **stage) == DAY
    assert _sample(families, "promoter_dora_lead_time_seconds", quantile="0.9", **stage) == 42 * HOUR
    assert _sample(families, "promoter_dora_lead_time_seconds:_count", **stage) == 7
    leads = (36 + 24 + 12 + 24 + 12 + 30 + 42) * HOUR
    assert _sample(families, "promoter_dora_lead_time_seconds:_sum", **stage) == leads
    assert _sample(families, "promoter_dora_change_failure_ratio", **stage) == 0.5
    assert _sample(families, "promoter_dora_time_to_restore_seconds", quantile="0.5", **stage) == 90 * 60
    assert _sample(families, "promoter_dora_period_end_seconds", **stage) == T + 5 * DAY + 7 * HOUR
    # a measure without a value has no sample (never NaN): production had no failure to restore from
    prod = {"component": "app", "environment": "production"}
    quantiles = [s for s in families["promoter_dora_time_to_restore_seconds"].samples
                 if s.labels.get("environment") == "production" and "quantile" in s.labels]  # fmt: skip
    assert quantiles == [] and _sample(families, "promoter_dora_time_to_restore_seconds:_count", **prod) == 0
    # offline, lead times are not known: no lead time sample at all
    code, offline, err = run("-C", fleet.repo, "--offline", "history", "app", "-o", "openmetrics")
    assert code == 0 and families_without(offline, "promoter_dora_lead_time_seconds")


def families_without(text: str, name: str) -> bool:
    return _families(text)[name].samples == []


def test_a_label_value_with_quotes_and_backslashes_is_escaped(fleet: Fleet, run: Run) -> None:
    config = fleet.repo / "promotion.yaml"
    config.write_text(config.read_text().replace("environment: staging", 'environment: "st\\\\a\\"ge"'))
    git(fleet.repo, "commit", "-qam", "an environment name with a quote and a backslash")
    code, text, err = run("-C", fleet.repo, "--offline", "history", "app", "-o", "openmetrics")
    assert code == 0, err
    envs = {s.labels["environment"] for f in _families(text).values() for s in f.samples}
    assert envs == {"production", 'st\\a"ge'}


def test_the_fleet_one_row_per_component_and_environment(fleet: Fleet, run: Run) -> None:
    code, out, err = run("-C", fleet.repo, "history", "-o", "json")  # no COMPONENT: the fleet, as --all
    assert (code, err) == (0, ""), err
    doc = json.loads(out)
    assert (doc["schema_version"], doc["kind"], doc["errors"]) == (1, "dora", [])
    assert [(r["component"], r["environment"], r["deployments"]) for r in doc["rows"]] == [
        ("app", "production", 1),
        ("app", "staging", 6),
        ("tool", "production", 1),
    ]
    assert set(doc["definitions"]) == set(_doc(run, fleet, "app")["dora"]["definitions"])
    code, out, err = run("-C", fleet.repo, "history", "--all", "--env", "staging")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "DORA, 1 component:"
    assert lines[1].split() == ["COMPONENT", "ENVIRONMENT", "DEPLOYS", "PER", "WEEK", "LEAD", "P50", "LEAD", "P90",
                                "FAILED", "RESTORE"]  # fmt: skip
    assert lines[2].split() == ["app", "staging", "6", "6.68", "1d", "1d18h", "50%", "(2/4)", "1h30m"]
    assert lines[-1] == "period 2023-12-31 00:00 UTC to 2024-01-06 07:00 UTC; failure window 7d"
    code, out, err = run("-C", fleet.repo, "history", "--all", "--env", "prod")
    assert code == 2 and "unknown environment 'prod' (did you mean 'production'?)" in err


def test_the_component_table_ends_with_its_measures(fleet: Fleet, run: Run) -> None:
    code, out, err = run("-C", fleet.repo, "history", "app")
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index("DORA:")
    assert lines[at + 1].split()[:2] == ["ENVIRONMENT", "DEPLOYS"]
    assert [line.split()[0] for line in lines[at + 2 : at + 4]] == ["production", "staging"]


def test_dora_in_the_html_report_in_chromium(fleet: Fleet, run: Run, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    code, _, err = run("-C", fleet.repo, "history", "app", "-o", "html", "--out", page)
    assert code == 0, err
    dom = _Dom()
    dom.feed(_browser(tmp_path, "--dump-dom", page.as_uri()))
    cells = {
        (row[1]["data-environment"], td[1]["data-measure"]): "".join(td[2]).strip()
        for row in dom.find("tr")
        if "data-environment" in row[1]
        for td in dom.elements[dom.elements.index(row) + 1 : dom.elements.index(row) + 9]
        if td[0] == "td" and "data-measure" in td[1]
    }
    assert cells[("staging", "lead-p50")] == "1d" and cells[("staging", "lead-p90")] == "1d18h"
    assert cells[("staging", "failure-rate")] == "50% (2/4)" and cells[("staging", "restore-p50")] == "1h30m"
    assert cells[("production", "restore-p50")] == "no failed promotion"  # says why, never a dash
    assert "How these are measured" in "".join(t for e in dom.find("summary") for t in e[2])
    fleet_page = tmp_path / "fleet.html"
    code, _, err = run("-C", fleet.repo, "history", "--all", "-o", "html", "--out", fleet_page)
    assert code == 0, err
    dom = _Dom()
    dom.feed(_browser(tmp_path, "--dump-dom", fleet_page.as_uri() + "#q=tool"))  # the filter, from the URL
    shown = [(r[1]["data-component"], r[1]["data-environment"], "hidden" in r[1]) for r in dom.find("tr", "row")]
    assert shown == [("app", "production", True), ("app", "staging", True), ("tool", "production", False)]


def test_a_history_without_change_measures_nothing(tmp_path: Path, run: Run) -> None:
    repo = make_repo(tmp_path / "c", {"promotion.yaml": CONFIG.format(fetch=tmp_path / "nowhere")})
    code, out, err = run("-C", repo, "--offline", "history", "--all", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["rows"] == []
    code, out, err = run("-C", repo, "--offline", "history", "--all")
    assert (code, out) == (0, "DORA: no change measured\n")
