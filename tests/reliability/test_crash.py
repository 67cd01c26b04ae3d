"""Crash consistency: a promotion killed, interrupted or failing at every step of `apply.write`.

Each test runs the real CLI in a subprocess with PROMOTER_FAULT naming one injection point of
`apply.write` (`journal-written`, `tmp-written:<n>`, `renamed:<n>`, `dirs-synced`, `done`) and
PROMOTER_FAULT_ACTION saying what happens there: SIGKILL, KeyboardInterrupt, ENOSPC or EACCES.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from promoter.pipeline import apply
from tests.conftest import make_repo, snapshot
from tests.reliability.helpers import (
    AFTER,
    BEFORE,
    CONFIG,
    NEW,
    OLD,
    PROMOTE,
    as_bytes,
    cli,
    no_leftovers,
    start,
    targets,
    three_files,
)

# the order apply.write goes through them; the files are written in sorted order
POINTS = [
    "journal-written",
    "tmp-written:1",
    "tmp-written:2",
    "tmp-written:3",
    "renamed:1",
    "renamed:2",
    "renamed:3",
    "dirs-synced",
    "done",
]
ORDER = sorted(BEFORE)


def replaced_at(point: str) -> int:
    """How many target files hold their new text when the fault at `point` strikes."""
    if point.startswith("renamed:"):
        return int(point.split(":")[1])
    return 3 if point in ("dirs-synced", "done") else 0


def fault(point: str, action: str) -> dict[str, str]:
    return {"PROMOTER_FAULT": point, "PROMOTER_FAULT_ACTION": action}


NEXT: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "status": (("status", "--offline"), BEFORE),
    "plan": (("plan", "c", NEW, "--offline"), BEFORE),
    "promote": (PROMOTE, AFTER),  # rolled back, then promoted afresh
}


@pytest.mark.parametrize("following", list(NEXT))
@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_every_step_is_rolled_back_by_the_next_command(tmp_path: Path, point: str, following: str) -> None:
    root = three_files(tmp_path / "r")
    killed = cli(root, *PROMOTE, env=fault(point, "kill"))
    assert killed.returncode == -signal.SIGKILL, (killed.stdout, killed.stderr)

    # no file is ever partly written: each holds exactly its old or its new text
    now = targets(root)
    old, new = as_bytes(BEFORE), as_bytes(AFTER)
    assert all(now[f] in (old[f], new[f]) for f in now), now
    n = replaced_at(point)
    assert [f for f in ORDER if now[f] == new[f]] == ORDER[:n]
    assert (root / ".git/promoter-journal.json").exists()
    assert apply.lock_holder(root / ".git") is None  # the kernel let go with the killed process

    argv, final = NEXT[following]
    after = cli(root, *argv)
    assert after.returncode == 0, after.stderr
    done = f"restored {', '.join(ORDER[:n])}" if n else "no file had been replaced yet"
    assert f"promoter: rolled back an interrupted promotion: {done}\n" in after.stderr
    assert targets(root) == as_bytes(final)
    no_leftovers(root)  # the journal is gone: the next command finds nothing to roll back


@pytest.mark.parametrize("point", POINTS)
def test_keyboard_interrupt_at_every_step_rolls_back_at_once(tmp_path: Path, point: str) -> None:
    root = three_files(tmp_path / "r")
    before = snapshot(root)
    proc = cli(root, *PROMOTE, env=fault(point, "int"))
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.endswith("promoter: interrupted; every file restored, nothing written\n"), proc.stderr
    assert snapshot(root) == before
    no_leftovers(root)


def delivered(pid: int, limit: float = 10.0) -> None:
    """Wait until no signal is pending for process `pid` (the kernel handed it to a thread)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        status = Path(f"/proc/{pid}/status").read_text()
        pending = [line.split()[1] for line in status.splitlines() if line.startswith(("ShdPnd:", "SigPnd:"))]
        if all(int(mask, 16) == 0 for mask in pending):
            return
        time.sleep(0.01)
    raise AssertionError(f"a signal to {pid} still pending after {limit} s")


def test_real_sigint_between_renames(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT) while the files are half replaced: every file is restored, exit 130.

    The run holds at the fault point on a FIFO: the test's open() of it returns only once the
    run is there, so the signal arrives between the renames for certain, however loaded the machine."""
    root = three_files(tmp_path / "r")
    before = snapshot(root)
    fifo = tmp_path / "hold"
    os.mkfifo(fifo)
    # Ctrl-C as a terminal gives it: a run started from a background job of a shell without job
    # control (nohup ... &, some CI runners) inherits SIGINT ignored, and rightly keeps ignoring it
    proc = subprocess.Popen(
        [sys.executable, "-m", "promoter", "-C", str(root), *PROMOTE],
        env={**os.environ, **fault("renamed:1", "wait"), "PROMOTER_FAULT_FIFO": str(fifo)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    with open(fifo, "wb"):  # returns when the run has reached renamed:1 and waits there
        assert (root / ORDER[0]).read_bytes() == as_bytes(AFTER)[ORDER[0]]  # half replaced
        proc.send_signal(signal.SIGINT)
        delivered(proc.pid)
    # let go only once the signal is taken: the kernel may hand it to a thread other than the
    # one reading the FIFO, whose read then goes on; the interpreter raises it at its next step
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert err.endswith("promoter: interrupted; every file restored, nothing written\n"), err
    assert snapshot(root) == before
    no_leftovers(root)


WRITE_ERRORS = {"enospc": "No space left on device", "eacces": "Permission denied"}


@pytest.mark.parametrize("action", list(WRITE_ERRORS))
@pytest.mark.parametrize("point", POINTS)
def test_write_error_at_every_step_changes_nothing(tmp_path: Path, point: str, action: str) -> None:
    root = three_files(tmp_path / "r")
    before = snapshot(root)
    proc = cli(root, *PROMOTE, env=fault(point, action))
    assert proc.returncode == 3, proc.stderr
    reason = WRITE_ERRORS[action]
    if point == "journal-written" or point.startswith("tmp-written:"):
        n = int(point.split(":")[1]) if ":" in point else 0
        where = (root / ORDER[n - 1]).parent if n else root / ".git"
        message = f"promoter: error: cannot write {where}: {reason}; nothing written\n"
    else:
        message = f"promoter: error: replacing the files failed ({reason}); every file restored, nothing written\n"
    assert proc.stderr.endswith(message), proc.stderr
    assert snapshot(root) == before
    no_leftovers(root)


@pytest.mark.parametrize("nth", [1, 2, 3, 4])  # the journal, then each temp file
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EIO])
def test_os_write_failing_changes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run: Callable[..., tuple[int, str, str]],
    nth: int,
    code: int,
) -> None:
    """The error injected at the OS call itself (os.write), in-process."""

    root = three_files(tmp_path / "r")
    before = snapshot(root)
    real, calls = os.write, []

    def failing(fd: int, data: bytes) -> int:
        calls.append(fd)
        if len(calls) == nth:
            raise OSError(code, os.strerror(code))
        return real(fd, data)

    monkeypatch.setattr(apply.os, "write", failing)
    got, out, err = run("-C", root, *PROMOTE)
    monkeypatch.setattr(apply.os, "write", real)
    assert got == 3, err
    where = f"the journal in {root / '.git'}" if nth == 1 else str((root / ORDER[nth - 2]).parent)
    assert err.endswith(f"promoter: error: cannot write {where}: {os.strerror(code)}; nothing written\n"), err
    assert snapshot(root) == before
    no_leftovers(root)


# -- recovery that respects what happened since --------------------------------------------------
TWO_COMPONENTS = (
    CONFIG
    + """\
  d:
    repo: https://example.com/d
    targets:
      - {name: four, file: four.yaml, key: ref, format: sha}
"""
)


def test_a_run_that_planned_before_a_crash_rolls_it_back_before_writing(tmp_path: Path) -> None:
    """Run B plans (d), then waits; run A (c) is killed half-way; B, going on, finds A's journal
    under the lock and rolls A back before writing its own: nothing of A stays half written."""
    root = make_repo(tmp_path / "r", {"promotion.yaml": TWO_COMPONENTS, **BEFORE, "four.yaml": f"ref: {OLD}\n"})
    fifo = tmp_path / "hold"
    os.mkfifo(fifo)
    b = start(root, "promote", "d", NEW, "--offline", "--yes",
              env={**fault("planned", "wait"), "PROMOTER_FAULT_FIFO": str(fifo)})  # fmt: skip
    with open(fifo, "wb"):  # B has planned and waits before taking the lock
        killed = cli(root, *PROMOTE, env=fault("renamed:2", "kill"))
        assert killed.returncode == -signal.SIGKILL
        assert [f for f in ORDER if targets(root)[f] == as_bytes(AFTER)[f]] == ORDER[:2]  # A: half written
    out, err = b.communicate(timeout=30)
    assert b.returncode == 0, err
    assert f"promoter: rolled back an interrupted promotion: restored {ORDER[0]}, {ORDER[1]}\n" in err
    assert targets(root) == as_bytes(BEFORE)  # A rolled back whole
    assert (root / "four.yaml").read_text() == f"ref: {NEW}\n"  # B written
    assert not (root / ".git" / apply.JOURNAL).exists()


def test_recovery_leaves_a_file_changed_since_alone_and_names_it(tmp_path: Path) -> None:
    """A killed promotion's file finished by hand afterwards is not overwritten by `status`."""
    root = three_files(tmp_path / "r")
    assert cli(root, *PROMOTE, env=fault("renamed:2", "kill")).returncode == -signal.SIGKILL
    hand = "# finished by hand\nref: 1111111111111111111111111111111111111111\n"
    (root / ORDER[0]).write_text(hand)
    after = cli(root, "status", "--offline")
    assert after.returncode == 0, after.stderr
    assert (
        f"promoter: rolled back an interrupted promotion: restored {ORDER[1]}; left alone {ORDER[0]}: "
        "changed or gone since the interrupted run wrote it (check it by hand)\n"
    ) in after.stderr
    assert (root / ORDER[0]).read_text() == hand  # the hand edit survives
    assert (root / ORDER[1]).read_bytes() == as_bytes(BEFORE)[ORDER[1]]
    assert not (root / ".git" / apply.JOURNAL).exists()


def test_recovery_after_the_files_directory_is_gone_ends_cleanly(tmp_path: Path) -> None:
    """A branch switch removed the directory of a half-written file: the next command names it
    and goes on (never 'unexpected error'), and the one after finds nothing left to roll back."""
    root = three_files(tmp_path / "r")
    assert cli(root, *PROMOTE, env=fault("tmp-written:3", "kill")).returncode == -signal.SIGKILL
    shutil.rmtree(root / "sub")
    after = cli(root, "plan", "c", NEW, "--offline")
    assert "unexpected error" not in after.stderr
    assert (
        "promoter: rolled back an interrupted promotion: no file had been replaced yet; left alone sub/three.env"
        in after.stderr
    )
    assert not (root / ".git" / apply.JOURNAL).exists()
    again = cli(root, "status", "--offline")
    assert "rolled back" not in again.stderr


def test_a_promotion_of_many_files_holds_few_descriptors(tmp_path: Path) -> None:
    """Every temp file is synced from a thread of its own, at most a few dozen at once: 300 files
    promote under a limit of 64 open descriptors (macOS's default is 256, Linux's 1024)."""
    files = {f"envs/e{i:03}.env": f"REF={OLD}\n" for i in range(300)}
    config = "version: 1\ncomponents:\n  c:\n    repo: https://example.com/c\n    targets:\n"
    config += "      - {name: envs, files: 'envs/*.env', env: REF, format: sha}\n"
    root = make_repo(tmp_path / "r", {"promotion.yaml": config, **files})
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
        "from promoter.cli import main\n"
        f"sys.exit(main(['-C', {str(root)!r}, *{list(PROMOTE)!r}]))\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "promoted c to fedcba9 in 300 files" in done.stdout
    assert all((root / f).read_text() == f"REF={NEW}\n" for f in files)
    assert not list(root.rglob(f"*{apply.TMP_SUFFIX}")) and not (root / ".git" / apply.JOURNAL).exists()


def test_without_threads_the_files_are_synced_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no thread can start (a process or thread limit), this thread syncs each file."""
    import threading

    from promoter.pipeline import core

    root = three_files(tmp_path / "r")
    synced: list[int] = []
    real = os.fsync

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    def fsync(fd: int) -> None:
        synced.append(threading.get_ident())
        real(fd)

    monkeypatch.setattr(threading.Thread, "start", refuse)
    monkeypatch.setattr(apply.os, "fsync", fsync)
    repo = core.open_repo(root)
    comp = core.component(repo.config, "c")
    core.apply_plan(repo, core.plan(repo, comp, NEW, list(comp.targets)))
    assert targets(root) == as_bytes(AFTER)
    assert len(synced) >= 3 + 3 and set(synced) == {threading.get_ident()}  # journal, files, dirs
    no_leftovers(root)


def test_a_run_killed_meanwhile_is_rolled_back_and_said_when_the_dirty_check_refuses(tmp_path: Path) -> None:
    """The journal of a run killed while this one planned is rolled back under the lock, before
    git status (the dirty check) runs; when that then refuses, the rollback is still reported."""
    from promoter.errors import Refused
    from promoter.pipeline import core

    root = three_files(tmp_path / "r")
    (root / "two.yaml").write_bytes(b"# a local change\r\n" + BEFORE["two.yaml"].encode())  # dirty
    before = snapshot(root)
    repo = core.open_repo(root)
    comp = core.component(repo.config, "c")
    planned = core.plan(repo, comp, NEW, list(comp.targets))
    # meanwhile another run (--allow-dirty) is killed after replacing the first file
    killed = cli(root, *PROMOTE, "--allow-dirty", env=fault("renamed:1", "kill"))
    assert killed.returncode == -signal.SIGKILL
    assert (root / "one.yaml").read_text() == AFTER["one.yaml"]
    with pytest.raises(Refused, match=r"uncommitted changes in files this promotion would write: two\.yaml"):
        core.apply_plan(repo, planned)
    assert repo.recovery is not None and repo.recovery.restored == ["one.yaml"]
    assert snapshot(root) == before
    assert not list(root.rglob(f"*{apply.TMP_SUFFIX}")) and not (root / ".git" / apply.JOURNAL).exists()


def test_fsyncs_run_at_once_but_never_more_than_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from promoter.pipeline import core

    files = {f"envs/e{i:03}.env": f"REF={OLD}\n" for i in range(100)}
    config = "version: 1\ncomponents:\n  c:\n    repo: https://example.com/c\n    targets:\n"
    config += "      - {name: envs, files: 'envs/*.env', env: REF, format: sha}\n"
    root = make_repo(tmp_path / "r", {"promotion.yaml": config, **files})
    running, peak, lock = [0], [0], threading.Lock()
    real = os.fsync

    def slow(fd: int) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)  # a disk that takes its time: the threads pile up
        real(fd)
        with lock:
            running[0] -= 1

    monkeypatch.setattr(apply.os, "fsync", slow)
    repo = core.open_repo(root)
    comp = core.component(repo.config, "c")
    core.apply_plan(repo, core.plan(repo, comp, NEW, list(comp.targets)))
    assert all((root / f).read_text() == f"REF={NEW}\n" for f in files)
    assert 1 < peak[0] <= 32  # apply._AT_ONCE


def test_the_command_line_says_the_rollback_before_the_refusal(
    tmp_path: Path, run: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`promote` refused (a dirty file) after it rolled back a run killed while it planned: both
    are said, the rollback first."""
    import contextlib
    from collections.abc import Iterator

    root = three_files(tmp_path / "r")
    (root / "two.yaml").write_bytes(b"# a local change\r\n" + BEFORE["two.yaml"].encode())
    before = snapshot(root)
    real_lock = apply.lock

    killed: list[int] = []

    @contextlib.contextmanager
    def after_a_killed_run(state_dir: Path) -> Iterator[None]:
        if not killed:  # before this run first takes the lock, another is killed half-way
            killed.append(cli(root, *PROMOTE, "--allow-dirty", env=fault("renamed:1", "kill")).returncode)
        with real_lock(state_dir):
            yield

    monkeypatch.setattr(apply, "lock", after_a_killed_run)
    code, _, err = run("-C", root, *PROMOTE)
    assert killed == [-signal.SIGKILL] and code == 3, err
    said = err.splitlines()
    assert said[-2] == "promoter: rolled back an interrupted promotion: restored one.yaml"
    assert said[-1].startswith("promoter: error: uncommitted changes in files this promotion would write: two.yaml")
    assert snapshot(root) == before
