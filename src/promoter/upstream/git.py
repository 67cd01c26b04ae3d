"""A small typed layer over the `git` command line: one way to run it, one error type."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from promoter.errors import ExternalError, UsageError
from promoter.records import record
from promoter.urls import redact

# commands that talk to a remote: bounded by PROMOTER_GIT_TIMEOUT (seconds, default 120), and an
# HTTP transfer slower than 1 byte/s for that long is given up by git itself
NETWORK_COMMANDS = frozenset({"clone", "fetch", "ls-remote", "push"})


def _env() -> dict[str, str]:
    """The environment git runs in: never prompting, untranslated, taking no optional lock."""
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}


def exit_status(code: int) -> str:
    """How a process ended, in words: "exit status 128", or "killed by SIGPIPE" for a signal."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class GitError(ExternalError):
    """A git command that failed: its arguments, exit code, and both of its outputs (redacted).

    The message is git's whole error (every line of stderr, or of stdout when stderr is empty:
    `git push --porcelain` reports there), so a hook's reason or a "dubious ownership" advice
    reaches the user; the command is named by its first words, never with every option value."""

    def __init__(self, args: list[str], code: int, stderr: str, stdout: str = "") -> None:
        said = stderr.strip() or stdout.strip()
        detail = redact(said) if said else exit_status(code)
        super().__init__(f"git {redact(command_name(args))}: {detail}")
        self.args_ = args
        self.code = code
        self.stderr = redact(stderr)
        self.stdout = redact(stdout)


def command_name(args: list[str]) -> str:
    """How a message names a git command: its subcommand and the words before the first option
    value or path, at most four (`push origin refs/heads/x`, not every `-o` value)."""
    shown: list[str] = []
    for arg in args:
        if arg == "--" or len(shown) == 4 or (arg.startswith("-") and shown):
            break
        shown.append(arg)
    return " ".join(shown)


@record(frozen=True)
class Git:
    """`git` run in one directory, non-interactively and with a stable, untranslated output."""

    cwd: Path

    def run(
        self, *args: str, check: bool = True, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["git", "-c", "protocol.ext.allow=never", *args]
        network = bool(args) and args[0] in NETWORK_COMMANDS
        limit = network_timeout() if network else 600.0
        if network:
            low = str(max(1, round(limit)))
            cmd[3:3] = ["-c", "http.lowSpeedLimit=1", "-c", f"http.lowSpeedTime={low}"]
        env = {**_env(), **(env or {})}
        try:
            raw = subprocess.run(
                cmd,
                cwd=self.cwd,
                env=env,
                input=None if input is None else input.encode("utf-8"),
                capture_output=True,
                check=False,
                timeout=limit + min(limit, 5) if network else limit,  # git's own HTTP limit speaks first
            )
        except FileNotFoundError:
            raise ExternalError("git is not installed (promoter needs the git command)") from None
        except subprocess.TimeoutExpired:
            raise ExternalError(
                f"git {redact(' '.join(args))}: no answer within {limit:g} s"
                + (" (PROMOTER_GIT_TIMEOUT sets the limit)" if network else "")
            ) from None
        # bytes in, text out: no newline translation, and a commit message that is not UTF-8
        # (old histories have Latin-1 ones) cannot make a read fail
        proc = subprocess.CompletedProcess(
            raw.args, raw.returncode, raw.stdout.decode("utf-8", "replace"), raw.stderr.decode("utf-8", "replace")
        )
        if check and proc.returncode != 0:
            raise GitError(list(args), proc.returncode, proc.stderr, proc.stdout)
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def start(self, *args: str) -> Running:
        """A local (not network) git command started in the background; `Running.wait` ends it."""
        assert not args or args[0] not in NETWORK_COMMANDS
        return Running(list(args), _spawn(self.cwd, list(args), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE))

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0


def _spawn(cwd: Path, args: list[str], stdin: int, stderr: int) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            ["git", "-c", "protocol.ext.allow=never", *args],
            cwd=cwd,
            env=_env(),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    except FileNotFoundError:
        raise ExternalError("git is not installed (promoter needs the git command)") from None


@record(frozen=True)
class Running:
    args: list[str]
    proc: subprocess.Popen[bytes]

    def wait(self, ok: tuple[int, ...] = (0,)) -> str:
        """Its standard output; GitError when it exits with a code not in `ok`."""
        try:
            out, err = self.proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise ExternalError(f"git {redact(' '.join(self.args))}: no answer within 600 s") from None
        if self.proc.returncode not in ok:
            raise GitError(
                self.args, self.proc.returncode, err.decode("utf-8", "replace"), out.decode("utf-8", "replace")
            )
        return out.decode("utf-8", "replace")

    def stop(self) -> None:
        """End it (when it still runs) and reap it; its output is not read."""
        if self.proc.returncode is None:
            self.proc.kill()
            self.proc.communicate()


def network_timeout() -> float:
    """Seconds a fetch, clone, ls-remote or push may take: PROMOTER_GIT_TIMEOUT, default 120."""
    raw = os.environ.get("PROMOTER_GIT_TIMEOUT", "")
    try:
        value = float(raw) if raw else 120.0
    except ValueError:
        raise UsageError(f"PROMOTER_GIT_TIMEOUT must be a number of seconds, not '{raw}'") from None
    if not 0 < value < 10**6:  # also not nan or inf
        raise UsageError(f"PROMOTER_GIT_TIMEOUT must be a number of seconds, not '{raw}'")
    return value


_DUBIOUS = r"dubious ownership in repository at '(?P<path>[^'\n]*)'"  # compiled by re on first use
_OBJECT_HEADER = rb"(?P<sha>[0-9a-f]{40}(?:[0-9a-f]{24})?) (?P<kind>blob|tree|commit|tag) (?P<size>\d+)\n"


class CatFile:
    """One long-lived `git cat-file --batch`: any number of objects read through one process.

    Requests are written in chunks small enough to sit in the pipe while git answers, so
    neither side can block the other."""

    CHUNK = 16 * 1024

    def __init__(self, cwd: Path) -> None:
        self._proc = _spawn(cwd, ["cat-file", "--batch"], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read(self, specs: list[str]) -> list[tuple[str, str, bytes] | None]:
        """(object sha, type, content) of each `<rev>:<path>` or object name; None when missing."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        out: list[tuple[str, str, bytes] | None] = []
        i = 0
        while i < len(specs):
            chunk: list[str] = []
            size = 0
            while i < len(specs) and (not chunk or size + len(specs[i]) < self.CHUNK):
                chunk.append(specs[i])
                size += len(specs[i].encode("utf-8")) + 1
                i += 1
            sendable = [s for s in chunk if "\n" not in s]
            try:
                self._proc.stdin.write(b"".join(s.encode("utf-8") + b"\n" for s in sendable))
                self._proc.stdin.flush()
            except BrokenPipeError:
                raise ExternalError("git cat-file --batch exited early") from None
            for spec in chunk:
                if "\n" in spec:  # cannot be asked for on one line: no such object
                    out.append(None)
                    continue
                header = self._proc.stdout.readline()
                if not header:
                    raise ExternalError("git cat-file --batch exited early")
                m = re.fullmatch(_OBJECT_HEADER, header)
                if m is None:  # "<spec> missing" / "<spec> ambiguous"
                    out.append(None)
                    continue
                data = self._proc.stdout.read(int(m["size"]))
                self._proc.stdout.read(1)  # the newline after the content
                out.append((m["sha"].decode(), m["kind"].decode(), data))
        return out

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc.wait()

    def __enter__(self) -> CatFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def toplevel(start: Path) -> Path:
    """The work tree root of the git repository containing `start`."""
    return locate_repository(start)[0]


def locate_repository(start: Path) -> tuple[Path, Path]:
    """(work tree root, absolute git dir) of the git repository containing `start`: one git call."""
    proc = Git(start).run("rev-parse", "--show-toplevel", "--absolute-git-dir", check=False)
    dubious = re.search(_DUBIOUS, proc.stderr) if proc.returncode != 0 else None
    if dubious is not None:
        where = dubious["path"]
        raise UsageError(
            f"{where}: git refuses to work in this repository: it is owned by another user (git calls it "
            f"'dubious ownership'); if you trust it, mark it safe: git config --global --add safe.directory {where}"
        )
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 2:
        raise UsageError(f"{start}: not inside a git repository (use -C to point at the config repository)")
    return Path(lines[0]), Path(lines[1])


def git_dir(root: Path) -> Path:
    return Path(Git(root).out("rev-parse", "--absolute-git-dir"))


def dirty(root: Path, files: list[str]) -> list[str]:
    """Which of `files` have uncommitted changes (staged, unstaged, or untracked)."""
    return DirtyCheck(root, files).result()


class DirtyCheck:
    """`dirty` started in the background (a write prepares its files meanwhile); `result` waits
    for it, `stop` ends it unread."""

    def __init__(self, root: Path, files: list[str]) -> None:
        self._running: Running | None = None
        if files:
            self._running = Git(root).start(
                # a few files of a large index: no threads to stat it all, and no index written back
                "--no-optional-locks", "-c", "core.preloadIndex=false", "--literal-pathspecs",
                "status", "--porcelain", "-z", "--untracked-files=all", "--", *files,
            )  # fmt: skip

    def result(self) -> list[str]:
        out = self._running.wait() if self._running is not None else ""
        return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
