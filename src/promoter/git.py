"""A small typed layer over the `git` command line: one way to run it, one error type."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from promoter.errors import ExternalError, UsageError

_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    """`text` with the user:password part of every URL in it blanked out."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


class GitError(ExternalError):
    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        detail = redact(stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {code}")
        super().__init__(f"git {redact(' '.join(args))}: {detail}")
        self.args_ = args
        self.code = code
        self.stderr = redact(stderr)


@dataclass(frozen=True)
class Git:
    """`git` run in one directory, non-interactively and with a stable, untranslated output."""

    cwd: Path

    def run(
        self, *args: str, check: bool = True, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["git", "-c", "protocol.ext.allow=never", *args]
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0", **(env or {})}
        try:
            raw = subprocess.run(
                cmd,
                cwd=self.cwd,
                env=env,
                input=None if input is None else input.encode("utf-8"),
                capture_output=True,
                check=False,
                timeout=600,
            )
        except FileNotFoundError:
            raise ExternalError("git is not installed (promoter needs the git command)") from None
        except subprocess.TimeoutExpired:
            raise ExternalError(f"git {redact(' '.join(args))}: timed out") from None
        # bytes in, text out: no newline translation, and a commit message that is not UTF-8
        # (old histories have Latin-1 ones) cannot make a read fail
        proc = subprocess.CompletedProcess(
            raw.args, raw.returncode, raw.stdout.decode("utf-8", "replace"), raw.stderr.decode("utf-8", "replace")
        )
        if check and proc.returncode != 0:
            raise GitError(list(args), proc.returncode, proc.stderr)
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0


def toplevel(start: Path) -> Path:
    """The work tree root of the git repository containing `start`."""
    proc = Git(start).run("rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise UsageError(f"{start}: not inside a git repository (use -C to point at the config repository)")
    return Path(proc.stdout.strip())


def git_dir(root: Path) -> Path:
    return Path(Git(root).out("rev-parse", "--absolute-git-dir"))


def dirty(root: Path, files: list[str]) -> list[str]:
    """Which of `files` have uncommitted changes (staged, unstaged, or untracked)."""
    if not files:
        return []
    out = (
        Git(root)
        .run("--literal-pathspecs", "status", "--porcelain", "-z", "--untracked-files=all", "--", *files)
        .stdout
    )
    return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})
