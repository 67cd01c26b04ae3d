"""The history report as people read it: every chart on one period, the newest commit of the
branch drawn where it is, no sha on an axis however many versions, a legend, figures that say why
they have no value, the changes newest first in UTC, linked and filterable, and a page that fits a
phone. Checked on the page's DOM, in headless Chromium where it takes a browser."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git
from tests.test_history import (
    BOB,
    DAY,
    Run,
    Scenario,
    T,
    _browser,
    _commit,
    _Dom,
    _fast_import_stream,
)
from tests.test_history import scenario as _scenario

SHA_LIKE = re.compile(r"\b[0-9a-f]{7,40}\b")


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """tests/test_history.py's: an upstream u0..u9 and a config repository promoting it."""
    made: Scenario = _scenario.__wrapped__(tmp_path, monkeypatch)  # type: ignore[attr-defined]
    return made


def _page(run: Run, repo: Path, out: Path, *args: str) -> _Dom:
    code, said, err = run("-C", repo, "history", "app", *args, "-o", "html", "--out", out)
    assert code == 0, err
    dom = _Dom()
    dom.feed(out.read_text())
    return dom


def _points(attr: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in attr.split())]


def test_the_newest_commit_of_the_branch_is_drawn_above_what_runs(scenario: Scenario, run: Run, tmp_path: Path) -> None:
    """Staging ran up to u8 while the branch had u9: the dashed line ends above the newest version
    (it was squeezed onto it when the axis ended at the newest version run)."""
    dom = _page(run, scenario.repo, tmp_path / "stage.html", "--env", "staging")
    head = dom.find("polyline", "head")
    assert len(head) == 1
    points = _points(head[0][1]["points"])
    lines = dom.find("line", "version")
    newest = min(float(a["y1"]) for _, a, _ in lines)  # the highest version line
    assert points[-1][1] < newest - 5
    assert points[0][1] > points[-1][1]  # it rises with the branch
    legend = "".join(t for e in dom.find("ul", "legend") for t in e[2])
    assert "the newest commit of main at the time" in legend and "a rollback" in legend


def test_many_versions_offline_show_no_sha_on_the_axis_one_colour_and_a_legend(tmp_path: Path, run: Run) -> None:
    repo = tmp_path / "big"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    stream, promotions = _fast_import_stream(1200, 10)
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=repo, input=stream, check=True)
    git(repo, "reset", "-q", "--hard", "main")
    dom = _page(run, repo, tmp_path / "big.html", "--env", "production", "--offline")
    chart = dom.find("svg", "timeline")[0]
    start = dom.elements.index(chart)
    texts = ["".join(e[2]).strip() for e in dom.elements[start:] if e[0] == "text"]
    axis = [t for t in texts if t.startswith("#")]
    assert axis and all(re.fullmatch(r"#\d+", t) for t in axis), axis  # numbered in the order they ran
    assert not [t for t in texts if SHA_LIKE.search(t)], "a sha on the chart"
    strokes = {a["stroke"] for _, a, _ in dom.find("line", "version")}
    assert len(dom.find("line", "version")) == promotions + 1 and len(strokes) == 1
    legend = "".join(t for e in dom.find("ul", "legend") for t in e[2])
    assert "in the environment's colour" in legend and "a rollback" in legend
    assert "newest commit" not in legend  # offline: no branch to draw


def test_figures_without_a_value_say_why(scenario: Scenario, run: Run, tmp_path: Path) -> None:
    dom = _page(run, scenario.repo, tmp_path / "one.html", "--env", "production", "--offline")
    figures = {a["data-figure"]: ("".join(t), a.get("class", "")) for _, a, t in dom.find("li") if "data-figure" in a}
    assert figures["lag"] == ("one environment: no lagmedian lag, first to last environment", "none")
    assert figures["lead"] == ("needs the upstream (offline)median lead time", "none")
    assert figures["rollbacks"][1] == "none" and "needs the upstream" in figures["rollbacks"][0]
    assert not [f for f, _ in figures.values() if f.startswith("-")]


def test_every_time_axis_covers_the_same_period_in_chromium(scenario: Scenario, run: Run, tmp_path: Path) -> None:
    s = scenario
    report = tmp_path / "r.html"
    code, _, err = run("-C", s.repo, "history", "app", "-o", "html", "--out", report)
    assert code == 0, err
    dom = _Dom()
    dom.feed(_browser(tmp_path, "--dump-dom", report.as_uri()))
    timed = [a for tag, a, _ in dom.elements if tag == "svg" and "data-from" in a]
    kinds = sorted({a["class"].split()[1] for a in timed})
    assert kinds == ["behind", "lagtrend", "timeline"]
    # the history's first change (the files created at T-1d) to its last (p4 at T+10d), for every one:
    # not to the upstream's newest commit, not to today
    assert {(a["data-from"], a["data-to"]) for a in timed} == {
        ("2023-12-31T00:00:00+00:00", "2024-01-11T00:00:00+00:00")
    }
    ticks = [t for e in dom.find("svg", "lag") for t in e[2] if t.startswith("+")]
    assert ticks[0] == "+0"  # the lag of each version: time after the first environment got it, no dates
    code, _, err = run("-C", s.repo, "history", "app", "--since", "2024-01-03", "--until", "2024-01-08", "-o",
                       "html", "--out", report)  # fmt: skip
    assert code == 0, err
    dom = _Dom()
    dom.feed(report.read_text())
    timed = [a for tag, a, _ in dom.elements if tag == "svg" and "data-from" in a]
    assert {(a["data-from"], a["data-to"]) for a in timed} == {
        ("2024-01-03T00:00:00+00:00", "2024-01-08T00:00:00+00:00")
    }
    rows = [a["data-commit"] for _, a, _ in dom.find("tr", "change")]
    assert rows == [s.c["p3"], s.c["p2"], s.c["p1"]]  # in the period, newest first


def test_the_changes_newest_first_in_utc_linked_and_filtered_in_chromium(
    scenario: Scenario, run: Run, tmp_path: Path
) -> None:
    s = scenario
    _commit(s.repo, BOB, T + 12 * DAY, "promote prod again", {"deploy/prod.yaml": f"name: app\nref: {s.u[8]}\n"})
    git(s.repo, "commit", "-q", "--amend", "--no-edit", env={"GIT_COMMITTER_DATE": "2024-01-13T00:30:00+02:00"})
    late = git(s.repo, "rev-parse", "HEAD")
    git(s.repo, "remote", "add", "origin", "https://github.com/example/config.git")
    report = tmp_path / "r.html"
    code, _, err = run("-C", s.repo, "history", "app", "-o", "html", "--out", report)
    assert code == 0, err
    dom = _Dom()
    dom.feed(_browser(tmp_path, "--dump-dom", report.as_uri() + "#q=bob"))
    rows = dom.find("tr", "change")
    assert rows[0][1]["data-commit"] == late
    first = dom.elements.index(rows[0])
    cells = [e for e in dom.elements[first:] if e[0] == "td"][:10]
    assert "".join(cells[0][2]) == "2024-01-12 22:30"  # 00:30 at +02:00, in UTC, on one line
    assert cells[0][1]["class"] == "date"
    links = {a["href"] for _, a, _ in dom.find("a")}
    assert f"https://github.com/example/config/commit/{late}" in links  # the config repository's commit
    assert f"https://github.com/example/app/compare/{s.u[9]}...{s.u[8]}" not in links  # not a rollback's range
    assert f"https://github.com/example/app/compare/{s.u[8]}...{s.u[9]}" in links  # what it took away
    # #q=bob filled the filter: only Bob's changes are shown, and the count says so
    hidden = {a["data-commit"]: "hidden" in a for _, a, _ in rows}
    bobs = {a["data-commit"] for _, a, t in rows if "Bob" in "".join(t)}
    assert bobs == {late, s.c["p2"]}
    assert {c for c, h in hidden.items() if not h} == bobs
    assert "".join(dom.find("span")[[a.get("id") for _, a, _ in dom.find("span")].index("shown")][2]) == "2"


def test_the_page_fits_a_phone_and_a_desktop_in_chromium(scenario: Scenario, run: Run, tmp_path: Path) -> None:
    """At 390 px the page itself never scrolls sideways (charts and tables scroll in their own
    boxes); screenshots at 1400 and 390 px draw the page."""
    report = tmp_path / "r.html"
    code, _, err = run("-C", scenario.repo, "history", "app", "-o", "html", "--out", report)
    assert code == 0, err
    frame = tmp_path / "phone.html"
    frame.write_text(
        '<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="r.html" width="390" height="800" '
        'style="border:0"></iframe><script>document.getElementById("f").addEventListener("load", function () {'
        "var d = this.contentDocument.documentElement; document.body.setAttribute('data-scroll', d.scrollWidth);"
        "document.body.setAttribute('data-client', d.clientWidth); });</script></body></html>"
    )
    out = _browser(tmp_path, "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
                   frame.as_uri())  # fmt: skip
    body = re.search(r'<body[^>]*data-scroll="(\d+)" data-client="(\d+)"', out)
    assert body is not None, out[:500]
    assert int(body.group(1)) <= int(body.group(2)), "the page scrolls sideways on a phone"
    for width in (1400, 390):
        shot = tmp_path / f"r{width}.png"
        _browser(tmp_path, f"--screenshot={shot}", f"--window-size={width},1800", "--hide-scrollbars", report.as_uri())
        assert shot.stat().st_size > 10_000


def test_a_period_of_one_instant_has_no_frequency(tmp_path: Path, run: Run) -> None:
    """Guard: a history of one change (the file created) measures no frequency, and says why."""
    from tests.conftest import make_repo
    from tests.test_history import CONFIG

    repo = make_repo(tmp_path / "c", {"promotion.yaml": CONFIG.format(fetch="/nowhere"), "deploy/prod.yaml": "ref: "
                                      + "a" * 40 + "\n"})  # fmt: skip
    dom = _page(run, repo, tmp_path / "p.html", "--env", "production", "--offline")
    cells = {a["data-measure"]: "".join(t) for _, a, t in dom.find("td") if "data-measure" in a}
    assert cells["deployments"] == "0" and cells["per-week"] == "the period is one instant"
    assert cells["lead-p50"] == "upstream not read (offline)"
