"""The fleet's page (`status -o html`, `reconcile -o html`): every component and environment in
`after:` order, each cell saying what runs, how far behind, what holds it and until when, who
promoted it and when, each thing once; a summary, a generated-at time, a component filter; a phone
layout. On tests/pages_fleet.py's fleet, checked in headless Chromium."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import git
from tests.forge_fakes import FakeGitHub, running
from tests.pages_fleet import NOW, PagesFleet
from tests.test_history import Run, _browser, _Dom
from tests.test_reconcile import TOKEN, Fleet


@pytest.fixture
def pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PagesFleet:
    monkeypatch.setenv("PROMOTER_NOW", datetime.fromtimestamp(NOW, UTC).isoformat())
    return PagesFleet(tmp_path / "fleet")


def _cells(dom: _Dom) -> dict[tuple[str, str], tuple[str, str]]:
    """(component, environment) -> (its action, its text)."""
    out = {}
    comp = ""
    for tag, attrs, text in dom.elements:
        if tag == "tr" and "data-component" in attrs:
            comp = attrs["data-component"]
        if tag == "td" and "data-environment" in attrs:
            out[(comp, attrs["data-environment"])] = (attrs["data-action"], " ".join(" ".join(text).split()))
    return out


def _render(run: Run, config: Path, out: Path, *argv: str) -> str:
    code, said, err = run("-C", config, *argv, "-o", "html", "--out", out)
    assert (code, said) == (0, f"wrote {out}\n"), err
    return out.read_text()


def test_the_fleet_page_in_chromium(pages: PagesFleet, run: Run, tmp_path: Path) -> None:
    s = pages.shas
    page = tmp_path / "status.html"
    text = _render(run, pages.config, page, "status")
    assert "src=" not in text and "Content-Security-Policy" in text
    dom = _Dom()
    dom.feed(_browser(tmp_path, "--dump-dom", page.as_uri()))
    heads = ["".join(t).strip() for _, a, t in dom.find("th") if not a][:4]
    assert heads == ["component", "integration", "production", "pipelines"]  # production after integration
    rows = [a["data-component"] for _, a, _ in dom.find("tr", "component")]
    assert rows == ["schemas", "app", "web", "billing", "tool", "jobs"]
    cells = _cells(dom)
    assert {k: a for k, (a, _) in cells.items()} == {
        ("schemas", "pipelines"): "up-to-date",
        ("app", "integration"): "promote",
        ("app", "production"): "promote",
        ("web", "integration"): "up-to-date",
        ("web", "production"): "soaking",
        ("billing", "production"): "held",
        ("tool", "production"): "blocked",
        ("jobs", "pipelines"): "window",
    }
    # what runs, how far behind, and who promoted it when: each said once
    assert cells[("app", "production")][1] == (
        f"{s['app'][0][:7]} 4 commits behind ready {s['app'][1][:7]} promoted 2026-02-20 10:00 UTC by Linus T"
    )
    assert cells[("web", "integration")][1] == (
        f"{s['web'][3][:7]} up to date promoted 2026-03-02 09:30 UTC by Linus T"
    )  # not "up-to-date", not "runs ..." as well
    held = cells[("billing", "production")][1]
    assert held.count("2026-03-03 10:00 UTC") == 1 and "held until 2026-03-03 10:00 UTC" in held
    assert "incident 42, payments failing" in held and not held.startswith("billing:")
    soaking = cells[("web", "production")][1]
    assert soaking.count("10:30 UTC") == 1 and "soaking until 2026-03-02 10:30 UTC" in soaking
    assert "window until 2026-03-02 23:00 UTC" in cells[("jobs", "pipelines")][1]
    summary = {a["data-count"]: "".join(t).split()[0] for _, a, t in dom.find("li") if "data-count" in a}
    assert summary == {"promote": "2", "held": "1", "blocked": "1", "window": "1", "soaking": "1", "up-to-date": "2"}
    assert "generated 2026-03-02 10:00 UTC" in "".join(t for e in dom.find("p", "meta") for t in e[2])
    links = {a["href"] for _, a, _ in dom.find("a")}
    assert f"https://github.com/example/app/commit/{s['app'][1]}" in links  # the candidate's commit
    # filtered by component from the URL
    dom = _Dom()
    dom.feed(_browser(tmp_path, "--dump-dom", page.as_uri() + "#q=bil"))
    assert [(a["data-component"], "hidden" in a) for _, a, _ in dom.find("tr", "component")] == [
        ("schemas", True), ("app", True), ("web", True), ("billing", False), ("tool", True), ("jobs", True),
    ]  # fmt: skip
    # a phone: one card per component, the page never scrolls sideways
    frame = tmp_path / "phone.html"
    frame.write_text(
        '<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="status.html" width="390" height="800" '
        'style="border:0"></iframe><script>document.getElementById("f").addEventListener("load", function () {'
        "var d = this.contentDocument.documentElement; document.body.setAttribute('data-scroll', d.scrollWidth);"
        "document.body.setAttribute('data-client', d.clientWidth); });</script></body></html>"
    )
    out = _browser(tmp_path, "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
                   frame.as_uri())  # fmt: skip
    body = re.search(r'data-scroll="(\d+)" data-client="(\d+)"', out)
    assert body is not None and int(body.group(1)) <= int(body.group(2))
    for width in (1400, 390):
        shot = tmp_path / f"status{width}.png"
        _browser(tmp_path, f"--screenshot={shot}", f"--window-size={width},1400", "--hide-scrollbars", page.as_uri())
        assert shot.stat().st_size > 10_000


def test_reconcile_writes_the_same_page_with_what_it_would_do(pages: PagesFleet, run: Run, tmp_path: Path) -> None:
    text = _render(run, pages.config, tmp_path / "r.html", "reconcile")
    dom = _Dom()
    dom.feed(text)
    assert "".join(dom.find("h1")[0][2]) == "Promotions"
    assert "a dry run: nothing pushed" in "".join(t for e in dom.find("p", "meta") for t in e[2])
    cells = _cells(dom)
    assert cells[("billing", "production")][0] == "held" and cells[("app", "integration")][0] == "promote"
    mrs = {}
    comp = ""
    for tag, attrs, t in dom.elements:
        if tag == "tr" and "data-component" in attrs:
            comp = attrs["data-component"]
        if tag == "div" and attrs.get("class") == "mr":
            mrs[comp] = "".join(t)
    assert mrs == {"app": "would open a merge request"}
    code, out, err = run("-C", pages.config, "reconcile", "-o", "json", "--out", tmp_path / "r.json")
    assert code == 0 and json.loads((tmp_path / "r.json").read_text())["kind"] == "reconcile"


def test_reconcile_push_links_the_merge_requests_it_opened(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = Fleet(tmp_path)
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        text = _render(run, fleet.config, tmp_path / "r.html", "reconcile", "--push")
        opened = [f"https://github.com/org/config/pull/{p['number']}" for p in gh.pulls if p["state"] == "open"]
    assert len(opened) == 1
    dom = _Dom()
    dom.feed(text)
    links = [(a["href"], "".join(t)) for _, a, t in dom.find("a") if a["href"] in opened]
    assert links == [(opened[0], "merge request opened")]
    assert "merge requests pushed and opened" in text
    assert git(fleet.config, "branch", "--show-current") == "main"
