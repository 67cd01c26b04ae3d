"""The fleet's page (`reconcile -o html`) with what main's reconcile decides: a preview that reads
the forge knows the merge request and says what --push would do to it (never that it was done);
one that cannot read the forge says so; an automatic rollback's cell is coloured like every other
gate, and every badge on the page has its colour; an error under a component is said in the
page's plain weight. Real repositories, GitHub's contract fake, the
page looked at in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.forge_fakes import FakeGitHub, running
from tests.test_autorollback import MIN, T0, World
from tests.test_history import Run, _browser, _Dom
from tests.test_reconcile import NOW, TOKEN, Fleet, commit


def _page(run: Run, config: Path, out: Path, *argv: str) -> _Dom:
    code, said, err = run("-C", config, "reconcile", *argv, "-o", "html", "--out", out)
    assert said == f"wrote {out}\n", err
    dom = _Dom()
    dom.feed(out.read_text())
    return dom


def _merge_requests(dom: _Dom) -> dict[str, list[tuple[str, str]]]:
    """component -> what its header says of its merge request: (text, link) of each line (`mr`,
    and `reason`: an error) under its name."""
    out: dict[str, list[tuple[str, str]]] = {}
    comp = ""
    inside = False
    for tag, attrs, text in dom.elements:
        if tag == "tr" and "data-component" in attrs:
            comp, inside = attrs["data-component"], True
        elif tag == "td":
            inside = False
        elif inside and tag == "div" and attrs.get("class") in ("mr", "reason"):
            out.setdefault(comp, []).append(("".join(text), ""))
        elif inside and tag == "a" and out.get(comp):
            out[comp][-1] = ("".join(text), attrs["href"])
    return out


def test_a_preview_that_reads_the_forge_says_what_push_would_do_to_its_merge_request(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = Fleet(tmp_path)
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        fleet.use_api("github", "https://github.com/org/config.git", gh.url, TOKEN, monkeypatch)
        code, out, err = run("-C", fleet.config, "reconcile", "--push", "-o", "json")
        assert code == 0, err
        (pr,) = [p for p in gh.pulls if p["state"] == "open"]
        url = f"https://github.com/org/config/pull/{pr['number']}"
        pushed = fleet.tip(pr["head"])
        commit(fleet.ups["app"], "app3", NOW - 1800)  # a newer version: --push would update it
        code, out, err = run("-C", fleet.config, "reconcile", "-o", "json")
        app = next(c for c in json.loads(out)["components"] if c["component"] == "app")
        assert (app["merge_request"]["action"], app["merge_request"]["url"]) == ("update", url), err
        dom = _page(run, fleet.config, tmp_path / "preview.html")
        assert _merge_requests(dom)["app"] == [("would update its merge request", url)]
        assert fleet.tip(pr["head"]) == pushed  # a preview: nothing pushed
        monkeypatch.delenv("GITHUB_TOKEN")  # the forge cannot be read: said, not guessed
        dom = _page(run, fleet.config, tmp_path / "no-token.html")
        (said,) = _merge_requests(dom)["app"]
        assert said[0].startswith("cannot tell whether --push would") and "GITHUB_TOKEN is not set" in said[0]
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        person = tmp_path / "person"  # a person's commit on the promotion's branch: an error, said under its name
        git(tmp_path, "clone", "-q", "-b", pr["head"], str(fleet.remote), str(person))
        commit(person, "a fix by hand", NOW - 600)
        git(person, "push", "-q", "origin", pr["head"])
        page = tmp_path / "error.html"
        dom = _page(run, fleet.config, page)
    lines = _merge_requests(dom)["app"]
    assert lines[0] == ("open merge request", url) and "holds commits that are not promoter's" in lines[1][0]
    styles = _styles(tmp_path, page)
    assert {weight for _, weight in styles["reasons"]} == {"400"}  # said, not shouted
    assert max(styles["names"]) <= 320  # a long error wraps: the environments keep the page's width


def _styles(tmp_path: Path, page: Path) -> dict[str, Any]:
    """The computed style of every badge and every reason of `page`, and the width of each
    component's cell, as Chromium lays it out (1400 px wide)."""
    frame = tmp_path / "styles.html"
    frame.write_text(
        f'<!DOCTYPE html><html><body><iframe id="f" src="{page.name}" width="1400" height="900"></iframe><script>'
        'document.getElementById("f").addEventListener("load", function () { var d = this.contentDocument, out = {'
        "badges: [], reasons: []}; d.querySelectorAll('.badge').forEach(function (b) { out.badges.push("
        "[b.textContent, getComputedStyle(b).backgroundColor]); }); d.querySelectorAll('.reason').forEach("
        "function (r) { out.reasons.push([r.textContent, getComputedStyle(r).fontWeight]); }); out.names = [];"
        "d.querySelectorAll('th.component').forEach(function (t) { out.names.push(t.getBoundingClientRect().width); });"
        "document.body.setAttribute('data-styles', JSON.stringify(out)); });</script></body></html>"
    )
    dumped = _browser(tmp_path, "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
                      frame.as_uri())  # fmt: skip
    found = re.search(r"data-styles=\"([^\"]*)\"", dumped)
    assert found is not None, dumped[-2000:]
    styles: dict[str, Any] = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return styles


def test_a_rollback_is_coloured_like_every_other_gate(
    tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """production fails its checks past the grace: the preview's page shows its cell as a rollback,
    and no badge of the page (cells and summary) is left without its colour."""
    with running(FakeGitHub(TOKEN, owner="org", repo="config")) as gh:
        assert isinstance(gh, FakeGitHub)
        (tmp_path / "w").mkdir()
        world = World(tmp_path / "w", gh, run, monkeypatch)
        a = world.fleet.shas["app"]
        world.failing(a[2])
        world.reconcile()
        world.at(T0 + 40 * MIN)
        cfg = world.fleet.config
        shutil.rmtree(cfg)
        git(world.fleet.root, "clone", "-q", str(world.fleet.remote), str(cfg))
        git(cfg, "remote", "set-url", "origin", "https://github.com/org/config.git")
        git(cfg, "config", f"url.{world.fleet.remote}.insteadOf", "https://github.com/org/config.git")
        page = tmp_path / "page.html"
        dom = _page(run, cfg, page)
    actions = {a.get("data-environment"): a["data-action"] for _, a, _ in dom.find("td") if "data-action" in a}
    assert actions["production"] == "rollback"
    badges = _styles(tmp_path, page)["badges"]
    assert "rollback" in [text for text, _ in badges]
    assert [(t, colour) for t, colour in badges if colour in ("rgba(0, 0, 0, 0)", "transparent")] == []
