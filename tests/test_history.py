"""`promoter history`: every change of a component's pins in the config repo's git history,
against real config and upstream repositories; the HTML report checked in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from promoter.insight.history import parse_since
from promoter.pipeline.workspace import glob_regex
from promoter.render.history import duration
from tests.conftest import git, make_repo

RunResult = tuple[int, str, str]
Run = Callable[..., RunResult]

T = 1704067200  # 2024-01-01 00:00:00 UTC, a Monday (ISO week 2024-W01)
HOUR, DAY = 3600, 86400
ADA, BOB, CAROL, DAVE = (
    ("Ada", "ada@example.com"),
    ("Bob", "bob@example.com"),
    ("Carol", "c@x.org"),
    ("Dave", "d@x.org"),
)


def _env(who: tuple[str, str], when: int) -> dict[str, str]:
    date = f"@{when} +0000"
    return {
        "GIT_AUTHOR_NAME": who[0],
        "GIT_AUTHOR_EMAIL": who[1],
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": who[0],
        "GIT_COMMITTER_EMAIL": who[1],
        "GIT_COMMITTER_DATE": date,
    }


def _commit(repo: Path, who: tuple[str, str], when: int, message: str, files: dict[str, str | None]) -> str:
    for rel, content in files.items():
        path = repo / rel
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, env=_env(who, when))
    return git(repo, "rev-parse", "HEAD")


def _upstream(path: Path) -> list[str]:
    """Ten commits on main, u0..u9, landed 12 hours apart from T."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    shas = []
    for i in range(10):
        (path / "f").write_text(f"{i}\n")
        git(path, "add", "f")
        git(path, "commit", "-q", "-m", f"u{i}", env=_env(ADA, T + i * 12 * HOUR))
        shas.append(git(path, "rev-parse", "HEAD"))
    return shas


CONFIG = """version: 1
components:
  app:
    repo: https://github.com/example/app
    fetch: {fetch}
    branch: main
    targets:
      - {{name: prod, environment: production, file: deploy/prod.yaml, key: ref, format: sha}}
      - {{name: stage, environment: staging, files: "stage/**/*.yaml", key: ref, format: sha}}
      - {{name: ci, environment: pipelines, file: .env, env: APP_REF}}
"""


class Scenario:
    def __init__(self, repo: Path, u: list[str], commits: dict[str, str]) -> None:
        self.repo, self.u, self.c = repo, u, commits


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    u = _upstream(tmp_path / "upstream")
    for k, v in _env(CAROL, T - DAY).items():
        monkeypatch.setenv(k, v)
    repo = make_repo(
        tmp_path / "config",
        {
            "promotion.yaml": CONFIG.format(fetch=tmp_path / "upstream"),
            "deploy/prod.yaml": f"name: app\nref: {u[0]}\n",
            "stage/a.yaml": f"ref: {u[0]}\n",
            ".env": f"APP_REF={u[0][:7]}\n",
        },
    )
    c = {}
    c["p1"] = _commit(repo, ADA, T + 2 * DAY, "promote app staging", {"stage/a.yaml": f"ref: {u[3]}\n"})
    c["readme"] = _commit(repo, BOB, T + 2 * DAY + HOUR, "docs", {"README.md": "hello\n"})
    c["p2"] = _commit(
        repo,
        BOB,
        T + 3 * DAY,
        "promote app production & <ci>",
        {"deploy/prod.yaml": f"name: app\nref: {u[3]}\n", ".env": f"APP_REF={u[3][:7]}\n"},
    )
    c["touch"] = _commit(
        repo, CAROL, T + 3 * DAY + 2 * HOUR, "comment", {"deploy/prod.yaml": f"# prod\nname: app\nref: {u[3]}\n"}
    )
    c["move"] = _commit(repo, CAROL, T + 4 * DAY, "move", {"stage/a.yaml": None, "stage/eu/a.yaml": f"ref: {u[3]}\n"})
    c["p3"] = _commit(repo, DAVE, T + 5 * DAY, "promote app staging again", {"stage/eu/a.yaml": f"ref: {u[8]}\n"})
    c["broken"] = _commit(repo, DAVE, T + 5 * DAY + HOUR, "oops", {"deploy/prod.yaml": "ref: [unclosed\n"})
    c["p4"] = _commit(repo, ADA, T + 10 * DAY, "fix and promote", {"deploy/prod.yaml": f"name: app\nref: {u[9]}\n"})
    return Scenario(repo, u, c)


def _values(versions: list[dict[str, str | None]]) -> list[str | None]:
    """The values of versions as JSON gives them ({"value", "sha"})."""
    return [v["value"] for v in versions]


def _history(run: Run, s: Scenario, *args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run("-C", s.repo, "history", "app", "-o", "json", *args)
    assert (code, err) == (0, ""), err
    return json.loads(out)  # type: ignore[no-any-return]


def _summary(doc: dict) -> list[tuple[str, str, str, list[str], list[str], list[str]]]:  # type: ignore[type-arg]
    return [
        (ch["commit"], ch["date"], ch["author"]["name"], ch["environments"], _values(ch["old"]), _values(ch["new"]))
        for ch in doc["changes"]
    ]


def test_every_change_with_its_commit_author_and_values(scenario: Scenario, run: Run) -> None:
    s, u, c = scenario, scenario.u, scenario.c
    doc = _history(run, s, "--offline")
    init = git(s.repo, "rev-list", "--max-parents=0", "HEAD")
    assert _summary(doc) == [
        # the files were created: from no value (the short sha counts once beside its full sha)
        (init, "2023-12-31T00:00:00+00:00", "Test Author", ["production", "staging", "pipelines"], [], [u[0]]),
        (c["p1"], "2024-01-03T00:00:00+00:00", "Ada", ["staging"], [u[0]], [u[3]]),
        (c["p2"], "2024-01-04T00:00:00+00:00", "Bob", ["production", "pipelines"], [u[0]], [u[3]]),  # one row
        (c["p3"], "2024-01-06T00:00:00+00:00", "Dave", ["staging"], [u[3]], [u[8]]),
        # the broken version keeps the values before it: the fix compares with the last version that could be read
        (c["p4"], "2024-01-11T00:00:00+00:00", "Ada", ["production"], [u[3]], [u[9]]),
    ]
    assert [(t["target"], _values(t["old"]), _values(t["new"])) for t in doc["changes"][2]["targets"]] == [
        ("prod", [u[0]], [u[3]]),
        ("ci", [u[0][:7]], [u[3][:7]]),
    ]
    first = doc["changes"][1]
    assert first["author"] == {"name": "Ada", "email": "ada@example.com"}
    assert first["subject"] == "promote app staging"
    assert [t["target"] for t in first["targets"]] == ["stage"] and first["files"] == ["stage/a.yaml"]
    assert doc["changes"][3]["files"] == ["stage/eu/a.yaml"]  # found where the glob moved it
    assert doc["changes"][3]["lead_time_seconds"] is None  # offline: no upstream facts
    assert doc["changes"][3]["rollback"] is None  # offline: ancestry unknown
    assert doc["upstream"] == {"branch": None, "error": None}
    assert doc["environments"] == ["production", "staging", "pipelines"]
    assert doc["weeks"] == {
        "2023-W52": {"promotions": 1, "rollbacks": 0},
        "2024-W01": {"promotions": 3, "rollbacks": 0},
        "2024-W02": {"promotions": 1, "rollbacks": 0},
    }
    assert doc["notes"] == [
        {
            "commit": c["broken"],
            "date": "2024-01-06T01:00:00+00:00",
            "target": "prod",
            "reason": "invalid YAML in deploy/prod.yaml",
            "detail": "deploy/prod.yaml:2: invalid YAML: did not find expected ',' or ']'",
        }
    ]


def test_lead_times_and_commits_behind_from_the_upstream(scenario: Scenario, run: Run) -> None:
    s, u = scenario, scenario.u
    doc = _history(run, s)
    assert doc["upstream"] == {"branch": "main", "error": None}
    got = [(ch["promoted"], ch["lead_time_seconds"], ch["behind"]) for ch in doc["changes"]]
    assert got == [
        (u[0], -DAY, 0),  # pinned (in the test's made-up dates) a day before it landed
        (u[3], 12 * HOUR, 1),  # at day 2, u4 had landed
        (u[3], 36 * HOUR, 3),  # at day 3: u4, u5, u6 (the short value in .env names the same commit)
        (u[8], DAY, 1),  # at day 5: u9
        (u[9], 5 * DAY + 12 * HOUR, 0),
    ]
    assert [t["promoted"] for t in doc["changes"][2]["targets"]] == [u[3], u[3]]
    assert [ch["rollback"] for ch in doc["changes"]] == [False] * 5
    assert doc["changes"][1]["upstream_date"] == "2024-01-02T12:00:00+00:00"
    code, out, err = run("-C", s.repo, "history", "app")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "app: 5 changes; upstream branch main"
    assert lines[1].split() == ["DATE", "COMMIT", "AUTHOR", "ENVIRONMENTS", "CHANGE", "LEAD", "BEHIND", "SUBJECT"]
    assert lines[3].split() == [
        "2024-01-03", "00:00", "UTC", s.c["p1"][:7], "Ada", "staging",
        u[0][:7], "->", u[3][:7], "12h", "1", "promote", "app", "staging",
    ]  # fmt: skip
    weeks = lines.index("promotions per week:")
    assert lines[weeks : weeks + 5] == [
        "promotions per week:",
        "  2023-W52  1",
        "  2024-W01  3",
        "  2024-W02  1",
        f"note: target 'prod': {s.c['broken'][:12]} (2024-01-06): "
        "deploy/prod.yaml:2: invalid YAML: did not find expected ',' or ']'",
    ]


def test_env_and_since_filters(scenario: Scenario, run: Run) -> None:
    s, c = scenario, scenario.c
    doc = _history(run, s, "--offline", "--env", "staging")
    assert [(ch["commit"], ch["environments"]) for ch in doc["changes"]][1:] == [
        (c["p1"], ["staging"]),
        (c["p3"], ["staging"]),
    ]
    assert doc["environments"] == ["staging"] and doc["notes"] == []  # prod's broken version is not read
    doc = _history(run, s, "--offline", "--env", "production", "--env", "pipelines", "--since", "2024-01-04")
    assert [(ch["commit"], ch["environments"]) for ch in doc["changes"]] == [
        (c["p2"], ["production", "pipelines"]),
        (c["p4"], ["production"]),
    ]
    doc = _history(run, s, "--offline", "--since", "2024-01-05T12:00:00+02:00")
    assert [ch["commit"] for ch in doc["changes"]] == [c["p3"], c["p4"]]
    assert doc["weeks"] == {
        "2024-W01": {"promotions": 1, "rollbacks": 0},
        "2024-W02": {"promotions": 1, "rollbacks": 0},
    }


def test_usage_errors(scenario: Scenario, run: Run) -> None:
    s = scenario
    for args, message in [
        (("--env", "nope"), "unknown environment 'nope'"),
        (("--since", "last week"), "--since takes an ISO date"),
        (("-o", "yaml"), "argument -o/--output: invalid choice: 'yaml'"),
        (("-o", "html", "a.html", "--out", "b.html"), "give the file once: --out b.html (not also a.html)"),
    ]:
        code, out, err = run("-C", s.repo, "history", "app", "--offline", *args)
        assert code == 2 and message in err, (args, err)


def test_a_repo_without_changes(tmp_path: Path, run: Run) -> None:
    repo = make_repo(
        tmp_path / "config",
        {"promotion.yaml": CONFIG.format(fetch=tmp_path / "nowhere"), "deploy/prod.yaml": "ref: " + "a" * 40 + "\n"},
    )
    code, out, err = run("-C", repo, "history", "app", "--env", "production", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert [(_values(ch["old"]), _values(ch["new"])) for ch in doc["changes"]] == [
        ([], ["a" * 40])
    ]  # the file was created
    assert doc["upstream"]["branch"] is None and doc["upstream"]["error"]  # said, not fatal


def test_a_merge_is_not_a_second_change(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """A promotion made on a branch is credited to its commit; the merge that brings it (and also
    merges other edits of the file) is no change of its own."""
    for k, v in _env(CAROL, T).items():
        monkeypatch.setenv(k, v)
    old, new = "a" * 40, "b" * 40
    middle = "".join(f"k{i}: v\n" for i in range(6))
    repo = make_repo(
        tmp_path / "config",
        {"promotion.yaml": CONFIG.format(fetch="/nowhere"), "deploy/prod.yaml": f"name: app\n{middle}ref: {old}\n"},
    )
    git(repo, "switch", "-q", "-c", "promote")
    promoted = _commit(repo, BOB, T + DAY, "promote", {"deploy/prod.yaml": f"name: app\n{middle}ref: {new}\n"})
    git(repo, "switch", "-q", "main")
    _commit(repo, CAROL, T + DAY + HOUR, "rename", {"deploy/prod.yaml": f"name: app2\n{middle}ref: {old}\n"})
    git(repo, "merge", "-q", "--no-ff", "-m", "merge promote", "promote", env=_env(DAVE, T + 2 * DAY))
    assert (repo / "deploy/prod.yaml").read_text() == f"name: app2\n{middle}ref: {new}\n"
    doc = json.loads(run("-C", repo, "history", "app", "--env", "production", "--offline", "-o", "json")[1])
    assert [(ch["commit"], ch["author"]["name"], _values(ch["old"]), _values(ch["new"])) for ch in doc["changes"]][
        1:
    ] == [(promoted, "Bob", [old], [new])]


def test_glob_regex_reads_globs_like_pythons_glob() -> None:
    rx = glob_regex("stage/**/*.yaml")
    assert [p for p in ("stage/a.yaml", "stage/eu/a.yaml", "stage/a/b/c.yaml", "stage.yaml", "x/stage/a.yaml")
            if rx.fullmatch(p)] == ["stage/a.yaml", "stage/eu/a.yaml", "stage/a/b/c.yaml"]  # fmt: skip
    assert glob_regex("d/*.y?ml").fullmatch("d/a.yaml") and not glob_regex("d/*.yaml").fullmatch("d/e/a.yaml")
    assert glob_regex("d/[ab].env").fullmatch("d/b.env") and not glob_regex("d/[!ab].env").fullmatch("d/a.env")
    assert parse_since("2024-01-05").isoformat() == "2024-01-05T00:00:00+00:00"
    assert [duration(x) for x in (None, -5, 40, 720, 3 * HOUR + 300, 2 * DAY + 3 * HOUR)] == [
        "-", "-", "40s", "12m", "3h5m", "2d3h",
    ]  # fmt: skip


# -- the HTML report, in a real browser ----------------------------------------------------------
def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
    if found is None:
        pytest.fail("chromium is missing: the HTML report is checked in headless Chromium; install it with "
                    "'apt-get update && apt-get install -y chromium' (CI's .ci/run does)")  # fmt: skip
    return found


def _browser(tmp_path: Path, *args: str) -> str:
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", *args,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


class _Dom(HTMLParser):
    """The elements of the rendered DOM: (tag, attributes, text of the element's first data)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self.stack: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        self.stack.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.elements[self.stack.pop()][0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for i in self.stack:
            self.elements[i][2].append(data)

    def find(self, tag: str, cls: str | None = None) -> list[tuple[str, dict[str, str], list[str]]]:
        return [e for e in self.elements if e[0] == tag and (cls is None or cls in e[1].get("class", "").split())]


def _png_pixels_vary(png: bytes) -> bool:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat, width = 8, b"", 0
    while i < len(png):
        size, kind = struct.unpack(">I4s", png[i : i + 8])
        if kind == b"IHDR":
            width = struct.unpack(">I", png[i + 8 : i + 12])[0]
        if kind == b"IDAT":
            idat += png[i + 8 : i + 8 + size]
        i += 12 + size
    raw = zlib.decompress(idat)
    assert width > 0 and len(raw) > width
    return len(set(raw[: 400 * (width * 4 + 1)])) > 8  # many different bytes in the top rows


def test_html_report_renders_in_chromium(scenario: Scenario, run: Run, tmp_path: Path) -> None:
    s, c, u = scenario, scenario.c, scenario.u
    back = _commit(s.repo, BOB, T + 11 * DAY, "roll prod back to u7", {"deploy/prod.yaml": f"name: app\nref: {u[7]}\n"})
    init = git(s.repo, "rev-list", "--max-parents=0", "HEAD")
    report = tmp_path / "report.html"
    code, out, err = run("-C", s.repo, "history", "app", "-o", "html", "--out", report)
    assert (code, err) == (0, ""), err
    assert out == f"wrote {report}: 6 changes of app\n"
    page = report.read_text()
    legacy = tmp_path / "legacy.html"  # the old form still works, with a note
    code, out, err = run("-C", s.repo, "history", "app", "-o", "html", legacy)
    assert code == 0 and legacy.read_text() == page
    assert err == f"promoter: note: '-o html FILE' is deprecated; write '-o html --out {legacy}'\n"
    assert not list(tmp_path.glob(".*.promoter-tmp"))
    # self-contained: it loads nothing (a CSP says so to the browser too); one inline script, the
    # table's filter; its only URLs are links to the upstream's pages
    for loads in ("src=", "<link", "url(", "@import", "<iframe", "<object"):
        assert loads not in page, loads
    assert page.count("<script>") == page.count("<script") == 1
    assert "Content-Security-Policy\" content=\"default-src 'none';" in page
    assert page.count("://") == page.count('href="https://github.com/example/app')
    assert "production &amp; &lt;ci&gt;" in page  # the subject, escaped

    dom = _Dom()
    dom.feed(_browser(tmp_path, "--dump-dom", report.as_uri()))
    charts = dom.find("svg", "timeline")
    assert [ch[1]["data-environment"] for ch in charts] == ["production", "staging", "pipelines"]
    per_env: dict[str, list[tuple[str, str, bool]]] = {}
    env = ""
    for tag, attrs, _ in dom.elements:
        if tag == "svg" and "timeline" in attrs.get("class", ""):
            env = attrs["data-environment"]
            per_env[env] = []
        elif tag == "circle" and "promotion" in attrs.get("class", "").split():
            per_env[env].append((attrs["data-commit"], attrs["data-behind"], "rollback" in attrs["class"]))
    assert per_env == {
        "production": [(init, "0", False), (c["p2"], "3", False), (c["p4"], "0", False), (back, "2", True)],
        "staging": [(init, "0", False), (c["p1"], "1", False), (c["p3"], "1", False)],
        "pipelines": [(init, "0", False), (c["p2"], "3", False)],
    }
    # each version a line of its own colour: production ran u0, u3, u9, then u7 again
    lines = [e[1] for e in dom.elements if e[0] == "line" and "version" in e[1].get("class", "").split()]
    assert [a["data-version"] for a in lines][:4] == [u[0], u[3], u[9], u[7]]
    assert len({a["stroke"] for a in lines[:4]}) == 4
    assert len(dom.find("path", "rollback-mark")) == 1
    # commits behind over time, sampled between the changes: production lacked u1..u5 just before p2
    # (day 3), then u4..u9 just before p4 (day 10); staging u4..u9 before p3; pipelines u4..u9 to the end
    behind = {e[1]["data-environment"]: e[1]["data-peak"] for e in dom.find("svg", "behind")}
    assert behind == {"production": "6", "staging": "6", "pipelines": "6"}
    figures = {e[1]["data-figure"]: "".join(e[2]).strip() for e in dom.find("li") if "data-figure" in e[1]}
    # lead times (not the rollback's, not the initial pin dated before its commit): 12h, 1d, 1d12h, 5d12h
    assert figures == {
        "changes": "6changes",
        "rollbacks": "1rollback",
        "lead": "1d6hmedian lead time",
        "lag": "12hmedian lag, first to last environment",  # u0 at once, u3 a day from staging to the others
        "quiet-weeks": "0 of 3weeks without a change",
    }
    assert dom.find("svg", "leadtime")[0][1]["data-median"] == str(30 * HOUR)
    assert [(e[1]["data-version"], e[1]["data-seconds"]) for e in dom.find("text", "lag")] == [
        (u[0], "0"),
        (u[3], str(DAY)),
    ]
    weeks = [(g[1]["data-week"], g[1]["data-promotions"], g[1]["data-rollbacks"]) for g in dom.find("g", "week")]
    assert weeks == [("2023-W52", "1", "0"), ("2024-W01", "3", "0"), ("2024-W02", "1", "1")]
    rows = dom.find("tr", "change")  # newest first
    assert [r[1]["data-commit"] for r in rows] == [back, c["p4"], c["p3"], c["p2"], c["p1"], init]
    assert "rollback" in rows[0][1]["class"].split()
    assert "".join(rows[3][2]).count("promote app production & <ci>") == 1  # shown as text, not markup
    assert "".join(dom.find("h1")[0][2]) == "History of app"
    hrefs = [e[1]["href"] for e in dom.find("a")]
    web = "https://github.com/example/app"
    assert f"{web}/compare/{u[0]}...{u[3]}" in hrefs and f"{web}/commit/{u[9]}" in hrefs
    assert f"{web}/compare/{u[7]}...{u[9]}" in hrefs  # the rollback's page: what it took away

    shot = tmp_path / "report.png"
    _browser(tmp_path, f"--screenshot={shot}", "--window-size=1100,1600", "--hide-scrollbars", report.as_uri())
    assert shot.stat().st_size > 10_000
    assert _png_pixels_vary(shot.read_bytes())


def test_html_report_of_an_offline_history_in_chromium(scenario: Scenario, run: Run, tmp_path: Path) -> None:
    """Offline: versions placed in the order they appeared, no figure that needs the upstream, said so."""
    s, u = scenario, scenario.u
    report = tmp_path / "offline.html"
    code, out, err = run("-C", s.repo, "--offline", "history", "app", "-o", "html", "--out", report)
    assert (code, err) == (0, ""), err
    dom = _Dom()
    dom.feed(_browser(tmp_path, "--dump-dom", report.as_uri()))
    assert [e[1]["data-environment"] for e in dom.find("svg", "timeline")] == ["production", "staging", "pipelines"]
    assert dom.find("svg", "behind") == []  # no figure without the upstream, said once
    text = "".join(t for e in dom.find("body") for t in e[2])
    assert "each environment was needs the upstream (run without --offline)" in text and "No lead time known" in text
    lines = [e[1] for e in dom.find("line", "version")]
    assert [a["data-version"] for a in lines][:3] == [u[0], u[3], u[9]]  # the short one stands for its sha
    shot = tmp_path / "offline.png"
    _browser(tmp_path, f"--screenshot={shot}", "--window-size=1100,1600", "--hide-scrollbars", report.as_uri())
    assert _png_pixels_vary(shot.read_bytes())


# -- a long generated history ----------------------------------------------------------------------
def _fast_import_stream(commits: int, every: int) -> tuple[bytes, int]:
    """A config repo history of `commits` commits; every `every`-th (from the 5th) promotes."""
    out: list[bytes] = []
    promotions = 0

    def blob(path: str, text: str) -> None:
        data = text.encode()
        out.append(b"M 100644 inline " + path.encode() + b"\ndata %d\n" % len(data) + data + b"\n")

    for i in range(commits):
        msg = f"commit {i}".encode()
        who = b"Dev%d <dev%d@example.com> %d +0000" % (i % 7, i % 7, T + i * 600)
        out.append(b"commit refs/heads/main\nmark :%d\nauthor %s\ncommitter %s\n" % (i + 1, who, who))
        out.append(b"data %d\n%s\n" % (len(msg), msg))
        if i:
            out.append(b"from :%d\n" % i)
        if i == 0:
            blob("promotion.yaml", CONFIG.format(fetch="/nowhere"))
            blob("deploy/prod.yaml", f"ref: {0:040x}\n")
        elif i % every == 5:
            promotions += 1
            blob("deploy/prod.yaml", f"# promotion {promotions}\nref: {promotions:040x}\n")
        elif i % every == 7:
            blob("deploy/prod.yaml", f"# touched {i}\nref: {promotions:040x}\n")  # same value
        else:
            blob(f"other/file{i % 50}.txt", f"{i}\n")
    return b"".join(out) + b"done\n", promotions


def test_a_generated_history_of_2000_commits(tmp_path: Path, run: Run) -> None:
    repo = tmp_path / "big"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    stream, promotions = _fast_import_stream(2000, 10)
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=repo, input=stream, check=True)
    git(repo, "reset", "-q", "--hard", "main")
    assert promotions == 200 and git(repo, "rev-list", "--count", "HEAD") == "2000"
    started = time.monotonic()
    code, out, err = run("-C", repo, "history", "app", "--env", "production", "--offline", "-o", "json")
    elapsed = time.monotonic() - started
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["changes"]) == 201  # the file's creation, then 200 promotions
    assert [_values(ch["new"]) for ch in doc["changes"][:3]] == [[f"{0:040x}"], [f"{1:040x}"], [f"{2:040x}"]]
    assert doc["changes"][-1]["old"] == [{"value": f"{199:040x}", "sha": f"{199:040x}"}]
    print(f"history of 2000 commits (200 promotions): {elapsed:.2f}s")
