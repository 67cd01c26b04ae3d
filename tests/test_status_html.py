"""`status -o html --out FILE`: one self-contained page (components by environments), checked in
headless Chromium (Debian's chromium), as the history report is."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import git


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.components: list[str] = []
        self.cells: list[str] = []
        self.actions: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-component"):
            self.components.append(a["data-component"] or "")
        if tag == "td" and a.get("data-environment"):
            self.cells.append(a["data-environment"] or "")
            self.actions.append(a.get("data-action") or "")
        for key in ("src", "href"):
            if a.get(key) and tag != "a":
                self.external.append(a[key] or "")


def test_status_html_page_in_chromium(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("chromium is missing: ./test installs it (apt-get install chromium)")
    assert run("demo", tmp_path / "demo")[0] == 0
    config = tmp_path / "demo" / "app-interface"
    git(config, "checkout", "-q", "--", ".")
    page = tmp_path / "status.html"
    code, out, err = run("-C", config, "status", "-o", "html", "--out", page)
    assert (code, out) == (0, f"wrote {page}\n"), err
    text = page.read_text()
    # self-contained: nothing loaded (a CSP says so too); one inline script, the component filter;
    # its only URLs are links to the upstream's commits
    assert "src=" not in text and text.count("<script") == text.count("<script>") == 1
    assert text.count("://") == text.count('href="https://github.com/app-sre/qontract-reconcile/commit/')
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    cells = _Cells()
    cells.feed(dom)
    assert cells.components == ["qontract-reconcile"]
    assert cells.cells == ["integration", "production", "pipelines"]  # production comes after integration
    # the demo merged integration's promotion, and holds the pipelines
    assert cells.actions == ["up-to-date", "promote", "held"] and not cells.external
    assert "4 commits behind" in dom and dom.count("up to date") == 2  # a cell and the summary
    shot = tmp_path / "status.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}", "--window-size=900,400",
         page.as_uri()], capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    assert shot.stat().st_size > 5000  # something was drawn
