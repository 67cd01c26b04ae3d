"""Write a promotion's files atomically: all or none, one run per repository at a time.

Order of operations: take the lock; roll back any promotion a crash interrupted; check that no
file changed since it was planned; save the old texts and the temp file names in a journal under
the git dir (written aside and renamed into place, so it is complete or absent); write each new
text to a temp file beside its target and fsync it; rename every temp file over its target;
fsync the directories; drop the journal. A crash before the journal changed nothing; after it,
the next run (any command) removes the temp files and restores every old file from the journal.
An error or an interrupt (KeyboardInterrupt) does the same at once. `_fault` is the tests' fault
injection (PROMOTER_FAULT / PROMOTER_FAULT_ACTION).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from promoter.errors import Refused
from promoter.model import FileChange

LOCK = "promoter.lock"
JOURNAL = "promoter-journal.json"
TMP_SUFFIX = ".promoter-tmp"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def lock(state_dir: Path) -> Iterator[None]:
    """An exclusive lock file; a lock left by a dead process on this host is taken over."""
    path = state_dir / LOCK
    me = f"{os.getpid()} {os.uname().nodename}"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid_s, _, host = path.read_text().partition(" ")
                pid = int(pid_s)
            except (OSError, ValueError):
                pid, host = 0, ""
            if host.strip() == os.uname().nodename and pid and not _pid_alive(pid):
                path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            raise Refused(
                f"another promoter run holds {path} (pid {pid or '?'} on {host.strip() or '?'}); "
                "wait for it, or delete the file if no promoter is running"
            ) from None
        with os.fdopen(fd, "w") as fh:
            fh.write(me)
        break
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes, mode: int | None = None) -> None:
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644 if mode is None else mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if mode is not None:
            os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Write one file whole or not at all (a temp file beside it, fsynced, renamed over it);
    an error is a Refused naming the file, and leaves no temp file behind."""
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    try:
        _write_durable(tmp, data)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise Refused(f"{path}: cannot write ({exc.strerror}); nothing written") from None


def recover(root: Path, state_dir: Path) -> list[str]:
    """Undo a promotion a crash interrupted; returns the files restored (none normally)."""
    journal = state_dir / JOURNAL
    if not journal.exists():
        return []
    entries = json.loads(journal.read_text(encoding="utf-8"))
    restored: list[str] = []
    for entry in entries:
        target = root / entry["file"]
        old = bytes.fromhex(entry["old"])
        tmp = Path(entry["tmp"])
        tmp.unlink(missing_ok=True)
        if not target.exists() or target.read_bytes() != old:
            back = target.with_name(target.name + TMP_SUFFIX)
            _write_durable(back, old, entry.get("mode"))
            os.replace(back, target)
            restored.append(entry["file"])
    journal.unlink()
    _fsync_dir(state_dir)
    return restored


def write(root: Path, state_dir: Path, changes: list[FileChange]) -> None:
    """Write every change or none. The caller holds the lock."""
    planned: list[tuple[FileChange, Path, Path, int]] = []
    for ch in changes:
        path = root / ch.file
        try:
            current = path.read_bytes()
            mode = path.stat().st_mode & 0o7777
        except OSError as exc:
            raise Refused(f"{ch.file}: cannot read ({exc.strerror}); nothing written") from None
        if current != ch.old_text.encode("utf-8"):
            raise Refused(f"{ch.file}: changed since it was planned; nothing written, run again")
        planned.append((ch, path, path.with_name(f".{path.name}{TMP_SUFFIX}"), mode))
    journal = state_dir / JOURNAL
    entries = [
        {"file": ch.file, "tmp": str(tmp), "mode": mode, "old": ch.old_text.encode("utf-8").hex()}
        for ch, _, tmp, mode in planned
    ]
    staged = journal.with_name(JOURNAL + TMP_SUFFIX)
    try:  # the journal first, complete or not at all: from here on a crash is rolled back
        _write_durable(staged, json.dumps(entries).encode("utf-8"))
        os.replace(staged, journal)
        _fsync_dir(state_dir)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise Refused(f"cannot write the journal in {state_dir}: {exc.strerror}; nothing written") from None
    renaming, where = False, state_dir
    try:
        _fault("journal-written")
        for n, (ch, _path, tmp, mode) in enumerate(planned, 1):
            where = tmp.parent
            _write_durable(tmp, ch.new_text.encode("utf-8"), mode)
            _fault(f"tmp-written:{n}")
        renaming = True
        for n, (_, path, tmp, _) in enumerate(planned, 1):
            os.replace(tmp, path)
            _fault(f"renamed:{n}")
        for parent in {path.parent for _, path, _, _ in planned}:
            _fsync_dir(parent)
        _fault("dirs-synced")
        _fault("done")
    except OSError as exc:
        recover(root, state_dir)
        if not renaming:
            raise Refused(f"cannot write {where}: {exc.strerror}; nothing written") from None
        raise Refused(f"replacing the files failed ({exc.strerror}); every file restored, nothing written") from None
    except KeyboardInterrupt:
        recover(root, state_dir)
        raise KeyboardInterrupt("every file restored, nothing written") from None
    except BaseException:
        recover(root, state_dir)
        raise
    journal.unlink()
    _fsync_dir(state_dir)


def _fault(point: str) -> None:
    """Fault injection for the reliability tests: act when PROMOTER_FAULT names this point."""
    if os.environ.get("PROMOTER_FAULT") != point:
        return
    action = os.environ.get("PROMOTER_FAULT_ACTION", "kill")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "int":
        raise KeyboardInterrupt
    elif action in ("enospc", "eacces"):
        code = errno.ENOSPC if action == "enospc" else errno.EACCES
        raise OSError(code, os.strerror(code))
    elif action == "sleep":
        time.sleep(2)
    elif action == "wait":  # hold here until the test lets go: it learns we are here by opening
        with open(os.environ["PROMOTER_FAULT_FIFO"], "rb") as fifo:  # the FIFO for writing,
            fifo.read()  # and lets go by closing it (or interrupts us while we wait)
