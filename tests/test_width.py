"""A walkthrough at 80 columns: no table row wider than the terminal (paths and subjects cut in
the middle or at the end, never wrapped); piped without COLUMNS, nothing is cut."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import git


@pytest.fixture
def demo(tmp_path: Path, run) -> Path:  # type: ignore[no-untyped-def]
    assert run("demo", tmp_path / "demo")[0] == 0
    config = tmp_path / "demo" / "app-interface"
    git(config, "checkout", "-q", "--", ".")
    (config / "stray.yaml").write_text("qontract_reconcile_image_tag: 4e537ab  # a pin no target covers, far out\n")
    git(config, "add", "stray.yaml")
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
    import subprocess
    import sys

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
