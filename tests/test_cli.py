"""The command line as a person meets it: terminal confirmation, JSON output, start-up laziness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_repo, snapshot

OLD, NEW = "a" * 40, "b" * 40
FILES = {
    "promotion.yaml": (
        "version: 1\ncomponents:\n  c:\n    repo: https://example.com/c\n    targets:\n"
        "      - {name: prod, environment: production, file: saas.yaml, saas: {}}\n"
        "      - {name: ci, environment: pipelines, file: .env, env: TAG}\n"
    ),
    "saas.yaml": (
        "resourceTemplates:\n- name: c\n  url: https://example.com/c.git\n  targets:\n"
        f"  - ref: master\n  - ref: {OLD}\n"
    ),
    ".env": f"export TAG={OLD[:7]}\n",
}


def _promote_on_a_terminal(repo: Path, answer: bytes) -> tuple[int, str]:
    """Run `promoter promote` with its stdin on a pseudo-terminal and type `answer`."""
    leader, follower = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "promoter", "-C", str(repo), "promote", "c", NEW, "--offline"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    deadline = time.monotonic() + 30
    err = b""
    while b"[y/N]" not in err and time.monotonic() < deadline:  # wait for the question
        assert proc.stderr is not None
        chunk = os.read(proc.stderr.fileno(), 1024)
        if not chunk:
            break
        err += chunk
    os.write(leader, answer)
    out, rest = proc.communicate(timeout=30)
    os.close(leader)
    return proc.returncode, (out + err + rest).decode()


def test_promote_asks_on_a_terminal_and_no_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    before = snapshot(repo)
    code, text = _promote_on_a_terminal(repo, b"n\n")
    assert "Write 2 files? [y/N]" in text
    assert "nothing written" in text
    assert code == 3
    assert snapshot(repo) == before


def test_promote_asks_on_a_terminal_and_yes_writes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    code, text = _promote_on_a_terminal(repo, b"y\n")
    assert code == 0, text
    assert (repo / ".env").read_text() == f"export TAG={NEW[:7]}\n"
    assert f"  - ref: master\n  - ref: {NEW}\n" in (repo / "saas.yaml").read_text()


def test_promote_without_a_terminal_does_not_ask(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    proc = subprocess.run(
        [sys.executable, "-m", "promoter", "-C", str(repo), "promote", "c", NEW, "--offline"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[y/N]" not in proc.stderr
    assert "promoted c to bbbbbbb in 2 files" in proc.stdout


def test_dry_run_and_plan_write_nothing(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "r", FILES)
    before = snapshot(repo)
    code, out, _ = run("-C", repo, "promote", "c", NEW, "--offline", "--dry-run")
    assert code == 0 and "dry run: nothing written" in out and f"+  - ref: {NEW}" in out
    code, out, _ = run("-C", repo, "plan", "c", NEW, "--offline")
    assert code == 0
    assert out.splitlines()[-2:] == [
        "prod [production] saas.yaml: aaaaaaa -> bbbbbbb (1 place)",
        "ci [pipelines] .env: aaaaaaa -> bbbbbbb (1 place)",
    ]
    assert snapshot(repo) == before


def test_plan_json(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "r", FILES)
    code, out, _ = run("-C", repo, "plan", "c", NEW, "--offline", "-o", "json", "--env", "pipelines")
    assert code == 0
    new = {"value": NEW[:7], "sha": NEW}  # the candidate's short sha, written in .env
    # (the old short sha: no full sha beside it, and --offline asks no upstream)
    doc = json.loads(out)
    assert doc == {
        "schema_version": 1,
        "kind": "plan",
        "component": "c",
        "new": {"value": NEW, "sha": NEW},
        "changed": True,
        "targets": [
            {
                "target": "ci",
                "environment": "pipelines",
                "old": [{"value": OLD[:7], "sha": None}],
                "new": new,
                "locations": 1,
                "changed": True,
            }
        ],
        "edits": [
            {
                "file": ".env",
                "line": 1,
                "column": 12,
                "target": "ci",
                "environment": "pipelines",
                "old": {"value": OLD[:7], "sha": None},
                "new": new,
                "kind": "pin",  # (or target_config_hash: an app-interface subscriber's promotion_data)
            }
        ],
        "notes": ["--offline: upstream, dependency and image checks skipped"],
        "warnings": [],
    }


def test_plan_diff_labels_and_status_table(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "r", FILES)
    code, out, _ = run("-C", repo, "plan", "c", NEW, "--offline", "--target", "prod")
    assert out.startswith("--- a/saas.yaml\n+++ b/saas.yaml\n@@ -3,4 +3,4 @@\n")
    code, out, _ = run("-C", repo, "status", "--offline")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "c: upstream not checked (--offline)"
    assert lines[1].split()[:3] == ["ENVIRONMENT", "VERSION", "STATE"]
    assert lines[2].split() == ["production", "aaaaaaa"]  # the environment, its version (offline: no state)
    assert lines[3].split() == ["prod", "aaaaaaa", "saas.yaml:6"]  # its targets, with file:line
    assert lines[4].split() == ["prod", "tracks", "master", "saas.yaml:5"]
    assert lines[5].split() == ["pipelines", "aaaaaaa"]
    assert lines[6].split() == ["ci", "aaaaaaa", ".env:1"]


def test_status_flags_a_target_whose_values_disagree(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    files = dict(FILES)
    files["saas.yaml"] += f"  - ref: {NEW}\n"
    repo = make_repo(tmp_path / "r", files)
    code, out, _ = run("-C", repo, "status", "--offline", "-o", "json")
    prod = json.loads(out)["components"][0]["environments"][0]
    assert prod["environment"] == "production" and prod["agree"] is False
    assert prod["versions"] == [{"value": OLD, "sha": OLD}, {"value": NEW, "sha": NEW}]
    code, out, _ = run("-C", repo, "status", "--offline")
    assert out.splitlines()[2].split() == ["production", "2", "versions"]


def test_version_prints_it() -> None:
    """(What --help and help CMD import: tests/test_cli_friendly.py::test_help_and_version_stay_light.)"""
    proc = subprocess.run([sys.executable, "-m", "promoter", "--version"], capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("promoter ")


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--offline"],
        ["plan", "c", NEW, "--offline"],
        ["promote", "c", NEW, "--offline", "--yes"],
        ["discover"],
        ["check", "--offline"],
    ],
)
def test_commands_that_read_files_import_no_machinery_they_do_not_use(tmp_path: Path, argv: list[str]) -> None:
    """Start-up is most of what these commands cost (bench/README.md): they work without typing,
    dataclasses (and the inspect it pulls in), shutil and the network stack; without json too,
    but for promote's journal."""
    repo = make_repo(tmp_path / "r", FILES)
    heavy = ("typing", "dataclasses", "inspect", "shutil", "requests", "http.client", "ssl")
    heavy += () if argv[0] == "promote" else ("json",)
    code = (
        "import sys\n"
        "from promoter.cli import main\n"
        f"status = main(['-C', {str(repo)!r}, *{argv!r}])\n"
        f"print(status, [m for m in {heavy!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "0 []", proc.stdout
    if argv[0] == "promote":
        assert (repo / ".env").read_text() == f"export TAG={NEW[:7]}\n"


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["plan"], ["status", "--bogus"]])
def test_usage_errors_exit_2(argv: list[str], run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(*argv)
    assert code == 2
    assert err.startswith("promoter: error:") or "usage:" in out


def test_the_plan_diff_is_coloured_on_a_terminal_only(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from promoter.pipeline import core
    from promoter.render.plan import plan_text

    repo = make_repo(tmp_path / "r", FILES)
    opened = core.open_repo(repo)
    comp = core.component(opened.config, "c")
    plan = core.plan(opened, comp, NEW, core.select(comp))
    coloured = plan_text(plan, colour=True)
    assert "\x1b[31;1m-" in coloured and "\x1b[32m+" in coloured
    assert plan_text(plan, colour=False) == coloured.replace("\x1b[1m", "").replace("\x1b[2m", "").replace(
        "\x1b[31;1m", ""
    ).replace("\x1b[32m", "").replace("\x1b[0m", "")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in plan_text(plan)  # NO_COLOR, and in tests stdout is no terminal either
