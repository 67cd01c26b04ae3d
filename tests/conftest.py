"""Shared fixtures: real git repositories in temp dirs, built from files the test gives.

Two tiers. `pytest` alone runs the fast tier (unit, locate/edit, config, CLI, workflow on real
git repositories): under a minute on two cores. `pytest --full` (what `./test` and CI run) adds
the tests marked `full`: the reliability suite (crashes, concurrency, hostile input, network
faults, secrets, fuzzing), everything that starts the real OCI registry, the HTTP, forge and CI
example suites (servers on 127.0.0.1 that misbehave on purpose), the non-root user's checks, the
headless-Chromium checks and the replays of ../shared/realdata. The marking is done here, by
rule, so that a new test in one of those places is in the full tier without anyone remembering
to mark it.

Temp dirs are made in /dev/shm when TMPDIR is not set and it is there: every promotion fsyncs
what it writes (and git its objects), and on a virtual disk those syncs, not the work, would be
most of the run. Nothing here tests durability across a power cut; set TMPDIR to choose.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from promoter.cli import main
from tests.ptys import drained

if "TMPDIR" not in os.environ and os.access("/dev/shm", os.W_OK | os.X_OK):
    os.environ["TMPDIR"] = tempfile.tempdir = "/dev/shm"

# the real OCI registry and fake servers: fixtures for every test module
pytest.register_assert_rewrite("tests.registry_fixtures", "tests.dist_fixtures")
pytest_plugins = ["tests.registry_fixtures", "tests.dist_fixtures"]

FULL_MODULES = {
    "test_registry.py",  # the real OCI registry
    "test_registry_trust.py",
    "test_trust.py",  # the real OCI registry, cosign's layouts, a Referrers API front
    "test_trust_keyless.py",  # the sigstore package verifying a real bundle (seconds of start-up)
    "test_registry_helpers.py",
    "test_realdata.py",  # ../shared/realdata
    "test_example_config.py",
    "test_http.py",  # real servers on 127.0.0.1 that misbehave on purpose (slow, trickling, retried)
    "test_http_deadlines.py",  # raw servers trickling status lines, headers, endless 100 Continue
    "test_verify_bounds.py",  # servers on 127.0.0.1, commands timed out, 200 MB of output
    "test_forge.py",
    "test_forge_trust.py",
    "test_ci_examples.py",  # every CI command line run against a demo repository
    "test_ci_pages.py",  # the pages jobs run against a demo repository
    "test_nonroot.py",
    "test_reconcile_sequence.py",  # many scheduled runs in random sequences
    "test_native_realdata.py",  # ../shared/realdata: the 2022 snapshot, the bot's automated promotions
    "test_native_channels_realdata.py",  # ../shared/realdata: the bot's 17 promotions replayed byte for byte
    "test_reconcile_people.py",  # the forge fakes and a registry on 127.0.0.1, many runs
    "test_notify.py",  # webhook and Slack servers on 127.0.0.1, many runs
    "test_autorollback.py",  # GitHub's contract fake, many runs from fresh clones
    "test_autorollback_preview.py",  # the same, a preview, a dry run and a push each
    "test_status_page_states.py",  # GitHub's contract fake, the page in Chromium
    "test_previews_reconcile.py",  # every decision taken three ways, the forge fakes
    "test_shards_fleet.py",  # a fleet in shards against the GitHub fake
    "test_package.py",  # the release's artifacts: built, checked, installed (tests/dist_fixtures.py)
    "test_image.py",  # the image's root filesystem built with mmdebstrap, promoter demo run in it
    "test_gitlab_component.py",  # templates/: each job run against the demo and a bare remote
    "test_github_action.py",  # action.yml: its steps run, the wheel installed in a fresh venv
    "test_completion.py",  # each completion script run by its shell (bash, zsh, fish)
    "test_precommit.py",  # pre-commit try-repo: the hook installed from a copy of this checkout
    "test_upstream_e2e.py",  # whole runs: a real upstream, the CLI as a user types it
    "test_terminal.py",  # the CLI on a pty, every command's screen
    "test_width.py",  # the same at 40 to 200 columns
    "test_progress.py",  # progress lines on a pty
    "test_demo.py",  # promoter demo, whole
    "test_demo_tags.py",
    "test_reconcile.py",  # many reconcile runs from fresh clones
    "test_commit_failures.py",  # promote --commit failing at every step, a repository per case
    "test_tags_meet_main.py",  # release tags through every command
    "test_commit_sequence_meets_main.py",
    "test_history_upstream.py",
    "test_dora.py",
}
FULL_FIXTURES = {"registry", "auth_registry", "token_front", "dist"}  # docker-registry; python -m build


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", help="run every test, the slow tier (marked full) too")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fast tier does not import the full tier's modules at all (seconds of each worker's
    start-up: the registry, sigstore, cryptography...); a module named on the command line is
    collected as ever (and then left out by the rule below, unless --full)."""
    if config.getoption("--full") or config.getoption("markexpr"):
        return None
    if collection_path.name not in FULL_MODULES and not (
        collection_path.name == "reliability" and collection_path.parent.name == "tests"
    ):
        return None
    named = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    return None if collection_path.resolve() in named else True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    fast: list[pytest.Item] = []
    slow: list[pytest.Item] = []
    for item in items:
        path = item.path
        if (
            "reliability" in path.parts
            or path.name in FULL_MODULES
            or FULL_FIXTURES & set(getattr(item, "fixturenames", ()))
            or "chromium" in item.name
        ):
            item.add_marker(pytest.mark.full)
        (slow if item.get_closest_marker("full") else fast).append(item)
    if not config.getoption("--full") and slow and not config.getoption("markexpr"):
        config.hook.pytest_deselected(items=slow)
        items[:] = fast


GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None, input_: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV, **(env or {})},
        input=input_,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    """A git work tree at `root` with `files` committed (text is written as UTF-8, byte-exact)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "core.autocrlf", "false")
    write_tree(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


@contextlib.contextmanager
def holding_lock(git_dir: Path, holder: str = "pid 4242 on elsewhere since 2026-01-01 00:00:00 UTC") -> Iterator[None]:
    """Another process holds the repository's kernel lock (as a running promoter would) until the
    block ends; `holder` is what it wrote into the lock file."""
    code = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.ftruncate(fd, 0); os.write(fd, sys.argv[2].encode())\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(git_dir / "promoter.lock"), holder], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"locked\n"
        yield
    finally:
        proc.kill()
        proc.wait()


def stderr_on_a_terminal(cmd: list[str], stdout: IO[bytes]) -> tuple[int, bytes]:
    """Run `cmd` with its stderr on a pseudo-terminal and its stdout to the file `stdout` (a pipe
    read only after the terminal closes could fill and stall the child): (exit code, what it
    wrote on the terminal)."""
    leader, follower = os.openpty()
    child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=follower)
    os.close(follower)
    err = drained(leader)
    return child.wait(timeout=60), err


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below `root` (outside .git) with its bytes: to prove nothing changed."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test gets its own mirror cache, no user git config, and no terminal size from where
    the suite was started (COLUMNS, set by a shell or by pytest-xdist's workers, would wrap every
    table): a test that wants a width sets one. Its own MonkeyPatch: a test's `monkeypatch.undo()`
    undoes the test's patches, never this isolation."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("COLUMNS", "LINES"):
            mp.delenv(name, raising=False)
        mp.setenv("PROMOTER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        for k, v in GIT_ENV.items():
            mp.setenv(k, v)
        yield


RunResult = tuple[int, str, str]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., RunResult]:
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""

    def _run(*argv: str | Path) -> RunResult:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return _run
