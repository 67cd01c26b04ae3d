"""`promoter completion bash|zsh|fish`: each script loaded by the real shell and asked what it
completes (bash: its function with COMP_WORDS set, as `complete -F` calls it; zsh: the same
through zsh's bashcompinit, the candidates then matched to what is typed as zsh's completion
system does; fish: `complete -C`), in a config repository: commands, options,
`-o` formats, and the components, environments and targets of its promotion.yaml (of the
component the line names, and of the config -C/--config point to)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_repo

CONFIG = (
    "version: 1\ncomponents:\n"
    "  app:\n    repo: https://github.com/org/app\n    branch: main\n    targets:\n"
    "      - {name: app-int, environment: integration, file: int.yaml, key: ref, format: sha}\n"
    "      - {name: app-prod, environment: production, file: prod.yaml, key: ref, format: sha}\n"
    "  schemas:\n    repo: https://github.com/org/schemas\n    branch: main\n    targets:\n"
    "      - {name: schemas-env, environment: ci, file: .env, env: SCHEMAS_TAG}\n"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    ref = f"ref: {'a' * 40}\n"
    return make_repo(
        tmp_path / "config", {"promotion.yaml": CONFIG, "int.yaml": ref, "prod.yaml": ref, ".env": "X=1\n"}
    )


def _script(tmp_path: Path, shell: str) -> Path:
    from promoter.commands.completion import script

    path = tmp_path / f"promoter.{shell}"
    path.write_text(script(shell))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def _bash(script: Path, cwd: Path, *words: str) -> list[str]:
    """What bash completes for `words` (the last one being typed)."""
    quoted = " ".join(f"'{w}'" for w in words)
    code = f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _promoter; "
    code += 'printf "%s\\n" "${COMPREPLY[@]}"'
    proc = subprocess.run(
        ["bash", "--norc", "-c", code], cwd=cwd, env=_env(), capture_output=True, text=True, check=True
    )
    return sorted(line for line in proc.stdout.splitlines() if line)


CASES = [
    (["promoter", "st"], ["status"]),
    (["promoter", "re"], ["reconcile", "release"]),
    (["promoter", "--ver"], ["--verbose", "--version"]),
    (["promoter", "plan", ""], ["app", "schemas"]),
    (["promoter", "plan", "app", "--env", ""], ["integration", "production"]),
    (["promoter", "status", "--env", ""], ["ci", "integration", "production"]),
    (["promoter", "plan", "app", "--target", "app-"], ["app-int", "app-prod"]),
    (["promoter", "status", "-o", ""], ["html", "json", "table", "wide"]),
    (["promoter", "reconcile", "--sh"], ["--shard"]),
    (["promoter", "help", "rec"], ["reconcile"]),
    (["promoter", "completion", ""], ["bash", "fish", "zsh"]),
]


@pytest.mark.parametrize(("words", "expected"), CASES)
def test_bash_completes_commands_options_formats_and_names(
    repo: Path, tmp_path: Path, words: list[str], expected: list[str]
) -> None:
    assert _bash(_script(tmp_path, "bash"), repo, *words) == expected


def test_names_come_from_the_config_the_line_points_to(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = _script(tmp_path, "bash")
    assert _bash(script, elsewhere, "promoter", "plan", "") == []  # no config here: nothing, no error
    assert _bash(script, elsewhere, "promoter", "-C", str(repo), "plan", "") == ["app", "schemas"]
    other = tmp_path / "other.yaml"
    other.write_text(CONFIG.split("  schemas:")[0])
    assert _bash(script, repo, "promoter", "status", "--config", str(other), "--env", "") == [
        "integration",
        "production",
    ]


def test_names_are_one_a_line(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run("completion", "--names", "components", "-C", repo) == (0, "app\nschemas\n", "")
    assert run("completion", "--names", "targets", "-C", repo, "schemas") == (0, "schemas-env\n", "")
    code, out, err = run("completion", "--names", "versions")
    assert code == 2 and "--names takes components, environments, targets, not 'versions'" in err
    code, out, err = run("completion")
    assert code == 2 and "completion takes the shell: bash, zsh or fish" in err


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (./test installs it)")
def test_zsh_completes_through_bashcompinit(repo: Path, tmp_path: Path) -> None:
    script = _script(tmp_path, "zsh")

    def zsh(*words: str) -> list[str]:
        quoted = " ".join(f"'{w}'" for w in words)
        code = (
            f"autoload -U compinit && compinit -u -D; source {script}; setopt ksharrays; "
            f'COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _promoter; print -l -- "${{COMPREPLY[@]}}"'
        )
        proc = subprocess.run(["zsh", "-f", "-c", code], cwd=repo, env=_env(), capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        # zsh's compgen leaves matching what is typed to the completion system, as here
        return sorted(line for line in proc.stdout.splitlines() if line and line.startswith(words[-1]))

    assert zsh("promoter", "st") == ["status"]
    assert zsh("promoter", "plan", "app", "--env", "") == ["integration", "production"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed (./test installs it)")
def test_fish_completes_commands_options_and_names(repo: Path, tmp_path: Path) -> None:
    script = _script(tmp_path, "fish")

    def fish(line: str) -> list[str]:
        code = f"source {script}; complete -C '{line}'"
        proc = subprocess.run(["fish", "--no-config", "-c", code], cwd=repo, env=_env(), capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return sorted(out.split("\t")[0] for out in proc.stdout.splitlines() if out)

    assert "status" in fish("promoter st")
    assert fish("promoter plan ") == ["app", "schemas"]
    assert fish("promoter plan app --env ") == ["integration", "production"]
    assert fish("promoter status -o ") == ["html", "json", "table", "wide"]
    assert "--shard" in fish("promoter reconcile --sh")
