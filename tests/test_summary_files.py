"""`--markdown FILE` on reconcile and check: the markdown for people (a CI job's summary, a merge
request's comment) written beside the data on stdout (`-o json`), from one run: a reconcile that
pushes cannot be run twice to get both. check's markdown keeps text from the repository from
making markup of its own."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import make_repo
from tests.test_reconcile import Fleet


def test_reconcile_writes_its_dashboard_beside_the_json(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    fleet = Fleet(tmp_path)
    code, dashboard, err = run("-C", fleet.config, "reconcile", "-o", "markdown")
    assert code == 0, err
    summary = tmp_path / "summary.md"
    code, out, err = run("-C", fleet.config, "reconcile", "-o", "json", "--markdown", summary)
    assert code == 0, err
    assert json.loads(out)["kind"] == "reconcile"
    assert summary.read_text() == dashboard and dashboard.startswith("# Promotions")


def test_check_markdown_says_the_verdict_and_each_problem_without_markup_of_its_own(  # type: ignore[no-untyped-def]
    tmp_path: Path, run
) -> None:
    config = (
        "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n    branch: main\n"
        "    targets:\n      - {name: t, environment: prod, file: 'a|b<i>.yaml', key: ref, format: sha}\n"
    )
    repo = make_repo(tmp_path / "config", {"promotion.yaml": config, "a|b<i>.yaml": "other: 1\n"})
    summary = tmp_path / "summary.md"
    code, out, err = run("-C", repo, "check", "-o", "json", "--markdown", summary)
    assert code == 3, err
    assert [p["kind"] for p in json.loads(out)["problems"]] == ["locates-nothing"]
    text = summary.read_text()
    assert text.startswith("# promoter check\n\n**1 problem**\n")
    (row,) = [line for line in text.splitlines() if line.startswith("| promotion.yaml:")]
    assert "| app | error | app: a\\|b&lt;i&gt;.yaml: target 't'" in row and "<i>" not in row
    code, same, err = run("-C", repo, "check", "-o", "markdown")
    assert code == 3 and same == text
    clean = make_repo(tmp_path / "clean", {"promotion.yaml": config, "a|b<i>.yaml": f"ref: {'a' * 40}\n"})
    code, out, err = run("-C", clean, "check", "-o", "markdown")
    assert (code, out) == (0, "# promoter check\n\n**ok: no problems**\n")
