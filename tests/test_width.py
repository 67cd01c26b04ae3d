"""A walkthrough at 80 columns: no table row wider than the terminal; paths cut in the middle
(their file name and `:LINE` kept), prose (reasons, errors, subjects) wrapped onto continuation
lines under its column and never cut, versions in their short form, `old -> new` whole; piped
without COLUMNS, nothing is cut. On a real pseudo-terminal (tests/ptys.py), as a person sees it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import GIT_ENV, git
from tests.ptys import on_a_terminal, screen, visible

SHA = "4e537ab8ec99ff67e566e6561253e11ec7f35dc4"  # what the demo deploys


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo after its walkthrough, a stray pin and a kustomize overlay added: made once for
    the module, which only reads it."""
    base = tmp_path_factory.mktemp("width")
    env = {**os.environ, **GIT_ENV, "HOME": str(base), "PROMOTER_CACHE_DIR": str(base / "cache")}
    cmd = [sys.executable, "-m", "promoter", "demo", str(base / "demo")]
    subprocess.run(cmd, env=env, capture_output=True, check=True, timeout=120)
    config = base / "demo" / "app-interface"
    git(config, "checkout", "-q", "--", ".")
    (config / "stray.yaml").write_text("qontract_reconcile_image_tag: 4e537ab  # a pin no target covers, far out\n")
    overlay = config / "overlays" / "production" / "kustomization.yaml"  # a kustomize pin, as a full sha
    overlay.parent.mkdir(parents=True)
    overlay.write_text("resources:\n" + "- base\n" * 10 + f"newTag: {SHA}\n")
    git(config, "add", "stray.yaml", "overlays")
    git(config, "commit", "-qm", "a stray pin with a long, long, long, long, long, long, long subject line")
    return config


@pytest.mark.parametrize(
    "argv",
    [
        ("status",),
        ("status", "--offline"),
        ("history", "qontract-reconcile"),
        ("discover",),
        ("reconcile",),
        ("changelog", "qontract-reconcile"),
    ],
)
def test_no_row_is_wider_than_80_columns(
    demo: Path, run, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run("-C", demo, *argv)
    assert code in (0, 3), err
    assert out.strip()
    # a URL stays whole (it must stay clickable); discover's suggested targets are YAML to paste
    lines = out.split("suggested targets for")[0].splitlines()
    wide = [line for line in lines if len(line) > 80 and "://" not in line]
    assert not wide, "\n".join(wide)


def test_wide_and_pipes_cut_nothing(demo: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, err = run("-C", demo, "status")
    assert "…" not in out  # captured: no terminal, no cut
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run("-C", demo, "status", "-o", "wide")
    assert "…" not in out and "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml:23" in out
    assert os.environ["COLUMNS"] == "80"


def test_help_on_a_terminal_that_says_zero_columns_is_80_wide() -> None:
    """A new pseudo-terminal (script, expect, some `docker exec -t`) reports 0 columns: help is
    wrapped at 80, as shutil.get_terminal_size would have it, not one word a line."""
    leader, follower = os.openpty()
    assert os.get_terminal_size(follower).columns == 0
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "promoter", "status", "--help"], stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.wait(timeout=30) == 0
    lines = out.decode().replace("\r\n", "\n").splitlines()
    assert lines[0].startswith("usage: promoter status [-h] [--env E]")
    assert max(map(len, lines)) <= 80 and max(map(len, lines)) > 60


# -- prose and paths, on a terminal 80 columns wide ------------------------------------------------
def _entries(lines: list[str], column: int) -> list[tuple[str, str]]:
    """The rows of a table whose last column starts at `column`: (what is left of it, the last
    cell with its continuation lines joined by spaces). A continuation line is blank up to it."""
    out: list[tuple[str, str]] = []
    for line in lines:
        left, cell = line[:column], line[column:].strip()
        if left.strip() or not out:
            out.append((left.rstrip(), cell))
        else:
            out[-1] = (out[-1][0], f"{out[-1][1]} {cell}")
    return out


def _table(lines: list[str], title: str) -> tuple[int, list[str]]:
    """(the column `title` starts at, the table's rows) of the first table with that title."""
    n = next(i for i, line in enumerate(lines) if title in line and line.lstrip().startswith(("ENVIRONMENT", "DATE")))
    end = next((i for i in range(n + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return lines[n].index(title), lines[n + 1 : end]


def _cut_in_the_middle(cell: str, full: str) -> bool:
    """`cell` is `full` cut in the middle: its start, `…`, its end (the `:LINE` among it), and its
    whole file name when the cell had room for it and a few characters before it."""
    head, tail = cell.split("…")
    name = full[full.rfind("/") :]
    kept = tail.endswith(name) or len(cell) < len(name) + 5
    return bool(head) and full.startswith(head) and full.endswith(tail) and ":" in tail and kept


def _shown(demo: Path, *argv: str) -> list[str]:
    code, raw = on_a_terminal(list(argv), 80, cwd=demo)
    assert code in (0, 3), raw
    assert "\\x1b[" not in raw  # colour is colour
    lines = [visible(line) for line in screen(raw)]
    wide = [line for line in lines if len(line) > 80 and "://" not in line]
    assert not wide, "\n".join(wide)
    return lines


def test_status_wraps_reasons_and_cuts_paths_in_the_middle(demo: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, whole, _ = run("-C", demo, "status", "-o", "wide")
    column, rows = _table(whole.splitlines(), "NEXT")
    expected = [(left.split(), cell) for left, cell in _entries(rows, column)]
    column, rows = _table(_shown(demo, "status"), "NEXT")
    got = [(left.split(), cell) for left, cell in _entries(rows, column)]
    assert [left for left, _ in got] == [left for left, _ in expected]  # row for row
    cut = 0
    for (_, cell), (_, full) in zip(got, expected, strict=True):
        if " " in full:  # a reason: every word, in order, on its lines
            assert cell == " ".join(full.split()), (cell, full)
        elif cell != full:  # a path: its start, `…`, its end
            assert _cut_in_the_middle(cell, full)
            cut += 1
    assert cut and any(len(cell.split()) > 8 for cell, _ in [(c, 0) for _, c in got])  # both were needed


def test_reconcile_wraps_its_reasons(demo: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, whole, _ = run("-C", demo, "reconcile")
    column, rows = _table(whole.splitlines(), "REASON")
    expected = _entries(rows, column)
    column, rows = _table(_shown(demo, "reconcile"), "REASON")
    got = _entries(rows, column)
    assert [(left.split(), cell) for left, cell in got] == [(left.split(), " ".join(c.split())) for left, c in expected]
    assert len(rows) > len(got)  # some reason took more than one line


def test_history_at_80_keeps_old_to_new_and_wraps_the_subject(demo: Path, run) -> None:  # type: ignore[no-untyped-def]
    import json

    code, text, _ = run("-C", demo, "history", "qontract-reconcile", "-o", "json")
    changes = json.loads(text)["changes"]
    lines = _shown(demo, "history", "qontract-reconcile")
    flat = " ".join(" ".join(lines).split())
    assert len(changes) >= 2
    for ch in changes:
        old = ", ".join(v["value"][:7] for v in ch["old"]) or "(none)"
        new = ", ".join(v["value"][:7] for v in ch["new"]) or "(none)"
        assert any(f"{ch['commit'][:7]}  {old} -> {new}" in line for line in lines), (old, new)
        said = f"{ch['author']['name']}: {ch['subject']}"
        assert " ".join(said.split()) in flat, said  # every word of it, in order


def test_discover_at_80_shows_the_short_sha_and_keeps_the_path(demo: Path) -> None:
    lines = _shown(demo, "discover")
    row = next(line for line in lines if line.startswith("overl"))
    assert row.startswith("overlays/production/kustomization.yaml:12  qontract-reconcile  version 4e537ab")
    assert SHA not in row and lines[lines.index(row) + 1] == f"  newTag: {SHA}"  # the line itself, under it


@settings(max_examples=100, deadline=None)
@given(
    reasons=st.lists(st.lists(st.text("abcdefgh", min_size=1, max_size=14), min_size=1, max_size=30), min_size=1),
    names=st.lists(st.text("abcdefghij-", min_size=1, max_size=24), min_size=1),
    width=st.integers(min_value=40, max_value=200),
)
def test_fit_never_cuts_prose_and_cuts_paths_in_the_middle(
    reasons: list[list[str]], names: list[str], width: int
) -> None:
    """Whatever the rows and the width: every line fits; a prose cell's lines hold its words, in
    order; a path keeps its start and its file name (`…` between), or is whole."""
    from promoter.render.table import Cell, fit

    rows: list[list[str | Cell] | Cell] = [["NAME", "STATE", "NEXT"]]
    expected = []
    for n, words in enumerate(reasons):
        name = names[n % len(names)]
        file = f"data/services/{name}/deploy/{name}-{n}.yaml:{n + 1}"
        rows += [[name, "behind", " ".join(words)], [f"  {name}", "", Cell(file, kind="path")]]
        expected += [(" ".join(words), False), (file, True)]
    lines = fit(rows, width, ("fixed", "fixed", "prose"))
    if 2 + max(len(n) + 2 for n in names) + 2 + 6 + 2 + 8 > width:
        return  # the names alone leave no room for a reason: not a case a terminal meets
    assert all(len(line) <= width for line in lines), lines
    column = len("  ") + max(len(r[0]) for r in rows if isinstance(r, list) and isinstance(r[0], str)) + 2 + 6 + 2
    got = [cell for _, cell in _entries(lines[1:], column)]
    assert len(got) == len(expected)
    for cell, (full, is_path) in zip(got, expected, strict=True):
        if not is_path:  # every character, in order (a word longer than the column broken, not cut)
            assert "…" not in cell and "".join(cell.split()) == "".join(full.split())
            assert cell == full or width < 60  # and broken between words, but on a very narrow terminal
        elif cell != full:
            assert _cut_in_the_middle(cell, full), (cell, full)
